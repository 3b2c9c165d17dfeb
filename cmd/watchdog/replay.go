package main

import (
	"context"
	"flag"

	"github.com/iam-watchdog/iam-watchdog/internal/cli"
	"github.com/iam-watchdog/iam-watchdog/internal/progress"
	"github.com/iam-watchdog/iam-watchdog/pkg/replay"
)

// runReplay runs CloudTrail from files, directories, standard input and S3 through the pipeline
// (pkg/replay), or on Lambda (--lambda, fanout.go), with a progress bar on a terminal and the
// summary at the end.
func runReplay(ctx context.Context, args []string, std stdio) error {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	var pf pipelineFlags
	pf.register(fs, true)
	output := cli.Choice(fs, "output", "text", "`text|jsonl`: alerts for a terminal, or one JSON object per finding", "text", "jsonl")
	var in inputFlags
	in.register(fs)
	onLambda := registerFanout(fs)
	paths, sc, err := in.parse(fs, args)
	if err != nil {
		return err
	}
	out, err := outputSink(*output, std.out)
	if err != nil {
		return err
	}
	if onLambda.lambda != "" {
		return onLambda.run(ctx, pf, paths, sc, out, std)
	}
	p, err := buildPipeline(ctx, pf)
	if err != nil {
		return err
	}
	o := replay.Options{Pipeline: p, Output: out, Jobs: in.jobs, Scope: sc, Problems: std.problem}
	bar := progress.New(std.err, "", 0, std.out)
	if bar.Active() {
		o.Progress = bar.Replay
		o.Problems = bar.Problems(o.Problems)
	}
	o.Sources = sources(pf.env(ctx), std, o.Problems, paths)
	s, err := replay.Run(ctx, o)
	if err != nil {
		return err
	}
	bar.Finish()
	s.Print(std.err, true)
	return s.Err()
}

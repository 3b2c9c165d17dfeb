package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"runtime"
	"sync"

	"github.com/iam-watchdog/iam-watchdog/internal/progress"
	"github.com/iam-watchdog/iam-watchdog/pkg/replay"
)

// runReplay runs CloudTrail from files, directories, standard input and S3 through the pipeline
// (pkg/replay), with a progress bar on a terminal and the summary at the end.
func runReplay(ctx context.Context, args []string, std stdio) error {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	var pf pipelineFlags
	pf.register(fs, true)
	output := fs.String("output", "text", "text or jsonl")
	jobs := fs.Int("jobs", runtime.NumCPU(), "inputs read at once (findings keep the input order)")
	since := fs.String("since", "", "only events at or after this time (RFC 3339, or a date: midnight UTC)")
	until := fs.String("until", "", "only events before this time (RFC 3339, or a date: midnight UTC)")
	account := fs.String("account", "", "only events in this account")
	region := fs.String("region", "", "only events in this region")
	onLambda := registerFanout(fs)
	paths, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(paths) == 0 {
		return usageError{errors.New("replay needs at least one PATH (a file, a directory, s3://bucket/prefix or - for standard input)")}
	}
	if *jobs < 1 {
		return usageError{fmt.Errorf("--jobs %d: want at least 1", *jobs)}
	}
	sc, err := replay.ParseScope(*since, *until, *account, *region)
	if err != nil {
		return usageError{err}
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
	s3Client := sync.OnceValues(func() (replay.S3API, error) {
		cfg, err := awsConfig(ctx)
		if err != nil {
			return nil, err
		}
		return replay.NewS3Client(cfg), nil
	})
	locate := replay.Locator{Stdin: std.in, S3: func(context.Context) (replay.S3API, error) { return s3Client() }}
	o := replay.Options{Pipeline: p, Output: out, Sources: locate.Sources(paths), Jobs: *jobs, Scope: sc, Problems: std.problem}
	bar := progress.New(std.err, "", 0, std.out)
	if bar.Active() {
		o.Progress = bar.Replay
		o.Problems = bar.Problems(o.Problems)
	}
	s, err := replay.Run(ctx, o)
	if err != nil {
		return err
	}
	bar.Finish()
	s.Print(std.err, true)
	return s.Err()
}

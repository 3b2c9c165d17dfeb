package main

import (
	"context"
	"flag"

	"github.com/iam-watchdog/iam-watchdog/internal/cli"
	"github.com/iam-watchdog/iam-watchdog/internal/progress"
	"github.com/iam-watchdog/iam-watchdog/pkg/clienv"
	"github.com/iam-watchdog/iam-watchdog/pkg/noise"
)

// runNoise replays archives through routing, thresholds and flood control as deployed, with no
// Slack and no AWS, and reports what Slack would have received (pkg/noise).
func runNoise(ctx context.Context, args []string, std stdio) error {
	fs := flag.NewFlagSet("noise", flag.ContinueOnError)
	config := fs.String("config", "", "YAML config file (the deployed one; default: the built-in defaults)")
	output := cli.Choice(fs, "output", "text", "`text|json`: the report for a person, or one JSON object", "text", "json")
	var in inputFlags
	in.register(fs)
	paths, sc, err := in.parse(fs, args)
	if err != nil {
		return err
	}
	cfg, err := (&pipelineFlags{config: *config}).policyConfig()
	if err != nil {
		return err
	}
	o := noise.Options{Config: cfg, Jobs: in.jobs, Scope: sc, Problems: std.problem}
	bar := progress.New(std.err, "", 0)
	if bar.Active() {
		o.Progress = bar.Replay
		o.Problems = bar.Problems(o.Problems)
	}
	o.Sources = sources(clienv.New(ctx, nil), std, o.Problems, paths)
	rep, sum, err := noise.Run(ctx, o)
	if err != nil {
		return err
	}
	bar.Finish()
	write := rep.WriteText
	if *output == "json" {
		write = rep.WriteJSON
	}
	if err := write(std.out); err != nil {
		return err
	}
	sum.Print(std.err, false)
	if rep.Failed > 0 {
		return errSomeInputs
	}
	return sum.Err()
}

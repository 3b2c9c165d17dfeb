package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"

	"github.com/iam-watchdog/iam-watchdog/internal/progress"
	"github.com/iam-watchdog/iam-watchdog/pkg/noise"
	"github.com/iam-watchdog/iam-watchdog/pkg/policy"
)

// runNoise replays archives through routing, thresholds and flood control as deployed, with no
// Slack and no AWS, and reports what Slack would have received (pkg/noise).
func runNoise(ctx context.Context, args []string, std stdio) error {
	fs := flag.NewFlagSet("noise", flag.ContinueOnError)
	config := fs.String("config", "", "YAML config file (the deployed one; default: the built-in defaults)")
	output := fs.String("output", "text", "text or json")
	var in inputFlags
	in.register(fs)
	paths, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(paths) == 0 {
		return usageError{errors.New("noise needs at least one PATH (a file, a directory, s3://bucket/prefix or - for standard input)")}
	}
	if *output != "text" && *output != "json" {
		return usageError{fmt.Errorf("--output %q: want text or json", *output)}
	}
	sc, err := in.scope()
	if err != nil {
		return err
	}
	cfg := policy.Default()
	if *config != "" {
		if cfg, err = policy.Load(*config); err != nil {
			return err
		}
	}
	o := noise.Options{Config: cfg, Sources: sources(ctx, std, paths), Jobs: in.jobs, Scope: sc, Problems: std.problem}
	bar := progress.New(std.err, "", 0)
	if bar.Active() {
		o.Progress = bar.Replay
		o.Problems = bar.Problems(o.Problems)
	}
	rep, sum, err := noise.Run(ctx, o)
	if err != nil {
		return err
	}
	bar.Finish()
	if *output == "json" {
		enc := json.NewEncoder(std.out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else if err := rep.WriteText(std.out); err != nil {
		return err
	}
	sum.Print(std.err, false)
	if rep.Failed > 0 {
		return errSomeInputs
	}
	return sum.Err()
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"runtime"
	"sync"

	"github.com/iam-watchdog/iam-watchdog/internal/progress"
	"github.com/iam-watchdog/iam-watchdog/pkg/noise"
	"github.com/iam-watchdog/iam-watchdog/pkg/policy"
	"github.com/iam-watchdog/iam-watchdog/pkg/replay"
)

// runNoise replays archives through routing, thresholds and flood control as deployed, with no
// Slack and no AWS, and reports what Slack would have received (pkg/noise).
func runNoise(ctx context.Context, args []string, std stdio) error {
	fs := flag.NewFlagSet("noise", flag.ContinueOnError)
	config := fs.String("config", "", "YAML config file (the deployed one; default: the built-in defaults)")
	output := fs.String("output", "text", "text or json")
	jobs := fs.Int("jobs", runtime.NumCPU(), "inputs read at once")
	since := fs.String("since", "", "only events at or after this time (RFC 3339, or a date: midnight UTC)")
	until := fs.String("until", "", "only events before this time (RFC 3339, or a date: midnight UTC)")
	account := fs.String("account", "", "only events in this account")
	region := fs.String("region", "", "only events in this region")
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
	if *jobs < 1 {
		return usageError{fmt.Errorf("--jobs %d: want at least 1", *jobs)}
	}
	sc, err := replay.ParseScope(*since, *until, *account, *region)
	if err != nil {
		return usageError{err}
	}
	cfg := policy.Default()
	if *config != "" {
		if cfg, err = policy.Load(*config); err != nil {
			return err
		}
	}
	s3Client := sync.OnceValues(func() (replay.S3API, error) {
		c, err := awsConfig(ctx)
		if err != nil {
			return nil, err
		}
		return replay.NewS3Client(c), nil
	})
	locate := replay.Locator{Stdin: std.in, S3: func(context.Context) (replay.S3API, error) { return s3Client() }}
	o := noise.Options{Config: cfg, Sources: locate.Sources(paths), Jobs: *jobs, Scope: sc, Problems: std.problem}
	bar := progress.New(std.err, "", 0)
	if bar.Active() {
		o.Progress = bar.Replay
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

package main

import (
	"context"
	"flag"
	"io"
	"io/fs"
	"sort"

	eventstestdata "github.com/iam-watchdog/iam-watchdog/events-testdata"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/policy"
	"github.com/iam-watchdog/iam-watchdog/pkg/remediate"
	"github.com/iam-watchdog/iam-watchdog/pkg/watchdog"
)

// demo replays the bundled example events through the whole pipeline in dry-run, with the
// alerts rendered in the terminal as Slack would show them, then, when moto_server is
// installed, real reverts and their undo against it (doneDemo), then one alert's life in a
// Slack thread (threadDemo). It needs no AWS account or Slack.
func demo(ctx context.Context, args []string, io ios) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	output := fs.String("output", "text", "text or jsonl")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	out, err := outputSink(*output, io.out)
	if err != nil {
		return err
	}
	// The configuration the example events' deployment would have: its own role and the
	// quarantine policy its stack created.
	cfg := policy.Default()
	cfg.SelfRoleARNs = []string{eventstestdata.WatchdogRoleARN}
	cfg.QuarantinePolicyARN = eventstestdata.QuarantinePolicyARN
	p := &watchdog.Pipeline{
		Detector:   detect.Default(),
		Config:     cfg,
		Remediator: &remediate.Remediator{QuarantinePolicyARN: cfg.QuarantinePolicyARN},
	}
	if err := run(ctx, p, embeddedInputs(), out, io.err); err != nil {
		return err
	}
	if *output == "jsonl" {
		return nil // machine-readable: the findings only
	}
	if err := doneDemo(ctx, io.out); err != nil {
		return err
	}
	return threadDemo(ctx, io.out)
}

func embeddedInputs() func(func(input, error) bool) {
	return func(yield func(input, error) bool) {
		names, err := fs.Glob(eventstestdata.FS, "*/*.json")
		if err != nil {
			yield(input{name: "events-testdata"}, err)
			return
		}
		sort.Strings(names)
		for _, n := range names {
			name := n
			if !yield(input{name: "events-testdata/" + name, open: func() (io.ReadCloser, error) { return eventstestdata.FS.Open(name) }}, nil) {
				return
			}
		}
	}
}

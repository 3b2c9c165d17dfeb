package main

import (
	"context"
	"flag"

	"github.com/iam-watchdog/iam-watchdog/internal/cli"
	"github.com/iam-watchdog/iam-watchdog/internal/demo"
)

// runDemo replays the bundled example events, alerts rendered here, then shows real reverts
// against moto_server and one alert's life in Slack (internal/demo).
func runDemo(ctx context.Context, args []string, std stdio) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	output := cli.Choice(fs, "output", "text", "`text|jsonl`: alerts for a terminal, or one JSON object per finding", "text", "jsonl")
	if _, err := parseArgs(fs, args, ""); err != nil {
		return err
	}
	alerts, err := outputSink(*output, std.out)
	if err != nil {
		return err
	}
	return demo.Run(ctx, demo.Options{Out: std.out, Err: std.err, Alerts: alerts, FindingsOnly: *output == "jsonl"})
}

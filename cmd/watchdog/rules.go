package main

import (
	"context"
	"flag"

	"github.com/iam-watchdog/iam-watchdog/internal/cli"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
)

// runRules lists the rule table (detect.WriteRulesText, fitting 80 columns; JSON has every
// field in full).
func runRules(_ context.Context, args []string, std stdio) error {
	fs := flag.NewFlagSet("rules", flag.ContinueOnError)
	output := cli.Choice(fs, "output", "text", "`text|json`: a table within 80 columns, or every field in full", "text", "json")
	if _, err := parseArgs(fs, args, ""); err != nil {
		return err
	}
	if *output == "json" {
		return detect.WriteRulesJSON(std.out, detect.Rules())
	}
	return detect.WriteRulesText(std.out, detect.Rules(), 80)
}

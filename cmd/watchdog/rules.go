package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
)

// runRules lists the rule table (detect.WriteRulesText, fitting 80 columns; JSON has every
// field in full).
func runRules(_ context.Context, args []string, std stdio) error {
	fs := flag.NewFlagSet("rules", flag.ContinueOnError)
	output := fs.String("output", "text", "text (fits 80 columns) or json (every field in full)")
	if _, err := parseArgs(fs, args, ""); err != nil {
		return err
	}
	switch *output {
	case "json":
		return detect.WriteRulesJSON(std.out, detect.Rules())
	case "text":
		return detect.WriteRulesText(std.out, detect.Rules(), 80)
	}
	return usageError{fmt.Errorf("--output %q: want text or json", *output)}
}

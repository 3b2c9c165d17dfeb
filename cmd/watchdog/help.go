package main

import (
	"context"
	"embed"
	"flag"

	"github.com/iam-watchdog/iam-watchdog/internal/cli"
)

// help is the global usage (help/watchdog.txt) or a command's help/NAME.txt: its synopsis and
// what it does, then "examples:"; cli.WriteHelp puts the command's flags between them.
var help = cli.HelpTexts(helpText, "help", "watchdog")

//go:embed help/*.txt
var helpText embed.FS

// runVersion prints the build (cli.WriteVersion).
func runVersion(_ context.Context, args []string, std stdio) error {
	if _, err := parseArgs(flag.NewFlagSet("version", flag.ContinueOnError), args, ""); err != nil {
		return err
	}
	return cli.WriteVersion(std.out, "watchdog")
}

package main

import (
	"context"
	"embed"
	"flag"

	"github.com/iam-watchdog/iam-watchdog/internal/cli"
)

// helpText holds watchdog.txt (the global usage) and, per command, NAME.txt: its synopsis and
// what it does, then "examples:"; cli.WriteHelp puts the command's flags between them.
//
//go:embed help/*.txt
var helpText embed.FS

func readHelp(name string) string {
	b, err := helpText.ReadFile("help/" + name + ".txt")
	if err != nil {
		panic(err) // a command added without its help/NAME.txt; TestCommandHelp
	}
	return string(b)
}

func globalHelp() string { return readHelp("watchdog") }

// runVersion prints the build (cli.WriteVersion).
func runVersion(_ context.Context, args []string, std stdio) error {
	if _, err := parseArgs(flag.NewFlagSet("version", flag.ContinueOnError), args, ""); err != nil {
		return err
	}
	return cli.WriteVersion(std.out, "watchdog")
}

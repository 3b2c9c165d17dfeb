// Command watchdog runs the iam-watchdog pipeline on a laptop (replay, demo, undo), lists its
// rules, audits an account, and more: `watchdog help` lists the commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"

	"github.com/iam-watchdog/iam-watchdog/internal/cli"
	"github.com/iam-watchdog/iam-watchdog/pkg/replay"
)

// commands are the CLI's commands; help/NAME.txt says what each does (help.go).
var commands = map[string]func(ctx context.Context, args []string, std stdio) error{
	"replay": runReplay, "demo": runDemo, "undo": runUndo, "rules": runRules, "audit": runAudit,
	"gen": runGen, "noise": runNoise, "version": runVersion,
}

// usageError is a misuse of the command line: Run says what was wrong in one line and where
// the help is, and main exits 2.
type usageError struct{ error }

func (usageError) Misuse() {} // a cli.Misuse

// exitCode ends a run with a code of its own (the audit's 1 and 3), everything already said.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }
func (e exitCode) ExitCode() int { return int(e) }

// errSomeInputs ends a run that printed every problem already: exit 1, nothing more to say.
var errSomeInputs = replay.ErrSomeInputs

// main picks the exit code (cli.ExitCode): 0 all input read and no remediation failed; 1 some
// input could not be read, a step failed, or a remediation failed; 2 usage; the audit's own.
func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	code, say := cli.ExitCode(err, errSomeInputs, replay.ErrRemediationFailed)
	if say {
		fmt.Fprintf(os.Stderr, "watchdog: %v\n", err)
	}
	os.Exit(code)
}

// Run executes one command (cli.Program.Run): help goes to stdout; a usage error is said on
// stderr in one line, with where the help is, and returned as a usageError.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	std := stdio{in: stdin, out: stdout, err: stderr}
	p := cli.Program{Name: "watchdog", Commands: map[string]func(context.Context, []string) error{},
		Help: help, Aliases: map[string]string{"--version": "version"}}
	for name, run := range commands {
		p.Commands[name] = func(ctx context.Context, args []string) error { return run(ctx, args, std) }
	}
	return p.Run(ctx, args, stdout, stderr)
}

// stdio are a command's standard input, output and error.
type stdio struct {
	in       io.Reader
	out, err io.Writer
}

// problem reports one problem with the input on standard error; the run goes on.
func (s stdio) problem(err error) { fmt.Fprintf(s.err, "watchdog: %v\n", err) }

// parse and parseArgs parse flags wherever they stand among the arguments (cli.Parse,
// cli.ParseArgs); a misuse is a usageError.
func parse(fs *flag.FlagSet, args []string) ([]string, error) { return asUsage(cli.Parse(fs, args)) }

func parseArgs(fs *flag.FlagSet, args []string, want string) ([]string, error) {
	return asUsage(cli.ParseArgs(fs, args, want))
}

func asUsage(pos []string, err error) ([]string, error) {
	if ue, ok := errors.AsType[cli.UsageError](err); ok {
		return nil, usageError{ue.Err}
	}
	return pos, err
}

// Command watchdog runs the iam-watchdog pipeline on a laptop: over files, directories, standard
// input and archived CloudTrail logs (replay), over the bundled example events (demo), and to
// undo an action the watchdog took (undo); it also lists the rules, audits an account, writes
// synthetic archives and measures what Slack would receive. `watchdog help` lists the commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"

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

// exitCode ends a run with a code of its own (the audit's 1 and 3), everything already said.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// errSomeInputs ends a run that printed every problem already: exit 1, nothing more to say.
var errSomeInputs = replay.ErrSomeInputs

// main picks the exit code: 0 all input read and no remediation failed; 1 some input could not
// be read, a step failed, or a remediation failed; 2 usage; the audit's own (exitCode).
func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	err := Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	var ec exitCode
	switch {
	case err == nil:
	case errors.As(err, new(usageError)):
		os.Exit(2) // Run said what was wrong
	case errors.Is(err, errSomeInputs), errors.Is(err, replay.ErrRemediationFailed):
		os.Exit(1) // each problem, and each failed remediation, is reported already
	case errors.As(err, &ec):
		os.Exit(int(ec))
	default:
		fmt.Fprintf(os.Stderr, "watchdog: %v\n", err)
		os.Exit(1)
	}
}

// Run executes one command. Help goes to stdout; a usage error is said on stderr in one line,
// with where the help is, and returned as a usageError.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, globalHelp())
		return usageError{errors.New("no command")}
	}
	name, rest := args[0], args[1:]
	switch {
	case slices.Contains([]string{"help", "-h", "-help", "--help"}, name) && len(rest) == 0:
		_, err := fmt.Fprint(stdout, globalHelp())
		return err
	case name == "help" && len(rest) == 1 && commands[rest[0]] != nil:
		name, rest = rest[0], []string{"--help"}
	case name == "--version" || name == "-version":
		name = "version"
	case commands[name] == nil:
		err := fmt.Errorf("unknown command %q", name)
		if name == "help" {
			err = fmt.Errorf("help: want one command, got %q", rest)
		}
		fmt.Fprintf(stderr, "watchdog: %v\nsee watchdog --help\n", err)
		return usageError{err}
	}
	err := commands[name](ctx, rest, stdio{in: stdin, out: stdout, err: stderr})
	var h helpRequest
	var ue usageError
	switch {
	case errors.As(err, &h):
		return writeHelp(stdout, name, h.fs)
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "watchdog: %s: %v\nsee watchdog %[1]s --help\n", name, ue.error)
		return ue
	}
	return err
}

// stdio are a command's standard input, output and error.
type stdio struct {
	in       io.Reader
	out, err io.Writer
}

// problem reports one problem with the input on standard error; the run goes on.
func (s stdio) problem(err error) { fmt.Fprintf(s.err, "watchdog: %v\n", err) }

// parseArgs parses and checks the positional arguments: none when want is "", else at least
// one, which want names.
func parseArgs(fs *flag.FlagSet, args []string, want string) ([]string, error) {
	pos, err := parse(fs, args)
	switch {
	case err == nil && want == "" && len(pos) > 0:
		err = usageError{fmt.Errorf("takes no arguments, got %q", pos)}
	case err == nil && want != "" && len(pos) == 0:
		err = usageError{fmt.Errorf("needs at least one %s", want)}
	}
	return pos, err
}

// parse parses flags that may come before, between or after positional arguments. -h and
// --help end the command with a helpRequest.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
			return nil, helpRequest{fs}
		} else if err != nil {
			return nil, usageError{err}
		}
		if args = fs.Args(); len(args) == 0 || args[0] == "--" {
			return append(pos, args[min(1, len(args)):]...), nil
		}
		pos, args = append(pos, args[0]), args[1:]
	}
}

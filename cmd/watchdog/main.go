// Command watchdog runs the iam-watchdog pipeline on a laptop: over files, directories, standard
// input and archived CloudTrail logs (replay), over the bundled example events (demo), and to
// undo an action the watchdog took (undo).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"

	"github.com/iam-watchdog/iam-watchdog/pkg/replay"
)

const usage = `usage: watchdog <command> [flags] [args]

commands:
  replay [--config FILE] [--mode off|dry-run|auto|approve] [--dry-run] [--state PATH|dynamodb://TABLE]
         [--output text|jsonl] [--jobs N] [--since T] [--until T] [--account ID] [--region R] PATH...
                                           run CloudTrail input through the pipeline
                                           (PATH: file, dir, s3://bucket/prefix, -; T: RFC 3339 or a date)
  demo   [--output text|jsonl]             replay the bundled example events, alerts rendered here
  undo   [--config FILE] [--state PATH|dynamodb://TABLE] EVENT_ID
                                           reverse what the watchdog did about an event
  rules  [--output text|json]              list the rules
  audit  [--config FILE] [--output text|jsonl] [--account ID...|--org] [--fail-on SEVERITY] [--list]
         [--state PATH|dynamodb://TABLE] [--verbose]
                                           audit the account's IAM posture (CIS 1.x and the watchdog's sight)
  gen    --out DIR [--size 100MB] [--seed N] [--days N] [--start YYYY-MM-DD] [--accounts IDS] [--regions LIST]
                                           write a synthetic CloudTrail archive (S3 layout) for backtests
  noise  [--config FILE] [--output text|json] [--jobs N] [--since T] [--until T] [--account ID] [--region R] PATH...
                                           what Slack would receive from these archives: routing, thresholds,
                                           flood control and the digest as deployed; no Slack, no AWS
`

// exit codes: 0 all input read and no remediation failed; 1 some input could not be read, a
// step failed, or a remediation failed; 2 usage.
type usageError struct{ error }

// errSomeInputs ends a run that printed every problem already: exit 1, nothing more to say.
var errSomeInputs = replay.ErrSomeInputs

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	err := Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	var ue usageError
	var ec exitCode
	switch {
	case err == nil:
	case errors.As(err, &ue):
		fmt.Fprintf(os.Stderr, "watchdog: %v\n\n%s", err, usage)
		os.Exit(2)
	case errors.Is(err, errSomeInputs), errors.Is(err, replay.ErrRemediationFailed):
		// Each problem, and each failed remediation, is reported already.
		os.Exit(1)
	case errors.As(err, &ec):
		os.Exit(int(ec))
	default:
		fmt.Fprintf(os.Stderr, "watchdog: %v\n", err)
		os.Exit(1)
	}
}

// Run executes one command.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{errors.New("no command")}
	}
	std := stdio{in: stdin, out: stdout, err: stderr}
	switch args[0] {
	case "replay":
		return runReplay(ctx, args[1:], std)
	case "demo":
		return runDemo(ctx, args[1:], std)
	case "undo":
		return runUndo(ctx, args[1:], std)
	case "rules":
		return runRules(args[1:], std)
	case "audit":
		return runAudit(ctx, args[1:], std)
	case "gen":
		return runGen(args[1:], std)
	case "noise":
		return runNoise(ctx, args[1:], std)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return usageError{fmt.Errorf("unknown command %q", args[0])}
}

// stdio are a command's standard input, output and error.
type stdio struct {
	in       io.Reader
	out, err io.Writer
}

// problem reports one problem with the input on standard error; the run goes on.
func (s stdio) problem(err error) { fmt.Fprintf(s.err, "watchdog: %v\n", err) }

// parse parses flags that may come before, between or after positional arguments.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, usageError{err}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// Command peers measures the watchdog's rules against other projects' test events and prints
// agreement per category (see internal/peers). It reports; it does not gate: it fails only when
// it cannot read its input, or with -strict when a disagreement is not explained.
//
//	go run ./cmd/peers [-strict] [-doc docs/peer-differences.md] [DIR]
//
// DIR (default ../shared/testdata/peers, `make peers PEERS_DIR=…`) holds the peers' cases; it
// exists only beside this repository, so without it the command says where such data comes from
// and exits 0.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/iam-watchdog/iam-watchdog/internal/peers"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
)

// defaultDir is where the peers' cases sit beside this repository.
const defaultDir = "../shared/testdata/peers"

// absent is what the command says when the cases are not there.
const absent = `peers: no peer test cases at %s.
They are other detection projects' own CloudTrail test events (Panther's panther-analysis rule
tests, StreamAlert's rule test events, Stratus Red Team's detonation logs), kept beside this
repository as JSON Lines with each project's verdict; see internal/peers for the fields. Point
PEERS_DIR (make peers PEERS_DIR=DIR) at such a folder to measure the rules against them.
Nothing was measured.
`

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("peers", flag.ContinueOnError)
	fl.SetOutput(stderr)
	doc := fl.String("doc", "docs/peer-differences.md", "the document that explains each disagreement")
	strict := fl.Bool("strict", false, "exit 1 when a disagreement is not explained in -doc")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	dir := defaultDir
	if fl.NArg() > 0 {
		dir = fl.Arg(0)
	}
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(stdout, absent, dir)
		return 0
	}
	cases, err := peers.Load(dir)
	if err != nil {
		fmt.Fprintln(stderr, "peers:", err)
		return 2
	}
	explained, err := os.ReadFile(*doc)
	if err != nil {
		fmt.Fprintln(stderr, "peers:", err)
	}
	unexplained := peers.Report(stdout, peers.Measure(cases, detect.Default()), string(explained))
	if *strict && len(unexplained) > 0 {
		return 1
	}
	return 0
}

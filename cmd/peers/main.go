// Command peers measures the watchdog's rules against other projects' test events and prints
// agreement per category (see internal/peers). It reports; it does not gate: it fails only when
// it cannot read its input, or with -strict when a disagreement is not explained.
//
//	go run ./cmd/peers [-strict] [-doc docs/peer-differences.md] ../shared/testdata/peers
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/iam-watchdog/iam-watchdog/internal/peers"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
)

func main() {
	doc := flag.String("doc", "docs/peer-differences.md", "the document that explains each disagreement")
	strict := flag.Bool("strict", false, "exit 1 when a disagreement is not explained in -doc")
	flag.Parse()
	dir := "../shared/testdata/peers"
	if flag.NArg() > 0 {
		dir = flag.Arg(0)
	}
	cases, err := peers.Load(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "peers:", err)
		os.Exit(2)
	}
	explained, err := os.ReadFile(*doc)
	if err != nil {
		fmt.Fprintln(os.Stderr, "peers:", err)
	}
	unexplained := peers.Report(os.Stdout, peers.Measure(cases, detect.Default()), string(explained))
	if *strict && len(unexplained) > 0 {
		os.Exit(1)
	}
}

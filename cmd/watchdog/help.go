package main

import (
	"bufio"
	"embed"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/iam-watchdog/iam-watchdog/internal/textwrap"
)

// helpText holds watchdog.txt (the global usage) and, per command, NAME.txt: its synopsis and
// what it does, then "examples:". The flags between them come from the command's FlagSet, so
// that they never drift from what it parses.
//
//go:embed help/*.txt
var helpText embed.FS

// helpRequest ends a command whose flags asked for its help (-h, --help).
type helpRequest struct{ fs *flag.FlagSet }

func (helpRequest) Error() string { return "help requested" }

func globalHelp() string { return readHelp("watchdog") }

func readHelp(name string) string {
	b, err := helpText.ReadFile("help/" + name + ".txt")
	if err != nil {
		panic(fmt.Sprintf("no help for %s: %v", name, err)) // a command added without its help/NAME.txt
	}
	return string(b)
}

// writeHelp prints command name's help: its synopsis, every flag with its description and
// default, and its examples.
func writeHelp(w io.Writer, name string, fs *flag.FlagSet) error {
	head, examples, _ := strings.Cut(readHelp(name), "\nexamples:\n")
	bw := bufio.NewWriter(w)
	fmt.Fprint(bw, head)
	section := "\nflags:\n"
	fs.VisitAll(func(f *flag.Flag) {
		fmt.Fprint(bw, section)
		section = ""
		arg, usage := flag.UnquoteUsage(f)
		if d := f.DefValue; d != "" && d != "0" && d != "false" {
			usage += fmt.Sprintf(" (default %s)", d)
		}
		fmt.Fprintln(bw, strings.TrimRight("  --"+f.Name+" "+arg, " "))
		for _, l := range textwrap.Lines(usage, "      ", "      ", 80) {
			fmt.Fprintln(bw, l)
		}
	})
	fmt.Fprintf(bw, "\nexamples:\n%s", examples)
	return bw.Flush()
}

// Package cli is the command line's machinery for cmd/watchdog: commands dispatched, their help
// made from their FlagSets, usage errors said in one line, flags parsed wherever they stand
// among the arguments, and the build's identity.
package cli

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"path"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/iam-watchdog/iam-watchdog/internal/textwrap"
)

// Program is a command-line program of several commands.
type Program struct {
	Name     string
	Commands map[string]func(ctx context.Context, args []string) error
	// Help is the global usage for "", else a command's help text for WriteHelp.
	Help func(command string) string
	// Aliases name the command an argument in its place runs ("--version": "version").
	Aliases map[string]string
}

// Misuse is an error that says the command line was wrong (exit code 2): Program.Run says it in
// one line, with where the help is.
type Misuse interface {
	error
	Misuse()
}

// UsageError is Parse's and ParseArgs' Misuse: a bad flag, a missing or an extra argument.
type UsageError struct{ Err error }

func (e UsageError) Error() string { return e.Err.Error() }

// Misuse marks a UsageError as a Misuse.
func (UsageError) Misuse() {}

// Run runs the command args name: "help", "-h" and "--help" print the global usage and
// "help COMMAND" the command's help, on stdout; a command's -h or --help (a HelpRequest) its
// help. A Misuse is said on stderr in one line, "NAME: COMMAND: what was wrong", then "see NAME
// COMMAND --help", and returned; no command at all prints the global usage on stderr.
func (p Program) Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, p.Help(""))
		return UsageError{errors.New("no command")}
	}
	name, rest := args[0], args[1:]
	if alias, ok := p.Aliases[name]; ok {
		name = alias
	}
	switch isHelp := name == "help" || name == "-h" || name == "-help" || name == "--help"; {
	case isHelp && len(rest) == 0:
		_, err := fmt.Fprint(stdout, p.Help(""))
		return err
	case name == "help" && len(rest) == 1 && p.Commands[rest[0]] != nil:
		name, rest = rest[0], []string{"--help"}
	case p.Commands[name] == nil:
		err := fmt.Errorf("unknown command %q", name)
		if isHelp {
			err = fmt.Errorf("help: want one command, got %q", rest)
		}
		fmt.Fprintf(stderr, "%s: %v\nsee %[1]s --help\n", p.Name, err)
		return UsageError{err}
	}
	err := p.Commands[name](ctx, rest)
	var h HelpRequest
	var m Misuse
	switch {
	case errors.As(err, &h):
		return WriteHelp(stdout, p.Help(name), h.FlagSet)
	case errors.As(err, &m):
		fmt.Fprintf(stderr, "%s: %s: %v\nsee %[1]s %[2]s --help\n", p.Name, name, m)
	}
	return err
}

// ExitCode is the exit code of Run's err: 0 for nil, 2 for a Misuse (said already), the code of
// an error with an ExitCode method (said already), 1 for one of quiet (each problem said as it
// came) and for any other error, which say then reports is still to be printed.
func ExitCode(err error, quiet ...error) (code int, say bool) {
	var m Misuse
	var ec interface{ ExitCode() int }
	switch {
	case err == nil:
		return 0, false
	case errors.As(err, &m):
		return 2, false
	case errors.As(err, &ec):
		return ec.ExitCode(), false
	}
	for _, q := range quiet {
		if errors.Is(err, q) {
			return 1, false
		}
	}
	return 1, true
}

// HelpRequest is Parse's answer to -h or --help: the command's help is wanted, not the command.
type HelpRequest struct{ FlagSet *flag.FlagSet }

func (HelpRequest) Error() string { return "help requested" }

// Parse parses flags that may come before, between or after positional arguments, and returns
// the positional ones; "--" ends the flags. A bad flag is a UsageError, -h or --help a
// HelpRequest.
func Parse(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
			return nil, HelpRequest{fs}
		} else if err != nil {
			return nil, UsageError{err}
		}
		if args = fs.Args(); len(args) == 0 || args[0] == "--" {
			return append(pos, args[min(1, len(args)):]...), nil
		}
		pos, args = append(pos, args[0]), args[1:]
	}
}

// Choice defines a string flag whose value must be one of choices: another is a usage error as
// the flags are parsed. A backquoted word in usage names the value in the help (flag.UnquoteUsage).
func Choice(fs *flag.FlagSet, name, value, usage string, choices ...string) *string {
	fs.Var(choice{&value, choices}, name, usage)
	return &value
}

type choice struct {
	v       *string
	choices []string
}

func (c choice) String() string {
	if c.v == nil {
		return ""
	}
	return *c.v
}

func (c choice) Set(s string) error {
	if !slices.Contains(c.choices, s) {
		return fmt.Errorf("want %s", strings.Join(c.choices, ", "))
	}
	*c.v = s
	return nil
}

// HelpTexts reads help texts from fsys: dir/NAME.txt for a command, dir/main.txt for "" (the
// global usage). A missing text panics: a command was added without its help.
func HelpTexts(fsys fs.FS, dir, main string) func(command string) string {
	return func(command string) string {
		b, err := fs.ReadFile(fsys, path.Join(dir, cmp.Or(command, main)+".txt"))
		if err != nil {
			panic(err)
		}
		return string(b)
	}
}

// ParseArgs parses (Parse) and checks the positional arguments: none when want is "", else at
// least one, which want names.
func ParseArgs(fs *flag.FlagSet, args []string, want string) ([]string, error) {
	pos, err := Parse(fs, args)
	switch {
	case err == nil && want == "" && len(pos) > 0:
		err = UsageError{fmt.Errorf("takes no arguments, got %q", pos)}
	case err == nil && want != "" && len(pos) == 0:
		err = UsageError{fmt.Errorf("needs at least one %s", want)}
	}
	return pos, err
}

// WriteHelp prints a command's help: text up to its "examples:" line, then every flag of fs with
// its description and default, wrapped to 80 columns, then the examples. The flags come from
// the FlagSet the command parses, so that its help never drifts from it.
func WriteHelp(w io.Writer, text string, fs *flag.FlagSet) error {
	head, examples, _ := strings.Cut(text, "\nexamples:\n")
	bw := bufio.NewWriter(w)
	fmt.Fprint(bw, head)
	section := "\nflags:\n"
	fs.VisitAll(func(f *flag.Flag) {
		arg, usage := flag.UnquoteUsage(f)
		if d := f.DefValue; d != "" && d != "0" && d != "false" {
			usage += fmt.Sprintf(" (default %s)", d)
		}
		fmt.Fprint(bw, section, strings.TrimRight("  --"+f.Name+" "+arg, " "), "\n")
		for _, l := range textwrap.Lines(usage, "      ", "      ", 80) {
			fmt.Fprintln(bw, l)
		}
		section = ""
	})
	fmt.Fprintf(bw, "\nexamples:\n%s", examples)
	return bw.Flush()
}

// WriteVersion prints which build is running, from Go's build information: name and the main
// module's version, the module, Go's version, and the VCS revision, its time and whether the
// tree was modified (absent from a build outside a git clone, or with -buildvcs=false).
func WriteVersion(w io.Writer, name string) error {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return errors.New("no build information in this binary")
	}
	fmt.Fprintf(w, "%s %s\nmodule %s\ngo %s\n", name, bi.Main.Version, bi.Main.Path, bi.GoVersion)
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" || s.Key == "vcs.time" || s.Key == "vcs.modified" {
			fmt.Fprintf(w, "%s %s\n", s.Key, s.Value)
		}
	}
	return nil
}

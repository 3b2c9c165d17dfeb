package main

import (
	"bytes"
	"errors"
	"flag"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/iam-watchdog/iam-watchdog/internal/cli"
)

// globalHelp is what `watchdog help` prints.
func globalHelp() string { return help("") }

// flagsOf is the FlagSet command name parses, as it hands it over for its help.
func flagsOf(t *testing.T, name string) *flag.FlagSet {
	t.Helper()
	var out, errOut bytes.Buffer
	err := commands[name](t.Context(), []string{"--help"}, stdio{out: &out, err: &errOut})
	var h cli.HelpRequest
	if !errors.As(err, &h) {
		t.Fatalf("%s --help: %v, want a help request", name, err)
	}
	return h.FlagSet
}

// TestCommandHelp: `watchdog help CMD`, `CMD --help` and `CMD -h` print the same help on
// stdout and succeed: the synopsis, every flag the command parses with its description and
// default, and two examples or more; nothing on stderr (issue 17, point 1).
func TestCommandHelp(t *testing.T) {
	for name := range commands {
		t.Run(name, func(t *testing.T) {
			fs := flagsOf(t, name)
			var first string
			for _, args := range [][]string{{"help", name}, {name, "--help"}, {name, "-h"}, {name, "-help"}} {
				r := runCLI(t, "", args...)
				if r.err != nil || r.stderr != "" {
					t.Fatalf("watchdog %s: %v\nstderr: %s", strings.Join(args, " "), r.err, r.stderr)
				}
				if first == "" {
					first = r.stdout
				} else if r.stdout != first {
					t.Errorf("watchdog %s prints another help than watchdog help %s", strings.Join(args, " "), name)
				}
			}
			if !strings.HasPrefix(first, "usage: watchdog "+name) {
				t.Errorf("help does not start with the synopsis:\n%s", first)
			}
			flat := strings.Join(strings.Fields(first), " ")
			fs.VisitAll(func(f *flag.Flag) {
				_, usage := flag.UnquoteUsage(f)
				if !strings.Contains(first, "\n  --"+f.Name+" ") && !strings.Contains(first, "\n  --"+f.Name+"\n") {
					t.Errorf("help does not list --%s", f.Name)
				}
				if !strings.Contains(flat, strings.Join(strings.Fields(usage), " ")) {
					t.Errorf("help does not describe --%s as %q", f.Name, usage)
				}
				if d := f.DefValue; d != "" && d != "0" && d != "false" && !strings.Contains(flat, "(default "+d+")") {
					t.Errorf("help does not give --%s's default %s", f.Name, d)
				}
			})
			_, examples, ok := strings.Cut(first, "\nexamples:\n")
			n := strings.Count("\n"+examples, "\n  watchdog ")
			if !ok || n < 2 {
				t.Errorf("help has %d examples of watchdog %s:\n%s", n, name, examples)
			}
			for i, l := range strings.Split(first, "\n") {
				if utf8.RuneCountInString(l) > 80 {
					t.Errorf("help line %d is over 80 columns: %q", i+1, l)
				}
			}
		})
	}
}

// TestGlobalHelp: `watchdog help`, `--help` and `-h` list every command, and only those, on
// stdout; no command at all prints the same on stderr as a usage error.
func TestGlobalHelp(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}} {
		r := runCLI(t, "", args...)
		if r.err != nil || r.stderr != "" || !strings.HasPrefix(r.stdout, "usage: watchdog <command>") {
			t.Fatalf("watchdog %s: %v\nstdout:\n%s\nstderr:\n%s", args[0], r.err, r.stdout, r.stderr)
		}
		_, list, _ := strings.Cut(r.stdout, "commands:\n")
		list, _, _ = strings.Cut(list, "\n\n")
		var listed []string
		for _, l := range strings.Split(list, "\n") {
			if strings.HasPrefix(l, "  ") && !strings.HasPrefix(l, "   ") {
				listed = append(listed, strings.Fields(l)[0])
			}
		}
		var want []string
		for name := range commands {
			want = append(want, name)
		}
		want = append(want, "help")
		slices.Sort(want)
		slices.Sort(listed)
		if !slices.Equal(listed, want) {
			t.Errorf("watchdog %s lists %v, want %v", args[0], listed, want)
		}
	}
	if r := runCLI(t, ""); !isUsage(r.err) || r.stderr != globalHelp() || r.stdout != "" {
		t.Errorf("watchdog with no command: %v\nstdout:\n%s\nstderr:\n%s", r.err, r.stdout, r.stderr)
	}
}

// TestVersion: `watchdog version` and `--version` say which build runs, from Go's build
// information; the built binary gives the VCS revision it was built from.
func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		r := mustRun(t, args...)
		if !strings.HasPrefix(r.stdout, "watchdog ") || !strings.Contains(r.stdout, "\ngo "+runtime.Version()+"\n") {
			t.Errorf("watchdog %s:\n%s", args[0], r.stdout)
		}
	}
	// Go stamps the VCS only in a repository whose .git is a folder, not in a git worktree:
	// build from a clone of this repository's history, with -trimpath so that the clone's
	// packages reuse buildWatchdog's compiled ones (their cache keys then hold no directory).
	top, err := exec.CommandContext(t.Context(), "git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Fatalf("git rev-parse: %v (the test needs the repository's history)", err)
	}
	src, bin := t.TempDir(), filepath.Join(t.TempDir(), "watchdog")
	for _, cmd := range [][]string{
		{"git", "clone", "--quiet", strings.TrimSpace(string(top)), src},
		{"go", "build", "-trimpath", "-ldflags=-w", "-buildvcs=true", "-o", bin, "./cmd/watchdog"},
	} {
		c := exec.CommandContext(t.Context(), cmd[0], cmd[1:]...)
		c.Dir = src
		if out, err := c.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(cmd, " "), err, out)
		}
	}
	head, err := exec.CommandContext(t.Context(), "git", "-C", src, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(t.Context(), bin, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"module github.com/iam-watchdog/iam-watchdog\n", "\nvcs.revision " + strings.TrimSpace(string(head)) + "\n", "\nvcs.time ", "\nvcs.modified false\n"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("built binary's version does not say %q:\n%s", want, out)
		}
	}
}

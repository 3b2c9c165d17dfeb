package cli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		pos     []string
		out     string
		wantErr string // "" none; "help" a HelpRequest
	}{
		{name: "flags first", args: []string{"--out", "x", "a", "b"}, pos: []string{"a", "b"}, out: "x"},
		{name: "flags between and after", args: []string{"a", "--out=x", "b", "-v"}, pos: []string{"a", "b"}, out: "x"},
		{name: "-- ends the flags", args: []string{"a", "--", "--out", "b"}, pos: []string{"a", "--out", "b"}},
		{name: "nothing", args: nil, pos: nil},
		{name: "unknown flag", args: []string{"a", "--frob"}, wantErr: "flag provided but not defined: -frob"},
		{name: "flag without value", args: []string{"a", "--out"}, wantErr: "flag needs an argument: -out"},
		{name: "--help", args: []string{"a", "--help"}, wantErr: "help"},
		{name: "-h", args: []string{"-h"}, wantErr: "help"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs := flag.NewFlagSet("x", flag.ContinueOnError)
			out := fs.String("out", "", "where")
			fs.Bool("v", false, "verbose")
			pos, err := Parse(fs, tc.args)
			var h HelpRequest
			switch {
			case tc.wantErr == "help":
				if !errors.As(err, &h) || h.FlagSet != fs {
					t.Fatalf("Parse = %v, want a HelpRequest for the FlagSet", err)
				}
			case tc.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Parse = %v, want %q", err, tc.wantErr)
				}
			case err != nil || !slices.Equal(pos, tc.pos) || *out != tc.out:
				t.Errorf("Parse = %q, --out %q, %v; want %q, %q", pos, *out, err, tc.pos, tc.out)
			}
		})
	}
}

func TestWriteHelp(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.String("config", "", "YAML `FILE` read at start, a description long enough that it has to be wrapped onto a second line")
	fs.Int("jobs", 4, "at once")
	fs.Bool("dry-run", false, "never act")
	var b bytes.Buffer
	if err := WriteHelp(&b, "usage: x [flags]\n\nDoes x.\n\nexamples:\n  x a\n  x b\n", fs); err != nil {
		t.Fatal(err)
	}
	want := `usage: x [flags]

Does x.

flags:
  --config FILE
      YAML FILE read at start, a description long enough that it has to be
      wrapped onto a second line
  --dry-run
      never act
  --jobs int
      at once (default 4)

examples:
  x a
  x b
`
	if b.String() != want {
		t.Errorf("help:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestWriteVersion(t *testing.T) {
	var b bytes.Buffer
	if err := WriteVersion(&b, "watchdog"); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b.String(), "watchdog ") || !strings.Contains(b.String(), "\ngo "+runtime.Version()+"\n") {
		t.Errorf("version:\n%s", b.String())
	}
}

// TestProgramRun: help on stdout, usage errors in one line on stderr with where the help is,
// and the command's own errors returned untouched.
func TestProgramRun(t *testing.T) {
	boom := errors.New("boom")
	p := Program{Name: "tool", Aliases: map[string]string{"--version": "version"},
		Help: func(name string) string {
			if name == "" {
				return "usage: tool <command>\n"
			}
			return "usage: tool " + name + "\n\nexamples:\n  tool " + name + "\n"
		},
		Commands: map[string]func(context.Context, []string) error{
			"run": func(_ context.Context, args []string) error {
				fs := flag.NewFlagSet("run", flag.ContinueOnError)
				fs.Bool("fast", false, "go fast")
				_, err := ParseArgs(fs, args, "PATH")
				return err
			},
			"fail":    func(context.Context, []string) error { return boom },
			"version": func(context.Context, []string) error { return nil },
		}}
	tests := []struct {
		args           []string
		stdout, stderr string
		misuse, isBoom bool
	}{
		{args: nil, stderr: "usage: tool <command>\n", misuse: true},
		{args: []string{"help"}, stdout: "usage: tool <command>\n"},
		{args: []string{"--help"}, stdout: "usage: tool <command>\n"},
		{args: []string{"help", "run"}, stdout: "usage: tool run\n\nflags:\n  --fast\n      go fast\n\nexamples:\n  tool run\n"},
		{args: []string{"run", "-h"}, stdout: "usage: tool run\n\nflags:\n  --fast\n      go fast\n\nexamples:\n  tool run\n"},
		{args: []string{"run"}, stderr: "tool: run: needs at least one PATH\nsee tool run --help\n", misuse: true},
		{args: []string{"run", "--slow", "x"}, stderr: "tool: run: flag provided but not defined: -slow\nsee tool run --help\n", misuse: true},
		{args: []string{"run", "x"}},
		{args: []string{"--version"}},
		{args: []string{"frob"}, stderr: "tool: unknown command \"frob\"\nsee tool --help\n", misuse: true},
		{args: []string{"help", "frob"}, stderr: "tool: help: want one command, got [\"frob\"]\nsee tool --help\n", misuse: true},
		{args: []string{"fail"}, isBoom: true},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := p.Run(t.Context(), tc.args, &out, &errOut)
			var m Misuse
			if out.String() != tc.stdout || errOut.String() != tc.stderr || errors.As(err, &m) != tc.misuse || errors.Is(err, boom) != tc.isBoom ||
				!tc.misuse && !tc.isBoom && err != nil {
				t.Errorf("Run(%q) = %v\nstdout %q\nstderr %q\nwant stdout %q stderr %q misuse %v", tc.args, err, out.String(), errOut.String(), tc.stdout, tc.stderr, tc.misuse)
			}
		})
	}
}

type codeErr int

func (c codeErr) Error() string { return "code" }
func (c codeErr) ExitCode() int { return int(c) }

func TestExitCode(t *testing.T) {
	quiet := errors.New("said already")
	tests := []struct {
		err  error
		code int
		say  bool
	}{
		{nil, 0, false},
		{UsageError{errors.New("bad flag")}, 2, false},
		{fmt.Errorf("wrapped: %w", UsageError{errors.New("bad flag")}), 2, false},
		{codeErr(3), 3, false},
		{fmt.Errorf("run: %w", quiet), 1, false},
		{errors.New("boom"), 1, true},
	}
	for _, tc := range tests {
		if code, say := ExitCode(tc.err, quiet); code != tc.code || say != tc.say {
			t.Errorf("ExitCode(%v) = %d, %v; want %d, %v", tc.err, code, say, tc.code, tc.say)
		}
	}
}

func TestChoice(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		want    string
		wantErr string
	}{
		{nil, "text", ""},
		{[]string{"--output", "jsonl"}, "jsonl", ""},
		{[]string{"--output=xml"}, "", `invalid value "xml" for flag -output: want text, jsonl`},
	} {
		fs := flag.NewFlagSet("x", flag.ContinueOnError)
		out := Choice(fs, "output", "text", "`text|jsonl`: how", "text", "jsonl")
		_, err := Parse(fs, tc.args)
		if tc.wantErr != "" {
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("%q: %v, want %s", tc.args, err, tc.wantErr)
			}
			continue
		}
		if err != nil || *out != tc.want {
			t.Errorf("%q: %q, %v; want %q", tc.args, *out, err, tc.want)
		}
	}
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	Choice(fs, "output", "text", "`text|jsonl`: how", "text", "jsonl")
	var b bytes.Buffer
	if err := WriteHelp(&b, "usage: x\n\nexamples:\n  x\n", fs); err != nil || !strings.Contains(b.String(), "  --output text|jsonl\n      text|jsonl: how (default text)\n") {
		t.Errorf("help of a choice:\n%s", b.String())
	}
}

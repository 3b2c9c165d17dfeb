package main

import (
	"bytes"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"
)

// TestExitCodes builds the real binary and checks what main makes of Run's errors: 0 when all
// input was read, 1 when some was not (or the config is bad), 2 for usage errors.
func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	bin := buildWatchdog(t)
	good := path.Join(eventsDir, rootNoMFA)
	bad := writeFile(t, dir, "bad.json", []byte(`{"Records":[{"eventName":`))
	badConfig := writeFile(t, dir, "bad.yaml", []byte("mode: banana\n"))
	if err := os.Mkdir(filepath.Join(dir, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		args    []string
		stdin   string
		code    int
		wantOut string // in stdout
		wantErr string // in stderr
		noUsage bool   // stderr must not print the usage text
	}{
		{name: "replay good input", args: []string{"replay", "--output", "jsonl", good}, code: 0, wantOut: `"rule":"root-console-signin"`, wantErr: "0 unreadable", noUsage: true},
		{name: "replay stdin", args: []string{"replay", "--output", "jsonl", "-"}, stdin: string(readFile(t, good)), code: 0, wantOut: `"rule":"root-console-signin"`, noUsage: true},
		{name: "rules", args: []string{"rules"}, code: 0, wantOut: "root-console-signin", noUsage: true},
		{name: "help", args: []string{"help"}, code: 0, wantOut: "usage: watchdog", noUsage: true},
		{name: "bad input beside good", args: []string{"replay", "--output", "jsonl", bad, good}, code: 1, wantOut: `"rule":"root-console-signin"`, wantErr: "bad.json:1", noUsage: true},
		{name: "missing input", args: []string{"replay", filepath.Join(dir, "missing.json")}, code: 1, wantErr: "missing.json", noUsage: true},
		{name: "bad config", args: []string{"replay", "--config", badConfig, good}, code: 1, wantErr: "banana", noUsage: true},
		{name: "unknown command", args: []string{"frobnicate"}, code: 2, wantErr: "watchdog: unknown command \"frobnicate\"\nsee watchdog --help\n", noUsage: true},
		{name: "no command", code: 2, wantErr: "usage: watchdog"},
		{name: "replay without PATH", args: []string{"replay"}, code: 2, wantErr: "watchdog: replay: needs at least one PATH", noUsage: true},
		{name: "bad --output", args: []string{"replay", "--output", "xml", good}, code: 2, wantErr: "watchdog: replay: invalid value \"xml\" for flag -output: want text, jsonl\nsee watchdog replay --help\n", noUsage: true},
		{name: "replay --help", args: []string{"replay", "--help"}, code: 0, wantOut: "usage: watchdog replay [flags] PATH...", noUsage: true},
		{name: "help rules", args: []string{"help", "rules"}, code: 0, wantOut: "usage: watchdog rules [flags]", noUsage: true},
		{name: "rules with an argument", args: []string{"rules", "extra"}, code: 2, wantErr: "watchdog: rules: takes no arguments, got [\"extra\"]\nsee watchdog rules --help\n", noUsage: true},
		{name: "empty directory", args: []string{"replay", dir + "/empty"}, code: 1, wantErr: "no log files under " + dir + "/empty", noUsage: true},
		{name: "version", args: []string{"--version"}, code: 0, wantOut: "watchdog ", noUsage: true},
		{name: "bad --mode", args: []string{"replay", "--mode", "sometimes", good}, code: 2, wantErr: "sometimes"},
		{name: "unknown flag", args: []string{"replay", "--frobnicate", good}, code: 2, wantErr: "frobnicate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.CommandContext(t.Context(), bin, tc.args...)
			home := t.TempDir()
			cmd.Env = append(os.Environ(), "HOME="+home, "XDG_STATE_HOME="+home, "AWS_CONFIG_FILE="+filepath.Join(home, "none"), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(home, "none"))
			cmd.Stdin = strings.NewReader(tc.stdin)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			code := exitCodeOf(t, cmd.Run())
			if code != tc.code {
				t.Errorf("exit code %d, want %d\nstderr:\n%s", code, tc.code, stderr.String())
			}
			if !strings.Contains(stdout.String(), tc.wantOut) {
				t.Errorf("stdout does not contain %q:\n%s", tc.wantOut, stdout.String())
			}
			if !strings.Contains(stderr.String(), tc.wantErr) {
				t.Errorf("stderr does not contain %q:\n%s", tc.wantErr, stderr.String())
			}
			if tc.noUsage && strings.Contains(stderr.String(), "usage: watchdog") {
				t.Errorf("stderr prints the usage text for a non-usage outcome:\n%s", stderr.String())
			}
		})
	}
}

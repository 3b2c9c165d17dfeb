package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/iam-watchdog/iam-watchdog/internal/corpus"
)

// TestGen writes an archive with `watchdog gen` and replays it: the archive is in CloudTrail's
// layout with a manifest, and replay reads it all and finds the example alerts mixed in.
func TestGen(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	dir := filepath.Join(t.TempDir(), "archive")
	r := mustRun(t, "gen", "--out", dir, "--size", "2MB", "--days", "1", "--accounts", "111122223333", "--regions", "us-east-1,eu-west-1", "--seed", "7")
	if !strings.Contains(r.stderr, "wrote ") {
		t.Errorf("gen says:\n%s", r.stderr)
	}
	m, err := corpus.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m.Config.Seed != 7 || m.Config.Accounts[0] != "111122223333" || len(m.Config.Regions) != 2 || m.Bytes < 1.5e6 {
		t.Errorf("manifest %+v", m)
	}
	day := filepath.Join(dir, "AWSLogs", "111122223333", "CloudTrail", "eu-west-1", "2024", "05", "01")
	if entries, err := os.ReadDir(day); err != nil || len(entries) == 0 {
		t.Errorf("no log files in %s: %v", day, err)
	}
	rr := mustRun(t, "replay", "--output", "jsonl", dir)
	rows := parseRows(t, rr.stdout)
	if int64(len(rows)) < m.Alerts/2 || !strings.Contains(rr.stderr, "; 0 unreadable") || !strings.Contains(rr.stderr, " "+strconv.FormatInt(m.Records, 10)+" records") {
		t.Errorf("replay of the archive: %d rows for %d alerts mixed in\n%s", len(rows), m.Alerts, rr.stderr)
	}
}

func TestGenUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"gen"}, "--out"},
		{[]string{"gen", "--out", t.TempDir(), "--size", "lots"}, "size"},
		{[]string{"gen", "--out", t.TempDir(), "--start", "May 1st"}, "start"},
		{[]string{"gen", "--out", t.TempDir(), "--accounts", "42"}, "42"},
		{[]string{"gen", "--out", t.TempDir(), "extra"}, "extra"},
	} {
		r := runCLI(t, "", tc.args...)
		if !isUsage(r.err) || !strings.Contains(r.err.Error(), tc.want) {
			t.Errorf("%v: %v, want a usage error about %s", tc.args, r.err, tc.want)
		}
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"1500": 1500, "2MB": 2e6, "1.5GB": 1.5e9, "1GiB": 1 << 30, "10KiB": 10240, "3B": 3} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "MB", "-1MB", "0", "1TB"} {
		if _, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) accepted", in)
		}
	}
}

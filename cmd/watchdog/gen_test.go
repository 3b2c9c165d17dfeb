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

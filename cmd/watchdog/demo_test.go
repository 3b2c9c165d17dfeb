package main

import (
	"path"
	"slices"
	"strings"
	"testing"
)

// TestDemo: one alert block per alerted finding of the alert- files, nothing for quiet- ones,
// and the same set as JSON Lines.
func TestDemo(t *testing.T) {
	want, files := expectedRows(t, loadConfig(t, deploymentConfig))
	wantPerFile := map[string]int{}
	for _, w := range want {
		wantPerFile[w.file]++
	}

	t.Run("text", func(t *testing.T) {
		r := mustRunDemo(t)
		dryRun := dryRunPart(r.stdout)
		if got := strings.Count(dryRun, "┌─"); got != len(want) {
			t.Errorf("%d alert blocks, want %d", got, len(want))
		}
		if got := strings.Count(dryRun, "└─"); got != len(want) {
			t.Errorf("%d closed alert blocks, want %d", got, len(want))
		}
		if strings.Contains(dryRun, "Reverted:") {
			t.Errorf("the dry-run part says Reverted:\n%s", dryRun)
		}
		for _, f := range files {
			n := strings.Count(dryRun, "events-testdata/"+f+":1\n")
			switch base := path.Base(f); {
			case strings.HasPrefix(base, "alert-") && (n == 0 || n != wantPerFile[f]):
				t.Errorf("%s: %d alert blocks, want %d", f, n, wantPerFile[f])
			case strings.HasPrefix(base, "quiet-") && n > 0:
				t.Errorf("%s: a quiet- event got %d alert blocks", f, n)
			}
			if strings.HasPrefix(path.Base(f), "quiet-") && strings.Contains(r.stdout, eventIDOf(t, f)) {
				t.Errorf("%s: the quiet- event's ID %s is in the output", f, eventIDOf(t, f))
			}
		}
		for _, w := range want {
			if !strings.Contains(r.stdout, w.eventID) {
				t.Errorf("%s: event %s is not in the output", w.file, w.eventID)
			}
		}
		if !strings.Contains(r.stderr, "; 0 unreadable") {
			t.Errorf("summary does not say 0 unreadable:\n%s", r.stderr)
		}
	})

	t.Run("jsonl", func(t *testing.T) {
		r := mustRunDemo(t, "--output", "jsonl")
		rows := parseRows(t, r.stdout)
		var got, wantKeys []string
		for _, rw := range rows {
			got = append(got, rw.EventID+"#"+rw.Rule)
			if rw.Remediation != nil && (rw.Remediation.Status == "done" || rw.Remediation.Undo != "") {
				t.Errorf("demo acted: %s %+v", rw.EventID, *rw.Remediation)
			}
		}
		for k := range want {
			wantKeys = append(wantKeys, k)
		}
		slices.Sort(got)
		slices.Sort(wantKeys)
		if !slices.Equal(got, wantKeys) {
			t.Errorf("rows %v\nwant %v", got, wantKeys)
		}
	})
}

// dryRunPart is the demo's text output up to its first section heading: the dry-run alerts.
func dryRunPart(stdout string) string {
	for _, h := range []string{"\n══ ", "\n── "} {
		if i := strings.Index(stdout, h); i >= 0 {
			stdout = stdout[:i]
		}
	}
	return stdout
}

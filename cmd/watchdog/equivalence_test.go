package main

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/iam-watchdog/iam-watchdog/internal/corpus"
	"github.com/iam-watchdog/iam-watchdog/pkg/cloudtrail"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/notify"
)

// testCorpus generates a small archive (a few MB) in CloudTrail's layout: realistic noise, every
// example event at least once, and alerts at one record in a hundred.
func testCorpus(t *testing.T) (string, corpus.Manifest) {
	t.Helper()
	c := corpus.Default(5e6)
	c.Days, c.AlertRate, c.Interval = 3, 0.01, 20*time.Minute
	dir := t.TempDir()
	m, err := corpus.Generate(dir, c, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	return dir, m
}

// logFiles are the corpus's log files in key order.
func logFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".json.gz") {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(files, func(a, b string) int { return strings.Compare(filepath.ToSlash(a), filepath.ToSlash(b)) })
	return files
}

// finding is what is compared of a finding.
type finding struct {
	Pos                                  cloudtrail.Position
	Rule, EventID, Severity, Target, Why string
	Action                               detect.Action
}

func project(fs []detect.Finding) []finding {
	var out []finding
	for _, f := range fs {
		out = append(out, finding{f.Record.Pos, f.Rule, f.EventID, f.Severity.String(), f.Target, f.Why, f.Action})
	}
	return out
}

// TestFastPathFindsWhatFullDecodingFinds is the pre-filter's guarantee, record for record: on a
// generated archive holding every rule's positive events and near misses, the fast path (a
// Scanner skimming heads, the detector's Wants choosing what to decode) gives exactly the
// findings that decoding every record with encoding/json and running Detect on all of them
// gives, and decodes only a small part of the records.
func TestFastPathFindsWhatFullDecodingFinds(t *testing.T) {
	dir, m := testCorpus(t)
	d := detect.Default()
	sc := &cloudtrail.Scanner{Want: d.Wants}
	var slow, fast []finding
	records := 0
	for _, name := range logFiles(t, dir) {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for rec, err := range cloudtrail.Records(name, bytes.NewReader(data)) {
			if err != nil {
				t.Fatal(err)
			}
			records++
			slow = append(slow, project(d.Detect(rec))...)
		}
		for rec, err := range sc.Records(name, bytes.NewReader(data)) {
			if err != nil {
				t.Fatal(err)
			}
			fast = append(fast, project(d.Detect(rec))...)
		}
	}
	if int64(records) != m.Records {
		t.Fatalf("read %d records, the manifest says %d", records, m.Records)
	}
	rules := map[string]bool{}
	for _, f := range slow {
		rules[f.Rule] = true
	}
	for _, r := range d.Rules() {
		if !rules[r.ID] {
			t.Errorf("the corpus has no finding of rule %s: the test would not see it lost", r.ID)
		}
	}
	if len(fast) != len(slow) {
		t.Errorf("fast path: %d findings, full decoding: %d", len(fast), len(slow))
	}
	for i := range min(len(fast), len(slow)) {
		if fast[i] != slow[i] {
			t.Fatalf("finding %d differs:\nfast %+v\nslow %+v", i, fast[i], slow[i])
		}
	}
	st := sc.Stats()
	if st.Records != int64(records) || st.Decoded > int64(records)/20 {
		t.Errorf("fast path read %d records and decoded %d; want all %d read and under 5%% decoded", st.Records, st.Decoded, records)
	}
	t.Logf("%d records, %d findings, %d decoded by the fast path", records, len(slow), st.Decoded)
}

// reference replays files the slow way, one at a time with Records and the whole pipeline, as
// replay did before the fast path, keeping the records in sc: the JSON Lines it would print.
func reference(t *testing.T, files []string, sc scope) string {
	t.Helper()
	p, err := buildPipeline(context.Background(), pipelineFlags{})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	sink := notify.NewJSONL(&out)
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		for rec, err := range cloudtrail.Records(name, f) {
			if err != nil {
				t.Fatal(err)
			}
			if !sc.keeps(rec) {
				continue
			}
			results, err := p.Handle(context.Background(), rec)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range results {
				if r.Alerted || r.Duplicate {
					if _, err := sink.Notify(context.Background(), r.Alert); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		f.Close()
	}
	return out.String()
}

// TestReplayMatchesReference runs `replay` on the generated archive with several job counts and
// scopes: its JSON Lines are byte for byte those of the slow reference, in the same order.
func TestReplayMatchesReference(t *testing.T) {
	dir, _ := testCorpus(t)
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	files := logFiles(t, dir)
	day := time.Date(2024, 5, 2, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		flags []string
		sc    scope
	}{
		{"all", nil, scope{}},
		{"an account", []string{"--account", "210987654321"}, scope{account: "210987654321"}},
		{"a region", []string{"--region", "eu-west-1"}, scope{region: "eu-west-1"}},
		// Events before midnight are delivered in files under the next day's folder.
		{"since the evening", []string{"--since", "2024-05-02T20:50:00Z"}, scope{since: day.Add(20*time.Hour + 50*time.Minute)}},
		{"until the morning", []string{"--until", "2024-05-02T03:30:00Z"}, scope{until: day.Add(3*time.Hour + 30*time.Minute)}},
		{"a day", []string{"--since", "2024-05-02", "--until", "2024-05-03"}, scope{since: day, until: day.AddDate(0, 0, 1)}},
		{"a window in one account and region", []string{"--since", "2024-05-02T06:00:00Z", "--until", "2024-05-02T18:00:00Z",
			"--account", "123456789012", "--region", "us-east-1"},
			scope{since: day.Add(6 * time.Hour), until: day.Add(18 * time.Hour), account: "123456789012", region: "us-east-1"}},
		{"nothing", []string{"--since", "2030-01-01"}, scope{since: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := reference(t, files, tc.sc)
			if tc.name != "nothing" && want == "" {
				t.Fatal("the reference finds nothing: the case tests nothing")
			}
			for _, jobs := range []string{"1", "3"} {
				r := runCLI(t, "", append([]string{"replay", "--output", "jsonl", "--jobs", jobs, dir}, tc.flags...)...)
				if r.err != nil {
					t.Fatalf("replay --jobs %s: %v\n%s", jobs, r.err, r.stderr)
				}
				if r.stdout != want {
					t.Errorf("replay --jobs %s differs from the reference:\n%s", jobs, firstDiff(r.stdout, want))
				}
			}
		})
	}
}

func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range max(len(g), len(w)) {
		var a, b string
		if i < len(g) {
			a = g[i]
		}
		if i < len(w) {
			b = w[i]
		}
		if a != b {
			return fmt.Sprintf("line %d (of %d, want %d):\n got  %.300s\n want %.300s", i+1, len(g), len(w), a, b)
		}
	}
	return "(same)"
}

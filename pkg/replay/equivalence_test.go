package replay

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/iam-watchdog/iam-watchdog/internal/corpus"
	"github.com/iam-watchdog/iam-watchdog/internal/textdiff"
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
func reference(t *testing.T, files []string, sc Scope) string {
	t.Helper()
	p := dryRun()
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
			if !sc.Keeps(rec) {
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

// TestReplayMatchesReference replays the generated archive with several job counts and scopes:
// its JSON Lines are byte for byte those of the slow reference, in the same order.
func TestReplayMatchesReference(t *testing.T) {
	dir, _ := testCorpus(t)
	files := logFiles(t, dir)
	day := time.Date(2024, 5, 2, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		sc   Scope
	}{
		{"all", Scope{}},
		{"an account", Scope{Account: "210987654321"}},
		{"a region", Scope{Region: "eu-west-1"}},
		// Events before midnight are delivered in files under the next day's folder.
		{"since the evening", Scope{Since: day.Add(20*time.Hour + 50*time.Minute)}},
		{"until the morning", Scope{Until: day.Add(3*time.Hour + 30*time.Minute)}},
		{"a day", Scope{Since: day, Until: day.AddDate(0, 0, 1)}},
		{"a window in one account and region",
			Scope{Since: day.Add(6 * time.Hour), Until: day.Add(18 * time.Hour), Account: "123456789012", Region: "us-east-1"}},
		{"nothing", Scope{Since: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := reference(t, files, tc.sc)
			if tc.name != "nothing" && want == "" {
				t.Fatal("the reference finds nothing: the case tests nothing")
			}
			for _, jobs := range []int{1, 3} {
				r := replayJSONL(t, []Source{Path(dir)}, jobs, tc.sc)
				// Nothing in the scope is said, and is no other problem (TestNoLogFiles).
				if tc.name == "nothing" && len(r.problems) == 1 && strings.Contains(r.problems[0], "no log files under "+dir+" in the scope") {
					r.problems = nil
				}
				if len(r.problems) != 0 {
					t.Fatalf("replay with %d jobs: %v", jobs, r.problems)
				}
				if r.out != want {
					t.Errorf("replay with %d jobs differs from the reference:\n%s", jobs, textdiff.First(r.out, want))
				}
			}
		})
	}
}

package replay

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNoLogFiles: a directory holding no log file (none at all, or none in the scope) is said
// as such, is not counted as an input, unreadable or not, and fails a replay only when nothing
// else was read (issue 17, point 4).
func TestNoLogFiles(t *testing.T) {
	root := t.TempDir()
	mkdir := func(name string, files ...string) string {
		dir := filepath.Join(root, name)
		for _, f := range append(files, "") {
			p := filepath.Join(dir, filepath.FromSlash(f))
			if f == "" {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				continue
			}
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(`{"Records":[]}`), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	empty := mkdir("empty")
	notes := mkdir("notes", "README.txt", "deep/notes.md", "CloudTrail-Digest/x.json")
	logs := mkdir("logs", "a.json")
	archive := mkdir("archive", "AWSLogs/123456789012/CloudTrail/us-east-1/2024/05/01/x.json.gz")
	may2030, err := ParseScope("2030-05-01", "", "", "")
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name          string
		paths         []string
		scope         Scope
		wantProblems  []string // each in a problem, in order
		inputs, empty int
		wantErr       error
	}{
		{name: "empty directory", paths: []string{empty}, wantProblems: []string{"no log files under " + empty + " (*.json"}, empty: 1, wantErr: ErrSomeInputs},
		{name: "no log file, digests passed over", paths: []string{notes}, wantProblems: []string{"no log files under " + notes}, empty: 1, wantErr: ErrSomeInputs},
		{name: "beside a directory that has one", paths: []string{empty, logs}, wantProblems: []string{"no log files under " + empty}, inputs: 1, empty: 1},
		{name: "all out of scope", paths: []string{archive}, scope: may2030,
			wantProblems: []string{"no log files under " + archive + " in the scope (--since, --until, --account, --region): 1 out of it"}, empty: 1, wantErr: ErrSomeInputs},
		{name: "in scope", paths: []string{archive}, inputs: 1},
		{name: "a file named is read whatever its name", paths: []string{filepath.Join(notes, "README.txt")}, inputs: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sources := make([]Source, len(tc.paths))
			for i, p := range tc.paths {
				sources[i] = Path(p)
			}
			for _, jobs := range []int{1, 3} {
				r := replayJSONL(t, sources, jobs, tc.scope)
				s := r.summary
				if s.Inputs != tc.inputs || s.Empty != tc.empty {
					t.Errorf("jobs %d: %d inputs, %d empty; want %d, %d", jobs, s.Inputs, s.Empty, tc.inputs, tc.empty)
				}
				if !errors.Is(s.Err(), tc.wantErr) || (tc.wantErr == nil && s.Err() != nil) {
					t.Errorf("jobs %d: Err() = %v, want %v", jobs, s.Err(), tc.wantErr)
				}
				if tc.empty > 0 && s.Unreadable != 0 {
					t.Errorf("jobs %d: a directory with no log files counted unreadable: %v", jobs, s.UnreadableNames)
				}
				if len(tc.wantProblems) > 0 && len(r.problems) != len(tc.wantProblems) {
					t.Fatalf("jobs %d: problems %q, want %q", jobs, r.problems, tc.wantProblems)
				}
				for i, want := range tc.wantProblems {
					if !strings.Contains(r.problems[i], want) {
						t.Errorf("jobs %d: problem %q, want it to say %q", jobs, r.problems[i], want)
					}
				}
			}
		})
	}
}

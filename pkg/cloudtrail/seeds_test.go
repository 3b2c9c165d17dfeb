package cloudtrail

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The fuzz targets' seeds are also their committed seed corpus (testdata/fuzz/<target>/, in the
// go test fuzz v1 format): go test ./pkg/cloudtrail/ -run Fuzz -write-seeds writes them. A seed
// whose file is there is not added again; inputs the fuzzer finds are kept beside them.
var writeSeeds = flag.Bool("write-seeds", false, "write each fuzz target's seeds to testdata/fuzz/<target>/")

// seed is one input of a fuzz target's seed corpus, named for where it comes from.
type seed struct {
	name string
	data []byte
}

// addSeeds adds seeds to f, or with -write-seeds writes them into f's seed corpus.
func addSeeds(f *testing.F, seeds []seed) {
	f.Helper()
	dir := filepath.Join("testdata", "fuzz", f.Name())
	if *writeSeeds {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			f.Fatal(err)
		}
	}
	names := map[string]bool{}
	for _, s := range seeds {
		if names[s.name] {
			f.Fatalf("two seeds named %s", s.name)
		}
		names[s.name] = true
		path := filepath.Join(dir, s.name)
		if *writeSeeds {
			if err := os.WriteFile(path, fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", s.data), 0o644); err != nil {
				f.Fatal(err)
			}
		}
		if _, err := os.Stat(path); err != nil {
			f.Add(s.data)
		}
	}
}

// seedsOf names each of inputs prefix-N.
func seedsOf(prefix string, inputs ...string) []seed {
	out := make([]seed, len(inputs))
	for i, s := range inputs {
		out[i] = seed{fmt.Sprintf("%s-%02d", prefix, i), []byte(s)}
	}
	return out
}

// namedSeeds names each input of a map prefix-<its key>.
func namedSeeds(prefix string, inputs map[string]string, maxLen int) []seed {
	var out []seed
	for name, s := range inputs {
		if len(s) <= maxLen {
			out = append(out, seed{prefix + "-" + slug(name), []byte(s)})
		}
	}
	return out
}

// slug makes a file name of a test case's name.
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, c := range strings.ToLower(s) {
		if 'a' <= c && c <= 'z' || '0' <= c && c <= '9' {
			b.WriteRune(c)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}

// sharedEventSeeds returns the JSON fixtures under events-testdata, which other packages and
// `sam local invoke` share, named event-<category>-<file>. The directory may be absent or
// being written: what cannot be read is skipped.
func sharedEventSeeds(tb testing.TB) []seed {
	tb.Helper()
	var events []seed
	root := filepath.Join("..", "..", "events-testdata")
	filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json") {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		if data, err := os.ReadFile(path); err == nil && len(data) < 1<<20 {
			events = append(events, seed{"event-" + slug(strings.TrimSuffix(rel, ".json")), data})
		}
		return nil
	})
	return events
}

// sharedEvents is sharedEventSeeds' data.
func sharedEvents(tb testing.TB) [][]byte {
	var out [][]byte
	for _, s := range sharedEventSeeds(tb) {
		out = append(out, s.data)
	}
	return out
}

// sharedLogFiles gathers the records of the shared events, compacted, into one-line log files
// (one per category, and one of them all) as CloudTrail writes them to S3: the Scanner's fast
// path on real records.
func sharedLogFiles(tb testing.TB) []seed {
	tb.Helper()
	byCategory := map[string][]string{}
	var all []string
	for _, s := range sharedEventSeeds(tb) {
		var ev struct {
			Detail json.RawMessage `json:"detail"`
		}
		var b bytes.Buffer
		if json.Unmarshal(s.data, &ev) != nil || len(ev.Detail) == 0 || json.Compact(&b, ev.Detail) != nil {
			continue
		}
		category, _, _ := strings.Cut(strings.TrimPrefix(s.name, "event-"), "-alert")
		category, _, _ = strings.Cut(category, "-quiet")
		byCategory[category] = append(byCategory[category], b.String())
		all = append(all, b.String())
	}
	var out []seed
	for category, recs := range byCategory {
		out = append(out, seed{"logfile-" + category, []byte(logFile(recs...))})
	}
	if len(all) > 0 {
		out = append(out, seed{"logfile-all-events", []byte(logFile(all...))})
	}
	return out
}

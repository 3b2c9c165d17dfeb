package main

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
)

// readmeSection is the README's text from the line heading through the next heading of the
// same level or above.
func readmeSection(t *testing.T, heading string) string {
	t.Helper()
	s := string(readFile(t, "../../README.md"))
	i := strings.Index(s, "\n"+heading+"\n")
	if i < 0 {
		t.Fatalf("README has no %q", heading)
	}
	s = s[i+len(heading)+2:]
	level := heading[:strings.IndexByte(heading, ' ')+1]
	for _, h := range []string{"\n" + level, "\n## "} {
		if j := strings.Index(s, h); j >= 0 {
			s = s[:j]
		}
	}
	return s
}

// firstBlock is the first fenced block of a README section.
func firstBlock(t *testing.T, section string) string {
	t.Helper()
	_, rest, ok := strings.Cut(section, "```")
	block, _, ok2 := strings.Cut(rest, "\n```")
	if !ok || !ok2 {
		t.Fatal("no fenced block")
	}
	return block[strings.IndexByte(block, '\n')+1:]
}

var flagName = regexp.MustCompile(`--[a-z][a-z-]*`)

// TestREADMESynopsis: the README's synopsis names every command and, for each, exactly the
// flags the command parses (issue 17, point 8).
func TestREADMESynopsis(t *testing.T) {
	listed := map[string][]string{}
	var cmd string
	for _, l := range strings.Split(firstBlock(t, readmeSection(t, "## The CLI")), "\n") {
		l, _, _ = strings.Cut(l, "#")
		if f := strings.Fields(l); len(f) > 1 && f[0] == "watchdog" {
			cmd = f[1]
			listed[cmd] = []string{}
		} else if !strings.HasPrefix(l, " ") {
			cmd = ""
		}
		if cmd != "" {
			listed[cmd] = append(listed[cmd], flagName.FindAllString(l, -1)...)
		}
	}
	for name := range commands {
		var want []string
		flagsOf(t, name).VisitAll(func(f *flag.Flag) { want = append(want, "--"+f.Name) })
		got, ok := listed[name]
		slices.Sort(got)
		got = slices.Compact(got)
		if !ok || !slices.Equal(got, want) {
			t.Errorf("README's synopsis of watchdog %s has flags %v, want %v", name, got, want)
		}
	}
	for name := range listed {
		if commands[name] == nil && name != "help" {
			t.Errorf("README's synopsis names a command watchdog %s that does not exist", name)
		}
	}
}

// TestREADMELayout: the README's Layout names every top-level folder but the ignored ones, and
// every package folder under cmd/, functions/, internal/ and pkg/.
func TestREADMELayout(t *testing.T) {
	listed := map[string]bool{}
	for _, l := range strings.Split(firstBlock(t, readmeSection(t, "## Layout")), "\n") {
		if f := strings.Fields(l); len(f) > 0 {
			listed[strings.TrimSuffix(f[0], "/")] = true
		}
	}
	ignored := map[string]bool{".git": true}
	for _, l := range strings.Split(string(readFile(t, "../../.gitignore")), "\n") {
		if name, ok := strings.CutPrefix(strings.TrimSuffix(l, "/"), "/"); ok {
			ignored[name] = true
		}
	}
	var want []string
	top, err := os.ReadDir("../..")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range top {
		if e.IsDir() && !ignored[e.Name()] {
			want = append(want, e.Name())
		}
	}
	for _, parent := range []string{"cmd", "functions", "internal", "pkg"} {
		entries, err := os.ReadDir(filepath.Join("../..", parent))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.IsDir() {
				want = append(want, parent+"/"+e.Name())
			}
		}
	}
	for _, dir := range want {
		if !listed[dir] && !slices.ContainsFunc([]string{"cmd", "functions", "internal", "pkg"}, func(p string) bool { return dir == p }) {
			t.Errorf("README's Layout does not list %s/", dir)
		}
	}
}

// cisRange expands "4.5, 4.8" and "4.11–4.14" into the controls they name.
func cisRange(t *testing.T, cell string) []string {
	var ids []string
	for _, part := range strings.Split(cell, ",") {
		part = strings.TrimSpace(part)
		from, to, isRange := strings.Cut(part, "–")
		if !isRange {
			if part != "" {
				ids = append(ids, part)
			}
			continue
		}
		sec, a, _ := strings.Cut(from, ".")
		_, b, _ := strings.Cut(to, ".")
		lo, err1 := strconv.Atoi(a)
		hi, err2 := strconv.Atoi(b)
		if err1 != nil || err2 != nil {
			t.Fatalf("CIS cell %q", cell)
		}
		for i := lo; i <= hi; i++ {
			ids = append(ids, sec+"."+strconv.Itoa(i))
		}
	}
	return ids
}

// TestREADMECategoryCIS: the README's category table gives each category (or group of
// categories) the CIS controls its rules implement, as `watchdog rules` says, and lists every
// category.
func TestREADMECategoryCIS(t *testing.T) {
	byCategory := map[string][]string{}
	for _, r := range detect.Rules() {
		byCategory[r.Category] = append(byCategory[r.Category], r.CIS...)
	}
	seen := map[string]bool{}
	name := regexp.MustCompile("`([a-z0-9_]+)`")
	for _, l := range strings.Split(readmeSection(t, "### Rules, categories and severity"), "\n") {
		cells := strings.Split(strings.Trim(l, "|"), "|")
		if !strings.HasPrefix(l, "| `") || len(cells) < 3 {
			continue
		}
		var want []string
		for _, m := range name.FindAllStringSubmatch(cells[0], -1) {
			seen[m[1]] = true
			want = append(want, byCategory[m[1]]...)
		}
		got := cisRange(t, cells[len(cells)-1])
		slices.Sort(want)
		slices.Sort(got)
		if want = slices.Compact(want); !slices.Equal(got, want) {
			t.Errorf("README gives %s CIS %v; the rules say %v", strings.TrimSpace(cells[0]), got, want)
		}
	}
	for c := range byCategory {
		if !seen[c] {
			t.Errorf("README's category table does not list %s", c)
		}
	}
}

// TestQuietUnderDefaultConfig: replaying events-testdata/ with no config alerts on no quiet-
// file but the watchdog's own calls, which only the deployment's config (its role ARN) makes
// its own; events-testdata/README.md says which (issue 17, point 8). With the deployment's
// config none alerts (TestReplayJSONLContract).
func TestQuietUnderDefaultConfig(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	r := mustRun(t, "replay", "--output", "jsonl", eventsDir)
	var loud []string
	for _, rw := range parseRows(t, r.stdout) {
		file := strings.TrimSuffix(strings.TrimPrefix(rw.Source, eventsDir+"/"), ":1")
		if strings.HasPrefix(filepath.Base(file), "quiet-") {
			loud = append(loud, file)
		}
	}
	slices.Sort(loud)
	want := []string{"cloudtrail_tampering/quiet-own-watchdog-restart-logging.json", "user_policy_attached/quiet-own-watchdog-quarantine.json"}
	if !slices.Equal(loud, want) {
		t.Errorf("quiet- files alerting under the default config: %v, want only the watchdog's own calls %v", loud, want)
	}
	readme := strings.Join(strings.Fields(string(readFile(t, filepath.Join(eventsDir, "README.md")))), " ")
	for _, f := range want {
		if name := strings.TrimSuffix(filepath.Base(f), ".json"); !strings.Contains(readme, "`"+name+"`") {
			t.Errorf("events-testdata/README.md does not name %s as alerting under the default config", name)
		}
	}
	if !strings.Contains(readme, "must not alert under the deployment's config") {
		t.Error("events-testdata/README.md does not say under which config quiet- files are quiet")
	}
}

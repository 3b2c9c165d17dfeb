package policy_test

import (
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/policy"
)

// FuzzParseConfig feeds arbitrary bytes to Parse, the reader of the one file that configures
// the Lambda and the CLI. Whatever the input, nothing panics, and Parse either refuses it with
// an error of its own or returns a configuration that validates, with a known mode for every
// rule: a config that parses is one the watchdog can run with.
//
//	go test ./pkg/policy/ -run '^$' -fuzz FuzzParseConfig -fuzztime 1m
func FuzzParseConfig(f *testing.F) {
	example, err := os.ReadFile(filepath.Join("..", "..", "config", "watchdog.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		string(example), fullConfig, "", "---\n", "~", "mode: off\n", "mode: auto\n", "mode: [auto\n", "- mode: auto\n",
		"mode: .nan\n", "mode: !!float NaN\n", "mode: 7\n", "rules: 7\n", "rules: [a, b]\n", "allow: {actors: 1}\n",
		"rules:\n  access-key-created: {mode: approve, severity: critical, enabled: false}\n",
		"rules:\n  access-key-created:\n    severity: {a: 1}\n", "slack:\n  flood_window: 25h\n", "slack:\n  flood_window: -1s\n",
		"slack:\n  approvers: [U0123ABCDEF]\n  approver_groups: [S0123ABC]\n", "admin_groups: ['bad group!']\n",
		"a: &x [1, 2]\nb: *x\n", "mode: &m auto\nrules:\n  access-key-created: {mode: *m}\n",
		// Alias expansion (a billion laughs) and nesting; TestParseConfigHostile goes deeper. Seeds
		// stay small: the fuzzer minimises what it finds by running it thousands of times.
		"a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n",
		"allow: " + strings.Repeat("[", 200) + strings.Repeat("]", 200) + "\n",
		"mode: \xff\xfe\n", "\x00\x01\x02", "mode: dry-run\n\tbad: tab\n",
	} {
		f.Add([]byte(s))
	}
	rules := detect.Rules()
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := policy.Parse(data)
		if err != nil {
			if msg := err.Error(); msg == "" || strings.HasPrefix(msg, "yaml: ") {
				t.Fatalf("error %q is empty or keeps the library's prefix", msg)
			}
			return
		}
		if err := c.Validate(rules); err != nil {
			t.Fatalf("Parse accepted a config that does not validate: %v\n%q", err, data)
		}
		for _, r := range rules {
			if _, err := policy.ParseMode(string(c.ModeFor(r.ID))); err != nil {
				t.Fatalf("rule %s: mode %q after Parse accepted %q", r.ID, c.ModeFor(r.ID), data)
			}
		}
	})
}

// TestParseConfigHostile reads configs no one should write: each is refused with an error, and
// memory stays bounded (measured as bytes allocated, not time, so the check is not flaky).
func TestParseConfigHostile(t *testing.T) {
	laughs := "a: &a [x,x,x,x,x,x,x,x,x]\n"
	for i, name := range []string{"b", "c", "d", "e", "f", "g", "h"} {
		prev := string(rune('a' + i))
		laughs += name + ": &" + name + " [" + strings.Repeat("*"+prev+",", 8) + "*" + prev + "]\n"
	}
	longKey := "? " + strings.Repeat("k", 1<<20) + "\n: {"
	for i := range 2000 {
		longKey += "e" + strconv.Itoa(i) + ": 1, "
	}
	longKey += "}\n"
	for _, tc := range []struct {
		name     string
		doc      string
		maxAlloc uint64
		errHas   string // in the error, if set
	}{
		{"nesting past YAML's depth limit", "allow: " + strings.Repeat("[", 300000) + "\n", 64 << 20, ""},
		{"alias expansion (a billion laughs) under a known key", strings.Replace(laughs, "h:", "self_role_arns:", 1), 16 << 20, ""},
		{"alias expansion under unknown keys", laughs, 16 << 20, ""},
		{"NaN as a mode", "mode: .nan\n", 1 << 20, ""},
		{"a map where a list goes", "allow:\n  actors: {a: b}\n", 1 << 20, ""},
		{"a number for the rules", "rules: 12\n", 1 << 20, ""},
		{"invalid UTF-8", "mode: \xff\xfe\n", 1 << 20, ""},
		{"binary junk", "\x00\x01\x02\x1f\x8b\x08", 1 << 20, ""},
		{"truncated flow mapping", "rules: {access-key-created: {mode: auto", 1 << 20, ""},
		// Refused at the 64th list (the 65th level, with the document's mapping), before the key
		// paths are built: they once took memory growing with the square of the depth (160 MB
		// for this 20 KB file).
		{"nesting just under YAML's depth limit", "allow: " + strings.Repeat("[", 9999) + strings.Repeat("]", 9999) + "\n", 32 << 20,
			"line 1: allow: lists and mappings nested more than 64 deep (column 71)"},
		// Paths naming the keys of errors are built for the lines of errors alone; building
		// every path copied this key 2,000 times (2 GB), and suggesting a near key copied it for
		// each known key (220 MB). What remains (about 20 MB) is the YAML library reading the
		// key; the error quotes only its start.
		{"a 1 MB key over 2,000 entries", longKey, 32 << 20, `line 1: unknown key "` + strings.Repeat("k", 64) + `"…`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := policy.Parse([]byte(tc.doc))
			runtime.ReadMemStats(&after)
			if err == nil {
				t.Fatal("parsed without error")
			}
			if !strings.Contains(err.Error(), tc.errHas) {
				t.Errorf("error %q does not say %q", err, tc.errHas)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > tc.maxAlloc {
				t.Errorf("allocated %d MB reading %d bytes, bound %d MB", alloc>>20, len(tc.doc), tc.maxAlloc>>20)
			}
		})
	}
}

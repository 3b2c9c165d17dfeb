package main

import (
	"path"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigErrorWords: through the CLI, a bad config is refused in the config's own words with
// FILE:LINE (issue 17.7), before any input is read, and exits 1 as every config error does (a
// usage error, exit 2, is a wrong flag or argument, not a wrong file).
func TestConfigErrorWords(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, yaml string
		want       []string // the error's lines after FILE
	}{
		{"misspelt key and rule",
			"# watchdog\nmode: dry-run\nrules:\n  root-sigin:\n    mode: auto\n  root-console-signin:\n    mdoe: auto\n",
			[]string{
				`:4: rules: unknown rule "root-sigin" (did you mean "root-console-signin"?)`,
				`:7: rules.root-console-signin: unknown key "mdoe" (did you mean "mode"?)`,
			}},
		{"syntax error on line 5",
			"mode: auto\nrules:\n  access-key-created:\n    mode: auto\n   severity: high\n",
			[]string{":5: not valid YAML: a line is not indented as the keys around it (or a list item stands among keys)"}},
		{"a number for a mode",
			"slack:\n  approvers: [U0123ABCD]\nmode: 3\n",
			[]string{`:3: mode: unknown mode "3" (want off, dry-run, auto or approve)`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := writeFile(t, dir, strings.ReplaceAll(tc.name, " ", "-")+".yaml", []byte(tc.yaml))
			var want []string
			for _, w := range tc.want {
				want = append(want, cfg+w)
			}
			for _, args := range [][]string{
				{"replay", "--config", cfg, "--output", "jsonl", path.Join(eventsDir, rootNoMFA)},
				{"noise", "--config", cfg, path.Join(eventsDir, rootNoMFA)},
				{"audit", "--config", cfg, "--output", "jsonl"},
				{"undo", "--config", cfg, "--state", filepath.Join(t.TempDir(), "state.json"), "some-event"},
			} {
				r := runCLI(t, "", args...)
				if got := exitOf(r.err); got != 1 {
					t.Errorf("%s: exit %d (%v), want 1", args[0], got, r.err)
				}
				if r.err == nil {
					continue
				}
				if got := r.err.Error(); got != strings.Join(want, "\n") {
					t.Errorf("%s: error\n%s\nwant\n%s", args[0], got, strings.Join(want, "\n"))
				}
				if r.stdout != "" {
					t.Errorf("%s: printed before refusing the config:\n%s", args[0], r.stdout)
				}
			}
		})
	}
}

package main

import (
	"errors"
	"path"
	"path/filepath"
	"strings"
	"testing"
)

// configErrors are config files that must be refused with an error naming the key.
var configErrors = []struct {
	name, yaml string
	want       []string // in the error
}{
	{"unknown key", "bogus: 1\n", []string{"bogus"}},
	{"unknown nested key", "allow:\n  target: [arn:aws:iam::123456789012:user/bob]\n", []string{`:2: allow: unknown key "target" (did you mean "targets"?)`}},
	{"bad mode", "mode: banana\n", []string{"mode", "banana"}},
	{"bad mode for a rule", "rules:\n  access-key-created:\n    mode: sometimes\n", []string{"rules.access-key-created.mode", "sometimes"}},
	{"bad severity for a rule", "rules:\n  access-key-created:\n    severity: extreme\n", []string{"rules.access-key-created.severity", "extreme"}},
	{"non-ARN in allow.actors", "allow:\n  actors: [\"arn:aws:iam::123456789012:user/ok\", bob]\n", []string{"allow.actors[1]", "bob"}},
	{"non-ARN in a rule's allow.targets", "rules:\n  access-key-created:\n    allow:\n      targets: [ci-deployer]\n", []string{"rules.access-key-created.allow.targets[0]", "ci-deployer"}},
	{"non-ARN in self_role_arns", "self_role_arns: [iam-watchdog-role]\n", []string{"self_role_arns[0]", "iam-watchdog-role"}},
	{"unknown rule id", "rules:\n  no-such-rule:\n    mode: auto\n", []string{`:2: rules: unknown rule "no-such-rule"`}},
	{"not YAML", "mode: [auto\n", []string{":1: not valid YAML"}},
}

// TestConfigErrors: a bad config stops the run before any input is read, with an error (exit
// 1, not a usage error) that names the file and the key.
func TestConfigErrors(t *testing.T) {
	good := path.Join(eventsDir, rootNoMFA)
	for _, tc := range configErrors {
		t.Run(tc.name, func(t *testing.T) {
			cfg := writeFile(t, t.TempDir(), "watchdog.yaml", []byte(tc.yaml))
			for _, args := range [][]string{
				{"replay", "--config", cfg, "--output", "jsonl", good},
				{"replay", "--config", cfg, "--mode", "auto", "--output", "jsonl", good},
				{"undo", "--config", cfg, "--state", filepath.Join(t.TempDir(), "state.json"), "some-event"},
			} {
				r := runCLI(t, "", args...)
				if r.err == nil {
					t.Fatalf("%s: accepted the config:\n%s", args[0], tc.yaml)
				}
				if isUsage(r.err) || errors.Is(r.err, errSomeInputs) {
					t.Errorf("%s: %v is a usage or input error, want a plain error (exit 1)", args[0], r.err)
				}
				msg := r.err.Error()
				for _, w := range append([]string{cfg}, tc.want...) {
					if !strings.Contains(msg, w) {
						t.Errorf("%s: error %q does not name %q", args[0], msg, w)
					}
				}
				if r.stdout != "" {
					t.Errorf("%s: printed before refusing the config:\n%s", args[0], r.stdout)
				}
			}
		})
	}

	t.Run("missing file", func(t *testing.T) {
		missing := filepath.Join(t.TempDir(), "nope.yaml")
		r := runCLI(t, "", "replay", "--config", missing, good)
		if r.err == nil || isUsage(r.err) || !strings.Contains(r.err.Error(), missing) {
			t.Errorf("replay --config %s = %v, want an error naming the file", missing, r.err)
		}
	})
}

package policy_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/policy"
)

const (
	account       = "123456789012"
	selfRole      = "arn:aws:iam::" + account + ":role/iam-watchdog-WatchdogRole"
	deployerRole  = "arn:aws:iam::" + account + ":role/terraform-deployer"
	quarantineARN = "arn:aws:iam::" + account + ":policy/iam-watchdog-Quarantine"
)

func userARN(name string) string { return "arn:aws:iam::" + account + ":user/" + name }

const fullConfig = `
mode: auto
quarantine_policy_arn: arn:aws:iam::123456789012:policy/iam-watchdog-Quarantine
state_key_arn: arn:aws:kms:us-east-1:123456789012:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0
self_role_arns:
  - arn:aws:iam::123456789012:role/iam-watchdog-WatchdogRole
allow:
  actors:
    - arn:aws:iam::123456789012:role/terraform-deployer
  targets:
    - arn:aws:iam::123456789012:user/break-glass
rules:
  access-key-created:
    enabled: true
    mode: approve
    severity: critical
    allow:
      actors: [arn:aws:iam::123456789012:user/key-rotator]
      targets: [arn:aws:iam::123456789012:user/ci-deployer]
  virtual-mfa-deleted:
    enabled: false
  cloudtrail-logging-stopped:
    mode: "off"
`

func TestParseFull(t *testing.T) {
	c, err := policy.Parse([]byte(fullConfig))
	if err != nil {
		t.Fatal(err)
	}
	yes, no, critical := true, false, detect.Critical
	want := policy.Config{
		Mode:                policy.Auto,
		QuarantinePolicyARN: quarantineARN,
		StateKeyARN:         "arn:aws:kms:us-east-1:123456789012:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
		SelfRoleARNs:        []string{selfRole},
		Allow:               policy.Allowlist{Actors: []string{deployerRole}, Targets: []string{userARN("break-glass")}},
		Rules: map[string]policy.RuleConfig{
			"access-key-created": {
				Enabled: &yes, Mode: policy.Approve, Severity: &critical,
				Allow: policy.Allowlist{Actors: []string{userARN("key-rotator")}, Targets: []string{userARN("ci-deployer")}},
			},
			"virtual-mfa-deleted":        {Enabled: &no},
			"cloudtrail-logging-stopped": {Mode: policy.Off},
		},
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("parsed\n%+v\nwant\n%+v", c, want)
	}
	for rule, mode := range map[string]policy.Mode{
		"access-key-created":           policy.Approve,
		"cloudtrail-logging-stopped":   policy.Off,
		"user-managed-policy-attached": policy.Auto, // no override: the global mode
	} {
		if got := c.ModeFor(rule); got != mode {
			t.Errorf("ModeFor(%s) = %s, want %s", rule, got, mode)
		}
	}
}

// YAML 1.1 reads a bare off as false; a mode must still come out as the mode "off".
func TestParseBareOff(t *testing.T) {
	c, err := policy.Parse([]byte("mode: off\nrules:\n  access-key-created:\n    mode: off\n    enabled: yes\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Mode != policy.Off || c.ModeFor("access-key-created") != policy.Off {
		t.Fatalf("mode %q, rule mode %q: want off", c.Mode, c.ModeFor("access-key-created"))
	}
}

func TestParseDefaults(t *testing.T) {
	for name, doc := range map[string]string{
		"empty":         "",
		"blank lines":   "\n\n",
		"only comments": "# nothing to configure yet\n",
		"null mode":     "mode:\n",
	} {
		t.Run(name, func(t *testing.T) {
			c, err := policy.Parse([]byte(doc))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(c, policy.Default()) {
				t.Fatalf("got %+v, want the default %+v", c, policy.Default())
			}
			if c.Mode != policy.DryRun || c.ModeFor("access-key-created") != policy.DryRun {
				t.Fatalf("default mode %q, want dry-run", c.Mode)
			}
		})
	}
}

// TestParseErrors checks that every rejected document names what is wrong: the key path,
// and the offending value or key where there is one.
func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		doc  string
		want []string // each must appear in the error text
	}{
		{"unknown top-level key", "mode: auto\nmodes: auto\n", []string{"modes"}},
		{"unknown nested key", "rules:\n  access-key-created:\n    foo: 1\n", []string{`line 3: rules.access-key-created: unknown key "foo"`}},
		{"unknown allow key", "allow:\n  principals: []\n", []string{`line 2: allow: unknown key "principals"`}},
		{"bad global mode", "mode: sometimes\n", []string{"mode", `"sometimes"`}},
		{"bad rule mode", "rules:\n  access-key-created:\n    mode: sometimes\n", []string{"rules.access-key-created.mode", `"sometimes"`}},
		{"bad severity", "rules:\n  mfa-deactivated:\n    severity: huge\n", []string{"rules.mfa-deactivated.severity", `"huge"`}},
		{"numeric severity", "rules:\n  mfa-deactivated:\n    severity: 3\n", []string{"rules.mfa-deactivated.severity", `"3"`}},
		{"mode is a list", "mode: [1, 2]\n", []string{"line 1: mode: want a mode (off, dry-run, auto or approve), not a list"}},
		{"rule mode is a map", "rules:\n  access-key-created:\n    mode: {a: b}\n", []string{"rules.access-key-created.mode"}},
		{"actor not an ARN", "allow:\n  actors: [alice]\n", []string{"allow.actors[0]", `"alice"`}},
		{"target not an ARN", "allow:\n  targets:\n    - arn:aws:iam::123456789012:user/ok\n    - user/bob\n", []string{"allow.targets[1]", `"user/bob"`}},
		{"self role not an ARN", "self_role_arns: [iam-watchdog-WatchdogRole]\n", []string{"self_role_arns[0]", "iam-watchdog-WatchdogRole"}},
		{"quarantine policy not an ARN", "quarantine_policy_arn: DenyWithoutMFA\n", []string{"quarantine_policy_arn", "DenyWithoutMFA"}},
		{"state key an alias", "state_key_arn: arn:aws:kms:us-east-1:123456789012:alias/iam-watchdog\n", []string{"state_key_arn", "alias/iam-watchdog", "not a KMS key ARN"}},
		{"state key a bare ID", "state_key_arn: 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0\n", []string{"state_key_arn", "not a KMS key ARN"}},
		{"rule target not an ARN", "rules:\n  access-key-created:\n    allow:\n      targets: ['*']\n",
			[]string{"rules.access-key-created.allow.targets[0]", `"*"`}},
		{"rule allow actor", "rules:\n  mfa-deactivated:\n    allow:\n      actors: [dave]\n", []string{"rules.mfa-deactivated.allow.actors[0]", `"dave"`}},
		{"unknown rule ID", "rules:\n  access-keys-created:\n    mode: auto\n", []string{`line 2: rules: unknown rule "access-keys-created" (did you mean "access-key-created"?)`}},
		{"actors not a list", "allow:\n  actors: arn:aws:iam::123456789012:user/a\n", []string{"allow.actors"}},
		{"enabled not a bool", "rules:\n  access-key-created:\n    enabled: sometimes\n", []string{"rules.access-key-created.enabled", "sometimes"}},
		{"document is a list", "- mode: auto\n", []string{"line 1: want a mapping"}},
		{"not YAML", "mode: [auto\n", []string{"line"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := policy.Parse([]byte(tc.doc))
			if err == nil {
				t.Fatalf("%q parsed without error", tc.doc)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.HasPrefix(err.Error(), "yaml: ") {
				t.Errorf("error %q keeps the library's prefix", err)
			}
		})
	}
}

// Every problem is reported at once, so a config is fixed in one pass.
func TestParseReportsEveryProblem(t *testing.T) {
	doc := "rules:\n  access-key-created:\n    mode: sometimes\n  mfa-deactivated:\n    severity: huge\n"
	_, err := policy.Parse([]byte(doc))
	if err == nil {
		t.Fatal("parsed without error")
	}
	for _, w := range []string{"rules.access-key-created.mode", "rules.mfa-deactivated.severity"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not name %s", err, w)
		}
	}
	_, err = policy.Parse([]byte("self_role_arns: [a]\nallow:\n  actors: [b]\n  targets: [c]\n"))
	for _, w := range []string{"self_role_arns[0]", "allow.actors[0]", "allow.targets[0]"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error %v does not name %s", err, w)
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "watchdog.yaml")
	if err := os.WriteFile(good, []byte(fullConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := policy.Load(good)
	if err != nil || c.Mode != policy.Auto {
		t.Fatalf("Load: %+v %v", c, err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("mode: sometimes\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := policy.Load(bad); err == nil || !strings.Contains(err.Error(), bad) {
		t.Fatalf("Load of a bad file: error %v does not name the file", err)
	}
	if _, err := policy.Load(filepath.Join(dir, "missing.yaml")); err == nil {
		t.Fatal("Load of a missing file succeeded")
	}
}

// The example config shipped in the repository must stay valid.
func TestExampleConfig(t *testing.T) {
	if _, err := policy.Load("../../config/watchdog.yaml"); err != nil {
		t.Fatal(err)
	}
}

func TestParseMode(t *testing.T) {
	for _, m := range []policy.Mode{policy.Off, policy.DryRun, policy.Auto, policy.Approve} {
		if got, err := policy.ParseMode(string(m)); err != nil || got != m {
			t.Errorf("ParseMode(%q) = %q, %v", m, got, err)
		}
	}
	for _, s := range []string{"", "Auto", "dry_run", "dryrun", " auto"} {
		if _, err := policy.ParseMode(s); err == nil || !strings.Contains(err.Error(), "want off, dry-run, auto or approve") {
			t.Errorf("ParseMode(%q): error %v", s, err)
		}
	}
}

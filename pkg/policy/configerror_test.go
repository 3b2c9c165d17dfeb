package policy_test

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/iam-watchdog/iam-watchdog/pkg/policy"
)

// TestConfigErrorMessages holds the exact words of config errors (issue 17.7): FILE:LINE: KEY:
// what is wrong, in the config's own words, never the decoder's Go types; the line of the key,
// item or value at fault, for every section; the nearest known key or name when one is near.
func TestConfigErrorMessages(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		want      []string // the error's lines, exactly
	}{
		{"misspelt rule key",
			"# watchdog\nmode: dry-run\nrules:\n  access-key-created:\n    mode: auto\n  root-console-signin:\n    mdoe: auto\n",
			[]string{`config.yaml:7: rules.root-console-signin: unknown key "mdoe" (did you mean "mode"?)`}},
		{"misspelt rule ID",
			"mode: dry-run\n\nrules:\n  root-sigin:\n    mode: auto\n",
			[]string{`config.yaml:4: rules: unknown rule "root-sigin" (did you mean "root-console-signin"?)`}},
		{"unknown rule ID, nothing near",
			"rules:\n  no-such-rule: {mode: auto}\n",
			[]string{"config.yaml:2: rules: unknown rule \"no-such-rule\" (see `watchdog rules`)"}},
		{"syntax error on line 5",
			"mode: auto\nrules:\n  access-key-created:\n    mode: auto\n   severity: high\n",
			[]string{"config.yaml:5: not valid YAML: a line is not indented as the keys around it (or a list item stands among keys)"}},
		{"unclosed list",
			"mode: auto\nslack:\n  approvers: [U0123ABCD,\n  flood_window: 5m\n",
			[]string{`config.yaml:4: not valid YAML: a list in [ ] is not closed with "]" (or a comma is missing)`}},
		{"tab in the indentation",
			"mode: auto\nslack:\n  flood_window: 5m\n\tapprovers: []\n",
			[]string{"config.yaml:4: not valid YAML: a tab in the indentation: indent with spaces"}},
		{"a number for a mode",
			"mode: 3\n",
			[]string{`config.yaml:1: mode: unknown mode "3" (want off, dry-run, auto or approve)`}},
		{"a near mode",
			"rules:\n  access-key-created:\n    mode: dryrun\n",
			[]string{`config.yaml:3: rules.access-key-created.mode: unknown mode "dryrun" (want off, dry-run, auto or approve); did you mean "dry-run"?`}},
		{"a list for a mode",
			"mode:\n  - auto\n",
			[]string{"config.yaml:2: mode: want a mode (off, dry-run, auto or approve), not a list"}},
		{"unknown top-level keys",
			"modes: auto\napprovers: [U0123ABCD]\nactors: []\nbogus: 1\n",
			[]string{
				`config.yaml:1: unknown key "modes" (did you mean "mode"?)`,
				`config.yaml:2: unknown key "approvers" (did you mean "slack.approvers"?)`,
				`config.yaml:3: unknown key "actors" (did you mean "allow.actors" or "protect.actors"?)`,
				`config.yaml:4: unknown key "bogus"`,
			}},
		{"allow and protect",
			"allow:\n  actors: arn:aws:iam::123456789012:user/a\nprotect:\n  target: [arn:aws:iam::123456789012:user/b]\n",
			[]string{
				`config.yaml:2: allow.actors: want a list ([a, b] or "- item" lines), not the single value "arn:aws:iam::123456789012:user/a"`,
				`config.yaml:4: protect: unknown key "target" (did you mean "targets"?)`,
			}},
		{"an ARN in a list, located by its item",
			"self_role_arns:\n  - arn:aws:iam::123456789012:role/ok\n  - iam-watchdog\n",
			[]string{`config.yaml:3: self_role_arns[1]: "iam-watchdog" is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME); the watchdog's own calls are known by exact ARNs`}},
		{"slack",
			"slack:\n  flood_widow: 5m\n  immediate_severity: hihg\n  digest_every: weekly\n  channels:\n    urgent: C0ALERTS\n",
			[]string{
				`config.yaml:2: slack: unknown key "flood_widow" (did you mean "flood_window"?)`,
				`config.yaml:3: slack.immediate_severity: unknown severity "hihg" (want info, low, medium, high or critical); did you mean "high"?`,
				`config.yaml:4: slack.digest_every: "weekly" is not hourly, daily or a duration such as 6h`,
				"config.yaml:6: slack.channels.urgent: \"urgent\" is neither a severity (info, low, medium, high, critical) nor a category (see `watchdog rules`)",
			}},
		{"slack durations",
			"slack:\n  flood_window: ten minutes\n",
			[]string{`config.yaml:2: slack.flood_window: "ten minutes" is not a duration (such as 90s, 10m or 1h)`}},
		{"audit",
			"audit:\n  unused_day: 30\n  concurrency: many\n  organization: maybe\n  accounts: ['12345']\n",
			[]string{
				`config.yaml:2: audit: unknown key "unused_day" (did you mean "unused_days"?)`,
				`config.yaml:3: audit.concurrency: "many" is not a whole number`,
				`config.yaml:4: audit.organization: "maybe" is not true or false`,
				`config.yaml:5: audit.accounts[0]: "12345" is not a 12-digit account ID`,
			}},
		{"undo grace",
			"mode: auto\nundo_grace: 2h\n",
			[]string{"config.yaml:2: undo_grace: 2h0m0s is outside 0 (off) to 1h0m0s"}},
		{"undo grace not a duration",
			"undo_grace: 15\n",
			[]string{`config.yaml:1: undo_grace: "15" is not a duration (such as 90s, 10m or 1h)`}},
		{"rule values",
			"rules:\n  unauthorized-api-calls:\n    enabled: sometimes\n    threshold:\n      count: many\n      window: 10s\n",
			[]string{
				`config.yaml:3: rules.unauthorized-api-calls.enabled: "sometimes" is not true or false`,
				`config.yaml:5: rules.unauthorized-api-calls.threshold.count: "many" is not a whole number`,
				"config.yaml:6: rules.unauthorized-api-calls.threshold.window: 10s is outside 1m to 24h",
			}},
		{"single values",
			"member_role_name: [a, b]\nstate_key_arn: {id: x}\n",
			[]string{
				"config.yaml:1: member_role_name: want a single value, not a list",
				"config.yaml:2: state_key_arn: want a single value, not a mapping",
			}},
		{"a key given twice",
			"mode: auto\nslack:\n  approvers: [U0123ABCD]\nmode: dry-run\n",
			[]string{`config.yaml:4: key "mode" is given twice (first on line 1)`}},
		{"a list for the document",
			"- mode: auto\n",
			[]string{`config.yaml:1: want a mapping ("key: value" lines), not a list`}},
		{"a merged mapping's keys",
			"rules:\n  access-key-created: &base\n    mode: approve\n  mfa-deactivated:\n    <<: *base\n    severty: high\n",
			[]string{`config.yaml:6: rules.mfa-deactivated: unknown key "severty" (did you mean "severity"?)`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			if err := os.WriteFile("config.yaml", []byte(tc.doc), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := policy.Load("config.yaml")
			if err == nil {
				t.Fatalf("accepted:\n%s", tc.doc)
			}
			if got, want := err.Error(), strings.Join(tc.want, "\n"); got != want {
				t.Errorf("error\n%s\nwant\n%s", got, want)
			}
			var ce *policy.ConfigError
			if !errors.As(err, &ce) || ce.File != "config.yaml" || ce.Line == 0 {
				t.Errorf("error %v: want a *policy.ConfigError with the file and line, got %+v", err, ce)
			}
			for _, internal := range []string{"policy.", "yaml: ", "!!", "unmarshal", "field "} {
				if strings.Contains(err.Error(), internal) {
					t.Errorf("error %q speaks of Go or the YAML library (%q)", err, internal)
				}
			}
		})
	}
}

// TestValidateWithoutFile: problems of a config built in code (as the Lambda's environment
// overrides are) read KEY: MESSAGE, with no file or line to give.
func TestValidateWithoutFile(t *testing.T) {
	c := policy.Default()
	c.SelfRoleARNs = []string{"watchdog"}
	err := c.Validate(nil)
	if err == nil || !strings.HasPrefix(err.Error(), `self_role_arns[0]: "watchdog" is not an IAM role ARN`) {
		t.Errorf("Validate: %v", err)
	}
}

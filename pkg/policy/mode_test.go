package policy_test

import (
	"strings"
	"testing"
	"time"

	"github.com/iam-watchdog/iam-watchdog/pkg/policy"
)

// TestWithMode: the one rule for a mode given for a whole run (--mode, --dry-run,
// REMEDIATION_MODE): it is the default and the ceiling; a rule's own mode may go less far, never
// further (issue 13, point 6).
func TestWithMode(t *testing.T) {
	// config/watchdog.yaml's shape: dry-run by default, a rule in auto, one in approve, one off.
	base := policy.Config{Mode: policy.DryRun, Rules: map[string]policy.RuleConfig{
		"user-managed-policy-attached": {Mode: policy.Auto},
		"access-key-created":           {Mode: policy.Approve},
		"cloudtrail-logging-stopped":   {Mode: policy.Off},
		"mfa-deactivated":              {Mode: policy.DryRun},
		"root-activity":                {}, // no mode of its own
	}}
	tests := []struct {
		mode policy.Mode
		want map[string]policy.Mode
	}{
		{policy.Off, map[string]policy.Mode{
			"user-managed-policy-attached": policy.Off, "access-key-created": policy.Off,
			"cloudtrail-logging-stopped": policy.Off, "mfa-deactivated": policy.Off, "root-activity": policy.Off, "iam-user-created": policy.Off}},
		{policy.DryRun, map[string]policy.Mode{
			"user-managed-policy-attached": policy.DryRun, "access-key-created": policy.DryRun,
			"cloudtrail-logging-stopped": policy.Off, "mfa-deactivated": policy.DryRun, "root-activity": policy.DryRun, "iam-user-created": policy.DryRun}},
		{policy.Approve, map[string]policy.Mode{
			"user-managed-policy-attached": policy.Approve, "access-key-created": policy.Approve,
			"cloudtrail-logging-stopped": policy.Off, "mfa-deactivated": policy.DryRun, "root-activity": policy.Approve, "iam-user-created": policy.Approve}},
		{policy.Auto, map[string]policy.Mode{
			"user-managed-policy-attached": policy.Auto, "access-key-created": policy.Approve,
			"cloudtrail-logging-stopped": policy.Off, "mfa-deactivated": policy.DryRun, "root-activity": policy.Auto, "iam-user-created": policy.Auto}},
	}
	for _, tc := range tests {
		t.Run(string(tc.mode), func(t *testing.T) {
			c := base.WithMode(tc.mode)
			if c.Mode != tc.mode {
				t.Errorf("default mode %s, want %s", c.Mode, tc.mode)
			}
			for rule, want := range tc.want {
				if got := c.ModeFor(rule); got != want {
					t.Errorf("ModeFor(%s) = %s, want %s", rule, got, want)
				}
			}
		})
	}
	if base.Rules["user-managed-policy-attached"].Mode != policy.Auto || base.Mode != policy.DryRun {
		t.Error("WithMode changed the config it was called on")
	}
}

// TestCapAt: a ceiling with no default of its own lowers what goes further and keeps what goes
// less far, the default mode included (a backtest at dry-run keeps a run's --mode off).
func TestCapAt(t *testing.T) {
	for _, tc := range []struct{ def, rule, wantDef, wantRule policy.Mode }{
		{policy.Auto, policy.Approve, policy.DryRun, policy.DryRun},
		{policy.Approve, policy.Auto, policy.DryRun, policy.DryRun},
		{policy.DryRun, policy.Off, policy.DryRun, policy.Off},
		{policy.Off, policy.DryRun, policy.Off, policy.DryRun},
		{policy.Off, policy.Auto, policy.Off, policy.DryRun},
		{"", policy.Auto, policy.DryRun, policy.DryRun},
	} {
		base := policy.Config{Mode: tc.def, Rules: map[string]policy.RuleConfig{"access-key-created": {Mode: tc.rule}}}
		c := base.CapAt(policy.DryRun)
		if c.Mode != tc.wantDef || c.ModeFor("access-key-created") != tc.wantRule {
			t.Errorf("CapAt(dry-run) of default %q, rule %q = %q, %q; want %q, %q", tc.def, tc.rule, c.Mode, c.ModeFor("access-key-created"), tc.wantDef, tc.wantRule)
		}
		if base.Rules["access-key-created"].Mode != tc.rule {
			t.Error("CapAt changed the config it was called on")
		}
	}
}

func TestUndoGrace(t *testing.T) {
	c, err := policy.Parse([]byte("mode: auto\n"))
	if err != nil || c.UndoGracePeriod() != policy.DefaultUndoGrace || policy.DefaultUndoGrace != 15*time.Minute {
		t.Fatalf("default undo grace %s (%v), want 15m", c.UndoGracePeriod(), err)
	}
	for in, want := range map[string]time.Duration{"5m": 5 * time.Minute, "0s": 0, "1h": time.Hour} {
		c, err := policy.Parse([]byte("undo_grace: " + in + "\n"))
		if err != nil || c.UndoGracePeriod() != want {
			t.Errorf("undo_grace %s: %s, %v; want %s", in, c.UndoGracePeriod(), err, want)
		}
	}
	for in, wantErr := range map[string]string{"-1m": "outside 0 (off) to 1h0m0s", "2h": "outside", "soon": "undo_grace"} {
		if _, err := policy.Parse([]byte("undo_grace: " + in + "\n")); err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("undo_grace %s: %v, want an error containing %q", in, err, wantErr)
		}
	}
}

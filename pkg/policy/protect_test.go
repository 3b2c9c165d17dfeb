package policy_test

import (
	"strings"
	"testing"

	eventstestdata "github.com/iam-watchdog/iam-watchdog/events-testdata"
	"github.com/iam-watchdog/iam-watchdog/pkg/cloudtrail"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/policy"
)

// exampleFinding runs one of the shared example events (AWS-documented shapes) through the
// default detector, with edit applied to its CloudTrail record, and returns its one finding.
func exampleFinding(t *testing.T, name string, edit func(detail map[string]any)) detect.Finding {
	t.Helper()
	if edit == nil {
		edit = func(map[string]any) {}
	}
	raw, err := eventstestdata.Event(name, edit)
	if err != nil {
		t.Fatal(err)
	}
	recs, errs := cloudtrail.Decode(name, raw)
	if len(errs) > 0 || len(recs) != 1 {
		t.Fatalf("%s: %d records, errors %v", name, len(recs), errs)
	}
	fs := detect.Default().Detect(recs[0])
	if len(fs) != 1 {
		t.Fatalf("%s: %d findings, want 1", name, len(fs))
	}
	return fs[0]
}

// actedOnBy makes a record's caller the IAM user name.
func actedOnBy(name string) func(map[string]any) {
	return func(d map[string]any) {
		id := d["userIdentity"].(map[string]any)
		id["arn"], id["userName"] = "arn:aws:iam::123456789012:user/"+name, name
	}
}

// TestProtect holds issue 13, point 5: protect means always alert, never act, and says which
// list held the action back; allow still means neither; user, group and role names in either
// list match in any case, the rest of the ARN exactly. The findings are the detector's, from the
// shared example events: bob creates an access key for ci-deployer, and bob deactivates frank's
// MFA device.
func TestProtect(t *testing.T) {
	const (
		keyEvent = "access_key_created/alert-other-user.json"
		mfaEvent = "mfa_deactivated/alert-deactivate-other-user.json"
	)
	base := func() policy.Config {
		return policy.Config{Mode: policy.Auto, QuarantinePolicyARN: eventstestdata.QuarantinePolicyARN}
	}
	for _, tc := range []struct {
		name   string
		event  string
		edit   func(map[string]any)
		config func(c *policy.Config)
		alert  bool
		act    bool
		reason string
	}{
		{name: "unprotected: acted on", event: keyEvent, config: func(*policy.Config) {}, alert: true, act: true},
		{
			name: "protected target: alerted, not acted on", event: keyEvent,
			config: func(c *policy.Config) { c.Protect.Targets = []string{userARN("ci-deployer")} },
			alert:  true, reason: "target " + userARN("ci-deployer") + " is protected",
		},
		{
			name: "protected target in another case", event: keyEvent,
			config: func(c *policy.Config) { c.Protect.Targets = []string{userARN("CI-Deployer")} },
			alert:  true, reason: "is protected",
		},
		{
			name: "protected actor: alerted, never reverted", event: keyEvent,
			config: func(c *policy.Config) { c.Protect.Actors = []string{userARN("bob")} },
			alert:  true, reason: "actor " + userARN("bob") + " is protected",
		},
		{
			name: "protected actor signing in as BOB", event: keyEvent, edit: actedOnBy("BOB"),
			config: func(c *policy.Config) { c.Protect.Actors = []string{userARN("bob")} },
			alert:  true, reason: "is protected",
		},
		{
			name: "protected actor of another account is not this one", event: keyEvent,
			config: func(c *policy.Config) { c.Protect.Actors = []string{"arn:aws:iam::210987654321:user/bob"} },
			alert:  true, act: true,
		},
		{
			name: "per-rule protect", event: keyEvent,
			config: func(c *policy.Config) {
				c.Rules = map[string]policy.RuleConfig{"access-key-created": {Protect: policy.Allowlist{Targets: []string{userARN("ci-deployer")}}}}
			},
			alert: true, reason: "is protected",
		},
		{
			name: "another rule's protect does not apply", event: keyEvent,
			config: func(c *policy.Config) {
				c.Rules = map[string]policy.RuleConfig{"mfa-deactivated": {Protect: policy.Allowlist{Targets: []string{userARN("ci-deployer")}}}}
			},
			alert: true, act: true,
		},
		{
			name: "protected break-glass user is never quarantined", event: mfaEvent,
			config: func(c *policy.Config) { c.Protect.Targets = []string{userARN("FRANK")} },
			alert:  true, reason: "target " + userARN("frank") + " is protected",
		},
		{
			name: "allow still drops the alert", event: keyEvent,
			config: func(c *policy.Config) { c.Allow.Targets = []string{userARN("ci-deployer")} },
			reason: "is allowlisted",
		},
		{
			name: "allow matches BREAK-GLASS as break-glass", event: keyEvent, edit: eventstestdata.AccessKeyCreated("BREAK-GLASS", "AKIA5BREAKGLASS00001"),
			config: func(c *policy.Config) { c.Allow.Targets = []string{userARN("break-glass")} },
			reason: "is allowlisted",
		},
		{
			name: "allow of a role covers its sessions in any case", event: "access_key_created/alert-assumed-role-for-user.json",
			config: func(c *policy.Config) {
				c.Allow.Actors = []string{"arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/awsreservedsso_administratoraccess_4f1c2d3e5a6b7c8d"}
			},
			reason: "is allowlisted",
		},
		{
			name: "a role's path is compared exactly", event: "access_key_created/alert-assumed-role-for-user.json",
			config: func(c *policy.Config) {
				c.Allow.Actors = []string{"arn:aws:iam::123456789012:role/AWSReservedSSO_AdministratorAccess_4f1c2d3e5a6b7c8d"}
			},
			alert: true, act: true,
		},
		{
			name: "protect holds back even a dry-run plan", event: keyEvent,
			config: func(c *policy.Config) { c.Mode = policy.DryRun; c.Protect.Targets = []string{userARN("ci-deployer")} },
			alert:  true, reason: "is protected",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := base()
			tc.config(&c)
			f := exampleFinding(t, tc.event, tc.edit)
			d := c.Decide(&f)
			if d.Alert != tc.alert || d.Act != tc.act {
				t.Fatalf("Decide = %+v, want alert %v act %v", d, tc.alert, tc.act)
			}
			if !strings.Contains(d.Reason, tc.reason) {
				t.Errorf("reason %q does not contain %q", d.Reason, tc.reason)
			}
		})
	}
}

// TestProtectCoversTheActionsObject: a protected user is never acted on, even when the finding's
// target names them otherwise.
func TestProtectCoversTheActionsObject(t *testing.T) {
	c := policy.Config{Mode: policy.Auto, Protect: policy.Allowlist{Targets: []string{userARN("ci-deployer")}}}
	f := keyFinding()
	f.Target = "" // a rule that names no target
	f.Action.UserName = "ci-deployer"
	if d := c.Decide(&f); !d.Alert || d.Act || !strings.Contains(d.Reason, "protected") {
		t.Fatalf("Decide = %+v: want alerted, not acted on, because the action's user is protected", d)
	}
}

func TestSameARN(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{userARN("break-glass"), userARN("BREAK-GLASS"), true},
		{"arn:aws:iam::123456789012:group/Admins", "arn:aws:iam::123456789012:group/admins", true},
		{"arn:aws:iam::123456789012:role/ops/Deployer", "arn:aws:iam::123456789012:role/ops/deployer", true},
		{"arn:aws:iam::123456789012:role/ops/deployer", "arn:aws:iam::123456789012:role/OPS/deployer", false}, // paths exactly
		{"arn:aws:iam::123456789012:role/ops/deployer", "arn:aws:iam::123456789012:role/deployer", false},
		{userARN("bob"), "arn:aws:iam::210987654321:user/bob", false},
		{userARN("bob"), "arn:aws-us-gov:iam::123456789012:user/bob", false},
		{userARN("bob"), "arn:aws:iam::123456789012:role/bob", false},
		{userARN("bob"), userARN("bobby"), false},
		{"arn:aws:iam::123456789012:policy/Deny", "arn:aws:iam::123456789012:policy/deny", false}, // not a user, group or role
		{"arn:aws:s3:::Bucket", "arn:aws:s3:::bucket", false},
		{"arn:aws:sts::123456789012:assumed-role/Admin/kim", "arn:aws:sts::123456789012:assumed-role/admin/kim", false},
		{"arn:aws:iam::123456789012:root", "arn:aws:iam::123456789012:ROOT", false},
		{"not-an-arn", "NOT-AN-ARN", false},
		{"", "", true},
	} {
		if got := policy.SameARN(tc.a, tc.b); got != tc.want {
			t.Errorf("SameARN(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
		if got := policy.SameARN(tc.b, tc.a); got != tc.want {
			t.Errorf("SameARN(%q, %q) = %v, want %v (not symmetric)", tc.b, tc.a, got, tc.want)
		}
	}
}

// TestParseProtect: the protect block, global and per rule, parses like allow, and its errors
// name their keys.
func TestParseProtect(t *testing.T) {
	c, err := policy.Parse([]byte(`
protect:
  actors: [arn:aws:iam::123456789012:user/break-glass]
  targets: [arn:aws:iam::123456789012:user/break-glass]
rules:
  mfa-deactivated:
    protect:
      targets: [arn:aws:iam::123456789012:user/kiosk]
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Protect.Actors) != 1 || len(c.Protect.Targets) != 1 || len(c.Rules["mfa-deactivated"].Protect.Targets) != 1 {
		t.Fatalf("parsed %+v", c)
	}
	for _, tc := range []struct {
		name, doc string
		want      []string
	}{
		{"actor not an ARN", "protect:\n  actors: [break-glass]\n", []string{"protect.actors[0]", `"break-glass"`}},
		{"rule target not an ARN", "rules:\n  mfa-deactivated:\n    protect:\n      targets: ['*']\n", []string{"rules.mfa-deactivated.protect.targets[0]"}},
		{"unknown protect key", "protect:\n  users: []\n", []string{`line 2: protect: unknown key "users"`}},
		{"both allow and protect", "allow:\n  targets: [arn:aws:iam::123456789012:user/break-glass]\nprotect:\n  targets: [arn:aws:iam::123456789012:user/BREAK-GLASS]\n",
			[]string{"protect.targets[0]", "allow.targets[0]", "one of them"}},
		{"both in one rule", "rules:\n  access-key-created:\n    allow: {actors: [arn:aws:iam::123456789012:user/a]}\n    protect: {actors: [arn:aws:iam::123456789012:user/a]}\n",
			[]string{"rules.access-key-created.protect.actors[0]", "rules.access-key-created.allow.actors[0]"}},
		{"member role name", "member_role_name: 'iam watchdog'\n", []string{"member_role_name", `"iam watchdog"`}},
		{"self role not a role", "self_role_arns: [arn:aws:s3:::bucket]\n", []string{"self_role_arns[0]", "not an IAM role ARN"}},
		{"trail bucket ARN", "trail_buckets: ['arn:aws:s3:::trail-logs']\n", []string{"trail_buckets[0]", "bucket's name"}},
		{"trail bucket name", "trail_buckets: [ok-bucket, Bad_Bucket]\n", []string{"trail_buckets[1]", `"Bad_Bucket"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := policy.Parse([]byte(tc.doc))
			if err == nil {
				t.Fatal("parsed without error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
	ok := "member_role_name: security/iam-watchdog-member\ntrail_buckets: [aws-cloudtrail-logs-123456789012-3f9a1c2e]\nself_role_arns: [arn:aws:iam::123456789012:role/ci/watchdog]\n"
	c, err = policy.Parse([]byte(ok))
	if err != nil {
		t.Fatalf("valid keys refused: %v", err)
	}
	s := c.Detection()
	if s.MemberRoleName != "security/iam-watchdog-member" || len(s.TrailBuckets) != 1 || len(s.SelfRoleARNs) != 1 {
		t.Errorf("Detection() = %+v: the member role, trail buckets and self roles must reach detection", s)
	}
}

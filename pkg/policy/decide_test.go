package policy_test

import (
	"strings"
	"testing"

	"github.com/iam-watchdog/iam-watchdog/pkg/cloudtrail"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/policy"
)

// keyFinding is an access key that alice created for bob, as detect reports it: the rule's
// action proposed, the call successful.
func keyFinding() detect.Finding {
	return detect.Finding{
		Rule:     "access-key-created",
		Category: "access_key_created",
		Severity: detect.High,
		Actor:    detect.Actor{ARN: userARN("alice"), Type: "IAMUser", Name: "alice", UserAgent: "aws-cli/2.15.0"},
		Target:   userARN("bob"),
		Account:  account,
		EventID:  "0f3c2b8e-1111-4a5b-9c7d-000000000001",
		Action:   detect.Action{Kind: detect.DeactivateAccessKey, UserName: "bob", AccessKeyID: "AKIAEXAMPLE", Account: account},
		Record:   &cloudtrail.Record{EventName: "CreateAccessKey"},
	}
}

// session is an assumed-role session of role.
func session(role, name string) detect.Actor {
	arn := strings.Replace(role, ":iam::", ":sts::", 1)
	arn = strings.Replace(arn, ":role/", ":assumed-role/", 1) + "/" + name
	return detect.Actor{ARN: arn, IssuerARN: role, Type: "AssumedRole", Name: name}
}

func TestDecide(t *testing.T) {
	base := policy.Config{
		Mode:         policy.Auto,
		SelfRoleARNs: []string{selfRole},
		Allow: policy.Allowlist{
			Actors:  []string{deployerRole, userARN("platform-admin")},
			Targets: []string{userARN("break-glass")},
		},
		Rules: map[string]policy.RuleConfig{
			"access-key-created": {Allow: policy.Allowlist{
				Actors:  []string{userARN("key-rotator")},
				Targets: []string{userARN("ci-deployer")},
			}},
			"mfa-deactivated": {Allow: policy.Allowlist{Targets: []string{userARN("kiosk")}}},
		},
	}
	no := false
	for _, tc := range []struct {
		name    string
		config  func(c *policy.Config)
		finding func(f *detect.Finding)
		alert   bool
		act     bool
		mode    policy.Mode
		reason  string // a fragment of Decision.Reason; "" means Reason must be empty
	}{
		{name: "auto acts", alert: true, act: true, mode: policy.Auto},
		{name: "dry-run acts as a plan", config: func(c *policy.Config) { c.Mode = policy.DryRun }, alert: true, act: true, mode: policy.DryRun},
		{name: "approve acts after approval", config: func(c *policy.Config) { c.Mode = policy.Approve }, alert: true, act: true, mode: policy.Approve},
		{name: "empty mode is dry-run", config: func(c *policy.Config) { c.Mode = "" }, alert: true, act: true, mode: policy.DryRun},
		{
			name:   "disabled rule",
			config: func(c *policy.Config) { c.Rules = map[string]policy.RuleConfig{"access-key-created": {Enabled: &no}} },
			mode:   policy.Auto, reason: "disabled",
		},
		{
			name:    "disabled rule drops only its own findings",
			config:  func(c *policy.Config) { c.Rules = map[string]policy.RuleConfig{"mfa-deactivated": {Enabled: &no}} },
			finding: func(f *detect.Finding) {}, alert: true, act: true, mode: policy.Auto,
		},
		{
			name:    "own role",
			finding: func(f *detect.Finding) { f.Actor = detect.Actor{ARN: selfRole, Type: "AssumedRole"} },
			mode:    policy.Auto, reason: "own call",
		},
		{
			name:    "session of own role",
			finding: func(f *detect.Finding) { f.Actor = session(selfRole, "watchdog-lambda") },
			mode:    policy.Auto, reason: "own call",
		},
		// Anyone can send the watchdog's app ID (AWS_SDK_UA_APP_ID): it buys nothing (issue 13,
		// point 3).
		{
			name: "the watchdog's user agent from another actor is acted on",
			finding: func(f *detect.Finding) {
				f.Actor.UserAgent = "aws-sdk-go-v2/1.30.0 os/linux lang/go#1.22 app/iam-watchdog"
			},
			alert: true, act: true, mode: policy.Auto,
		},
		{
			name:    "allowlisted actor",
			finding: func(f *detect.Finding) { f.Actor.ARN = userARN("platform-admin") },
			mode:    policy.Auto, reason: "allowlisted",
		},
		{
			name:    "allowlisted actor: a longer ARN with the same prefix is not allowlisted",
			finding: func(f *detect.Finding) { f.Actor.ARN = userARN("platform-admin-2") },
			alert:   true, act: true, mode: policy.Auto,
		},
		{
			name:    "allowlisted actor: a shorter prefix is not allowlisted",
			finding: func(f *detect.Finding) { f.Actor.ARN = userARN("platform") },
			alert:   true, act: true, mode: policy.Auto,
		},
		{
			// IAM user names are unique regardless of case: Platform-Admin is platform-admin.
			name:    "allowlisted actor: the same user name in another case is allowlisted",
			finding: func(f *detect.Finding) { f.Actor.ARN = userARN("Platform-Admin") },
			mode:    policy.Auto, reason: "allowlisted",
		},
		{
			name:    "allowlisted actor: another account's user of the same name is not",
			finding: func(f *detect.Finding) { f.Actor.ARN = "arn:aws:iam::210987654321:user/platform-admin" },
			alert:   true, act: true, mode: policy.Auto,
		},
		{
			name:    "session of an allowlisted role",
			finding: func(f *detect.Finding) { f.Actor = session(deployerRole, "ci-1234") },
			mode:    policy.Auto, reason: "allowlisted",
		},
		{
			name:    "session of a role whose name extends an allowlisted one",
			finding: func(f *detect.Finding) { f.Actor = session(deployerRole+"-sandbox", "ci-1234") },
			alert:   true, act: true, mode: policy.Auto,
		},
		{
			name:    "per-rule allowlisted actor",
			finding: func(f *detect.Finding) { f.Actor.ARN = userARN("key-rotator") },
			mode:    policy.Auto, reason: "allowlisted",
		},
		{
			name:   "another rule's allowlisted actor",
			config: func(c *policy.Config) { c.QuarantinePolicyARN = quarantineARN },
			finding: func(f *detect.Finding) {
				*f = mfaFinding()
				f.Actor.ARN = userARN("key-rotator")
			},
			alert: true, act: true, mode: policy.Auto,
		},
		{
			name:    "globally allowlisted target",
			finding: func(f *detect.Finding) { f.Target = userARN("break-glass") },
			mode:    policy.Auto, reason: "target " + userARN("break-glass") + " is allowlisted",
		},
		{
			name:    "per-rule allowlisted target",
			finding: func(f *detect.Finding) { f.Target = userARN("ci-deployer") },
			mode:    policy.Auto, reason: "target " + userARN("ci-deployer") + " is allowlisted",
		},
		{
			name: "another rule's allowlisted target",
			finding: func(f *detect.Finding) {
				f.Target = userARN("kiosk")
			},
			alert: true, act: true, mode: policy.Auto,
		},
		{
			name:    "allowlisted target: BREAK-GLASS is break-glass",
			finding: func(f *detect.Finding) { f.Target = userARN("BREAK-GLASS") },
			mode:    policy.Auto, reason: "is allowlisted",
		},
		{
			name:    "no action",
			finding: func(f *detect.Finding) { f.Action = detect.Action{} },
			alert:   true, mode: policy.Auto, reason: "no API can undo",
		},
		{
			name: "failed call",
			finding: func(f *detect.Finding) {
				f.Record = &cloudtrail.Record{EventName: "CreateAccessKey", ErrorCode: "AccessDenied"}
			},
			alert: true, mode: policy.Auto, reason: "the call failed",
		},
		{
			name:    "invoked by a service",
			finding: func(f *detect.Finding) { f.Actor.InvokedBy = "cloudformation.amazonaws.com" },
			alert:   true, mode: policy.Auto, reason: "cloudformation.amazonaws.com",
		},
		// A person in the console is no service acting for a caller (issue 13, point 4).
		{
			name:    "console user (signin.amazonaws.com) is acted on",
			finding: func(f *detect.Finding) { f.Actor.InvokedBy = "signin.amazonaws.com" },
			alert:   true, act: true, mode: policy.Auto,
		},
		{
			name:    "root console user (console.amazonaws.com) is acted on",
			finding: func(f *detect.Finding) { f.Actor.InvokedBy = "console.amazonaws.com" },
			alert:   true, act: true, mode: policy.Auto,
		},
		{
			name:    "AWS Internal is acted on",
			finding: func(f *detect.Finding) { f.Actor.InvokedBy = "AWS Internal" },
			alert:   true, act: true, mode: policy.Auto,
		},
		{
			name:    "quarantine without a quarantine policy",
			finding: func(f *detect.Finding) { *f = mfaFinding() },
			alert:   true, mode: policy.Auto, reason: "quarantine_policy_arn",
		},
		{
			name:    "quarantine with a quarantine policy",
			config:  func(c *policy.Config) { c.QuarantinePolicyARN = quarantineARN },
			finding: func(f *detect.Finding) { *f = mfaFinding() },
			alert:   true, act: true, mode: policy.Auto,
		},
		{
			name:   "mode off",
			config: func(c *policy.Config) { c.Mode = policy.Off },
			alert:  true, mode: policy.Off, reason: "remediation is off for access-key-created",
		},
		{
			name:    "missing eventID",
			finding: func(f *detect.Finding) { f.EventID = "" },
			alert:   true, mode: policy.Auto, reason: "no eventID",
		},
		{
			name: "per-rule mode beats the global mode",
			config: func(c *policy.Config) {
				c.Mode = policy.Off
				c.Rules = map[string]policy.RuleConfig{"access-key-created": {Mode: policy.Auto}}
			},
			alert: true, act: true, mode: policy.Auto,
		},
		{
			name: "per-rule off beats global auto",
			config: func(c *policy.Config) {
				c.Rules = map[string]policy.RuleConfig{"access-key-created": {Mode: policy.Off}}
			},
			alert: true, mode: policy.Off, reason: "remediation is off",
		},
		{
			name: "another rule's mode does not apply",
			config: func(c *policy.Config) {
				c.Rules = map[string]policy.RuleConfig{"mfa-deactivated": {Mode: policy.Off}}
			},
			alert: true, act: true, mode: policy.Auto,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := base
			if tc.config != nil {
				tc.config(&c)
			}
			f := keyFinding()
			if tc.finding != nil {
				tc.finding(&f)
			}
			d := c.Decide(&f)
			if d.Alert != tc.alert || d.Act != tc.act || d.Mode != tc.mode {
				t.Fatalf("Decide = %+v, want alert %v act %v mode %s", d, tc.alert, tc.act, tc.mode)
			}
			switch {
			case tc.reason == "" && d.Reason != "":
				t.Errorf("reason %q, want none", d.Reason)
			case !strings.Contains(d.Reason, tc.reason):
				t.Errorf("reason %q does not contain %q", d.Reason, tc.reason)
			}
			if !d.Alert && d.Act {
				t.Error("a dropped finding must not be acted on")
			}
		})
	}
}

func mfaFinding() detect.Finding {
	return detect.Finding{
		Rule:     "mfa-deactivated",
		Category: "mfa_deactivated",
		Severity: detect.High,
		Actor:    detect.Actor{ARN: userARN("alice"), Type: "IAMUser", Name: "alice"},
		Target:   userARN("carol"),
		Account:  account,
		EventID:  "0f3c2b8e-2222-4a5b-9c7d-000000000002",
		Action:   detect.Action{Kind: detect.QuarantineUser, UserName: "carol", Account: account},
		Record:   &cloudtrail.Record{EventName: "DeactivateMFADevice"},
	}
}

// Nothing a caller chooses in the request exempts a change: the watchdog's app ID in the user
// agent, a session named like the watchdog's, a source IP inside AWS (issue 13, point 3).
func TestDecideCallerChosenFieldsBuyNothing(t *testing.T) {
	c := policy.Config{Mode: policy.Auto, SelfRoleARNs: []string{selfRole}}
	for name, edit := range map[string]func(a *detect.Actor){
		"app ID":                func(a *detect.Actor) { a.UserAgent = "aws-sdk-go-v2/1.36.3 ua/2.1 app/" + policy.AppID },
		"app ID alone":          func(a *detect.Actor) { a.UserAgent = "app/" + policy.AppID },
		"watchdog session name": func(a *detect.Actor) { *a = session("arn:aws:iam::"+account+":role/deployer", "iam-watchdog") },
		"AWS source IP":         func(a *detect.Actor) { a.SourceIP = "iam.amazonaws.com" },
	} {
		t.Run(name, func(t *testing.T) {
			f := keyFinding()
			edit(&f.Actor)
			if d := c.Decide(&f); !d.Alert || !d.Act || d.Mode != policy.Auto {
				t.Fatalf("Decide = %+v: want alerted and acted on in auto mode", d)
			}
		})
	}
}

func TestDecideSeverityOverride(t *testing.T) {
	low := detect.Low
	c := policy.Config{Mode: policy.DryRun, Rules: map[string]policy.RuleConfig{"access-key-created": {Severity: &low}}}
	f := keyFinding()
	if d := c.Decide(&f); !d.Alert {
		t.Fatalf("Decide = %+v", d)
	}
	if f.Severity != detect.Low {
		t.Fatalf("severity %s, want the override low", f.Severity)
	}

	// Without an override the computed severity stands, and another rule's override is ignored.
	critical := detect.Critical
	c.Rules = map[string]policy.RuleConfig{"mfa-deactivated": {Severity: &critical}}
	f = keyFinding()
	c.Decide(&f)
	if f.Severity != detect.High {
		t.Fatalf("severity %s, want the computed high", f.Severity)
	}
}

func TestIsSelf(t *testing.T) {
	c := policy.Config{SelfRoleARNs: []string{selfRole}}
	if !c.IsSelf(detect.Actor{ARN: selfRole}) || !c.IsSelf(session(selfRole, "s")) {
		t.Error("own role or its session not recognised")
	}
	if c.IsSelf(detect.Actor{ARN: userARN("alice"), UserAgent: "app/iam-watchdog"}) {
		t.Error("a user agent made an actor the watchdog itself")
	}
	if c.IsSelf(detect.Actor{}) {
		t.Error("an empty actor is the watchdog itself")
	}
}

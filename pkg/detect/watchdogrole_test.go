package detect_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/iam-watchdog/iam-watchdog/pkg/cloudtrail"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/policy"
)

const (
	watchdogRole = "arn:aws:iam::" + account + ":role/iam-watchdog-WatchdogFunctionRole-Q1W2E3R4T5Y6"
	memberRole   = "iam-watchdog-member"
)

// roleCall is an IAM role call on roleName in account, by alice, in the shape of IAM's
// CloudTrail examples.
func roleCall(event, roleName, acct string, extra map[string]any) *cloudtrail.Record {
	params := map[string]any{"roleName": roleName}
	for k, v := range extra {
		params[k] = v
	}
	p, _ := json.Marshal(params)
	rec := synthetic("iam.amazonaws.com", event, iamUser("alice"), string(p), "")
	rec.RecipientAccountID, rec.UserIdentity.AccountID = acct, acct
	rec.UserIdentity.ARN = "arn:aws:iam::" + acct + ":user/alice"
	return rec
}

// TestWatchdogRoleChanged holds issue 13, point 2's detection: creating, deleting or changing
// the trust, policies, boundary or settings of one of the watchdog's roles, or of any role named
// like its member role, is a high finding (critical by root, lower when it failed) that says
// why, and it is that finding alone, not also iam-policy-changed. Without the roles in the
// settings, the same calls are what they always were.
func TestWatchdogRoleChanged(t *testing.T) {
	settings := detect.Settings{SelfRoleARNs: []string{watchdogRole}, MemberRoleName: "security/" + memberRole}
	d := detect.DefaultWith(settings)
	const member = "111111111111"
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:root"},"Action":"sts:AssumeRole"}]}`
	var cases []ruleCase
	for _, event := range []string{"CreateRole", "DeleteRole", "UpdateAssumeRolePolicy", "UpdateRole", "AttachRolePolicy", "DetachRolePolicy",
		"PutRolePolicy", "DeleteRolePolicy", "PutRolePermissionsBoundary", "DeleteRolePermissionsBoundary"} {
		extra := map[string]any{"policyArn": "arn:aws:iam::aws:policy/AdministratorAccess", "policyName": "x", "policyDocument": trust,
			"permissionsBoundary": "arn:aws:iam::aws:policy/PowerUserAccess"}
		cases = append(cases,
			ruleCase{event + " of a role named like the member role, home account", roleCall(event, memberRole, account, extra), []string{"watchdog-role-changed:high"}},
			ruleCase{event + " of the member role in a member account", roleCall(event, memberRole, member, extra), []string{"watchdog-role-changed:high"}},
			ruleCase{event + " of the watchdog's function role", roleCall(event, "iam-watchdog-WatchdogFunctionRole-Q1W2E3R4T5Y6", account, extra), []string{"watchdog-role-changed:high"}},
		)
	}
	cases = append(cases,
		ruleCase{"member role name in another case", roleCall("CreateRole", "IAM-Watchdog-Member", account, nil), []string{"watchdog-role-changed:high"}},
		ruleCase{"by root", with(roleCall("DeleteRole", memberRole, member, nil), asRoot), []string{"watchdog-role-changed:critical"}},
		ruleCase{"failed", with(roleCall("UpdateAssumeRolePolicy", memberRole, member, map[string]any{"policyDocument": trust}), denied), []string{"watchdog-role-changed:medium"}},
		// The function role's name in another account is some other role.
		ruleCase{"function role name in another account", roleCall("AttachRolePolicy", "iam-watchdog-WatchdogFunctionRole-Q1W2E3R4T5Y6", member,
			map[string]any{"policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}), []string{"iam-policy-changed:medium"}},
		ruleCase{"another role", roleCall("UpdateAssumeRolePolicy", "billing-reports", account, map[string]any{"policyDocument": trust}), []string{"iam-policy-changed:high"}},
		ruleCase{"another role created", roleCall("CreateRole", "billing-reports", account, nil), nil},
		// A role created for another account is a way back in (Stratus Red Team's
		// iam-create-backdoor-role); one for a service or this account is everyday work.
		ruleCase{"another role created for another account", roleCall("CreateRole", "billing-reports", account,
			map[string]any{"assumeRolePolicyDocument": trust}), []string{"iam-policy-changed:high"}},
		ruleCase{"another role created for anyone", roleCall("CreateRole", "billing-reports", account,
			map[string]any{"assumeRolePolicyDocument": `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"}]}`}), []string{"iam-policy-changed:high"}},
		ruleCase{"another role created for Lambda", roleCall("CreateRole", "billing-reports", account,
			map[string]any{"assumeRolePolicyDocument": `{"Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`}), nil},
		ruleCase{"another role created for this account", roleCall("CreateRole", "billing-reports", account,
			map[string]any{"assumeRolePolicyDocument": `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + account + `:root"},"Action":"sts:AssumeRole"}]}`}), nil},
		ruleCase{"another role created for another account, denied", with(roleCall("CreateRole", "billing-reports", account,
			map[string]any{"assumeRolePolicyDocument": trust}), denied), []string{"iam-policy-changed:medium"}},
		ruleCase{"lookalike role", roleCall("DeleteRole", "x-"+memberRole, member, nil), nil},
	)
	runCases(t, d, cases)

	// Without settings the watchdog knows no function role of its own, and watches the member
	// role's default name (infra/member-role.yaml's); a configured name replaces the default.
	runCases(t, detect.Default(), []ruleCase{
		{"no settings: function role", roleCall("UpdateAssumeRolePolicy", "iam-watchdog-WatchdogFunctionRole-Q1W2E3R4T5Y6", account, map[string]any{"policyDocument": trust}),
			[]string{"iam-policy-changed:high"}},
		{"no settings: the default member role name", roleCall("CreateRole", "iam-watchdog-member", account, nil), []string{"watchdog-role-changed:high"}},
	})
	runCases(t, detect.DefaultWith(detect.Settings{MemberRoleName: "sec-audit-member"}), []ruleCase{
		{"configured name", roleCall("CreateRole", "sec-audit-member", member, nil), []string{"watchdog-role-changed:high"}},
		{"configured name: the default is no longer the member role", roleCall("CreateRole", "iam-watchdog-member", member, nil), nil},
	})
	f0 := d.Detect(roleCall("CreateRole", memberRole, account, map[string]any{"assumeRolePolicyDocument": trust}))[0]
	if !strings.Contains(f0.Why, "letting arn:aws:iam::444455556666:root assume it") {
		t.Errorf("a role created trusting another account must say so: %q", f0.Why)
	}

	f := d.Detect(roleCall("UpdateAssumeRolePolicy", memberRole, account, map[string]any{"policyDocument": trust}))[0]
	if f.Target != "arn:aws:iam::"+account+":role/"+memberRole || !strings.Contains(f.Why, "444455556666") || !strings.Contains(f.Why, "pose as") || f.Manual == "" {
		t.Errorf("target %q, why %q, manual %q: want the role, who may now assume it, why it matters and what to do", f.Target, f.Why, f.Manual)
	}
	f = d.Detect(roleCall("DeleteRolePolicy", "iam-watchdog-WatchdogFunctionRole-Q1W2E3R4T5Y6", account, map[string]any{"policyName": "Remediate"}))[0]
	if f.Title != "The watchdog's own role changed" || !strings.Contains(f.Why, "watchdog's own role") {
		t.Errorf("title %q, why %q: want it to say the watchdog's own role changed", f.Title, f.Why)
	}
}

// TestWatchdogRoleChangedReachesDetection: the member role name and self role ARNs reach the
// rules through policy.Config.Detection(), as the Lambda and the CLI build their detectors, and
// the finding is alerted, not dropped as the watchdog's own call.
func TestWatchdogRoleChangedReachesDetection(t *testing.T) {
	cfg, err := policy.Parse([]byte("self_role_arns: [" + watchdogRole + "]\nmember_role_name: " + memberRole + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	d := detect.DefaultWith(cfg.Detection())
	fs := d.Detect(roleCall("CreateRole", memberRole, account, nil))
	if len(fs) != 1 || fs[0].Rule != "watchdog-role-changed" {
		t.Fatalf("findings %v, want watchdog-role-changed", rules(fs))
	}
	if dec := cfg.Decide(&fs[0]); !dec.Alert {
		t.Fatalf("Decide = %+v, want the alert", dec)
	}
}

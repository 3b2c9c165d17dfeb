package templatecheck

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/iam-watchdog/iam-watchdog/pkg/audit"
)

// grant is one thing a role may do: actions on a resource, under a condition ("" for none, or
// the Condition block as JSON). Resources and conditions may name {placeholders} that
// grantVars resolves from what moto created.
type grant struct {
	actions   []string
	resource  string
	condition string
}

// Each function's role may do exactly what its function calls, and nothing else.
var (
	// What both functions call: their own logs, the Slack secret, the state table and its key,
	// and the remediation Revert now and Undo carry out (the watchdog's auto mode the same).
	functionGrants = func(logs string) []grant {
		return []grant{
			{[]string{"logs:CreateLogStream", "logs:PutLogEvents"}, logs, ""},
			{[]string{"secretsmanager:GetSecretValue"}, "{secret}", ""},
			{[]string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}, "{table}", ""},
			{[]string{"kms:GenerateMac", "kms:VerifyMac"}, "{key}", ""},
			{[]string{"iam:DeleteUserPolicy", "iam:DetachUserPolicy", "iam:GetUserPolicy", "iam:UpdateAccessKey"}, "arn:aws:iam::123456789012:user/*", ""},
			{[]string{"iam:AttachUserPolicy"}, "arn:aws:iam::123456789012:user/*", `{"ArnEquals":{"iam:PolicyARN":"{quarantine}"}}`},
			{[]string{"cloudtrail:StartLogging"}, "arn:aws:cloudtrail:*:123456789012:trail/*", ""},
		}
	}
	// The watchdog alone: Lambda writes its failed invokes to the dead-letter queue as it.
	deadLetterGrant = grant{[]string{"sqs:SendMessage"}, "{queue}", ""}
	// Cross-account: the member role by name, inside the organisation when one is given.
	assumeInOrg  = grant{[]string{"sts:AssumeRole"}, "arn:aws:iam::*:role/iam-watchdog-member", `{"StringEquals":{"aws:ResourceOrgID":"o-a1b2c3d4e5"}}`}
	assumeAnyway = grant{[]string{"sts:AssumeRole"}, "arn:aws:iam::*:role/iam-watchdog-member", ""}

	// The watchdog alone, with RestoreInlinePolicies: putting an overwritten inline policy back.
	restoreGrant = grant{[]string{"iam:PutUserPolicy"}, "arn:aws:iam::123456789012:user/*", ""}

	// What the member role may do in a member account: the remediation statements, with that
	// account's own quarantine policy, for the watchdog's sessions (iam-watchdog) only; and the
	// audit's reads, for any session it admits.
	memberGrants = []grant{
		{[]string{"iam:DeleteUserPolicy", "iam:DetachUserPolicy", "iam:GetUserPolicy", "iam:UpdateAccessKey"}, "arn:aws:iam::123456789012:user/*", watchdogSessions},
		{[]string{"iam:AttachUserPolicy"}, "arn:aws:iam::123456789012:user/*", `{"ArnEquals":{"iam:PolicyARN":"{quarantine}"},"StringLike":{"aws:userid":"*:iam-watchdog"}}`},
		{[]string{"cloudtrail:StartLogging"}, "arn:aws:cloudtrail:*:123456789012:trail/*", watchdogSessions},
		{memberAuditReads(), "*", ""},
	}

	// The audit's own role: its log group, the Slack secret, the state table and key, the
	// audit's reads, and its dead-letter queue's depth.
	auditGrants = []grant{
		{[]string{"logs:CreateLogStream", "logs:PutLogEvents"}, "{auditLogs}", ""},
		{[]string{"secretsmanager:GetSecretValue"}, "{secret}", ""},
		{[]string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}, "{table}", ""},
		{[]string{"kms:GenerateMac", "kms:VerifyMac"}, "{key}", ""},
		{slices.DeleteFunc(slices.Clone(audit.RequiredActions), func(a string) bool { return a == "sqs:GetQueueAttributes" }), "*", ""},
		{[]string{"sqs:GetQueueAttributes"}, "{queue}", ""},
	}
	// Scheduler's role invokes the audit function and nothing else.
	schedulerGrants = []grant{{[]string{"lambda:InvokeFunction"}, "{auditFunction}", ""}}
	forwarderGrants = []grant{
		{[]string{"events:PutEvents"}, "arn:aws:events:us-east-1:111111111111:event-bus/default", ""},
	}
)

// watchdogSessions is the member role's condition on remediation: the watchdog's sessions.
const watchdogSessions = `{"StringLike":{"aws:userid":"*:iam-watchdog"}}`

// memberAuditReads are the audit's reads in a member account: pkg/audit.RequiredActions less
// the home account's dead-letter queue and the organisation's list.
func memberAuditReads() []string {
	return slices.DeleteFunc(slices.Clone(audit.RequiredActions), func(a string) bool {
		return a == "sqs:GetQueueAttributes" || a == "organizations:ListAccounts"
	})
}

// wantAppGrants is the table of what each role of an app stack may do, by role.
func wantAppGrants(c appConfig) map[string][]grant {
	wd := append(functionGrants("{watchdogLogs}"), deadLetterGrant)
	sa := functionGrants("{slackLogs}")
	au := slices.Clone(auditGrants)
	if c.params["RestoreInlinePolicies"] == "true" {
		wd = append(wd, restoreGrant)
	}
	if c.params["MemberRoleName"] != "" {
		assume := assumeAnyway
		if c.params["OrganizationId"] != "" {
			assume = assumeInOrg
		}
		wd = append(wd, assume)
		au = append(au, assume)
		if c.params["SlackActsInMemberAccounts"] == "true" {
			sa = append(sa, assume)
		}
	}
	return map[string][]grant{"WatchdogRole": wd, "SlackActionsRole": sa, "AuditRole": au, "AuditSchedulerRole": schedulerGrants}
}

// grantVars resolves the placeholders of the grant tables for one app stack.
func grantVars(t *testing.T, s *stack) map[string]string {
	t.Helper()
	return map[string]string{
		"{secret}":        secretARN,
		"{table}":         s.arn(t, "StateTable"),
		"{key}":           s.arn(t, "StateKey"),
		"{queue}":         s.arn(t, "DeadLetterQueue"),
		"{watchdogLogs}":  s.arn(t, "WatchdogLogGroup") + ":*",
		"{slackLogs}":     s.arn(t, "SlackActionsLogGroup") + ":*",
		"{auditLogs}":     s.arn(t, "AuditLogGroup") + ":*",
		"{quarantine}":    s.arn(t, "QuarantinePolicy"),
		"{auditFunction}": s.arn(t, "AuditFunction"),
	}
}

// checkRoles reads every role of every stack back from moto's IAM (inline and managed
// policies, trust) and compares what it may do with the tables above.
func checkRoles(t *testing.T, d *deployment) {
	lambdaTrust := []string{`Allow sts:AssumeRole by {"Service":"lambda.amazonaws.com"}`}
	for _, c := range appConfigs {
		s := d.apps[c.name]
		vars := grantVars(t, s)
		for role, want := range wantAppGrants(c) {
			t.Run(c.name+"/"+role, func(t *testing.T) {
				name := s.Resources[role]
				compareGrants(t, d.m.roleGrants(t, name), resolveGrants(want, vars))
				trust := lambdaTrust
				if role == "AuditSchedulerRole" {
					// Scheduler, for this stack's audit schedule only.
					trust = []string{`Allow sts:AssumeRole by {"Service":"scheduler.amazonaws.com"} if {"ArnEquals":{"aws:SourceArn":"arn:aws:scheduler:us-east-1:123456789012:schedule/default/` + c.name + `-audit"},"StringEquals":{"aws:SourceAccount":"123456789012"}}`}
				}
				compareLines(t, "trust", d.m.roleTrust(t, name), trust)
				if arn := s.arn(t, role); !strings.Contains(arn, ":role/iam-watchdog/") {
					t.Errorf("role %s is not under the path /iam-watchdog/ that the baseline and SCP protect", arn)
				}
			})
		}
	}
	for _, c := range []struct {
		stack string
		trust []string
	}{
		{"member-role.yaml", []string{
			`Allow sts:AssumeRole by {"AWS":"arn:aws:iam::111111111111:root"} if {"ArnEquals":{"aws:PrincipalArn":["` + homeWatchdog + `","` + homeSlack + `"]},"StringEquals":{"sts:RoleSessionName":"iam-watchdog"}}`,
			`Allow sts:AssumeRole by {"AWS":"arn:aws:iam::111111111111:root"} if {"ArnLike":{"aws:PrincipalArn":["` + homeAudit + `","` + auditorPattern + `"]},"StringEquals":{"sts:RoleSessionName":"iam-watchdog-audit"}}`,
		}},
		{"member-role.yaml (watchdog only)", []string{`Allow sts:AssumeRole by {"AWS":"arn:aws:iam::111111111111:root"} if {"ArnEquals":{"aws:PrincipalArn":"` + homeWatchdog + `"},"StringEquals":{"sts:RoleSessionName":"iam-watchdog"}}`}},
	} {
		t.Run(c.stack, func(t *testing.T) {
			s := d.infra[c.stack]
			name := s.Resources["MemberRole"]
			compareGrants(t, d.m.roleGrants(t, name), resolveGrants(memberGrants, map[string]string{"{quarantine}": s.arn(t, "QuarantinePolicy")}))
			compareLines(t, "trust", d.m.roleTrust(t, name), c.trust)
		})
	}
	t.Run("forwarder.yaml", func(t *testing.T) {
		s := d.infra["forwarder.yaml"]
		name := s.Resources["ForwarderRole"]
		compareGrants(t, d.m.roleGrants(t, name), forwarderGrants)
		compareLines(t, "trust", d.m.roleTrust(t, name), []string{
			`Allow sts:AssumeRole by {"Service":"events.amazonaws.com"} if {"ArnLike":{"aws:SourceArn":"arn:aws:events:us-east-1:123456789012:rule/iam-watchdog-forwarder-*"},"StringEquals":{"aws:SourceAccount":"123456789012"}}`,
		})
		if arn := s.arn(t, "ForwarderRole"); !strings.Contains(arn, ":role/iam-watchdog/forwarder/") {
			t.Errorf("forwarder role %s is not under /iam-watchdog/forwarder/, which the org bus admits", arn)
		}
		for id, r := range s.Template.Resources() {
			props, _ := r["Properties"].(map[string]any)
			if name, _ := props["Name"].(string); r["Type"] == "AWS::Events::Rule" && !wildcard("iam-watchdog-forwarder-*", name) {
				t.Errorf("%s: rule name %q is not one the forwarder role's trust admits", id, name)
			}
		}
	})
}

func resolveGrants(gs []grant, vars map[string]string) []grant {
	out := make([]grant, len(gs))
	for i, g := range gs {
		g.resource = resolveVars(g.resource, vars)
		g.condition = resolveVars(g.condition, vars)
		out[i] = g
	}
	return out
}

func resolveVars(s string, vars map[string]string) string {
	for k, v := range vars {
		s = strings.ReplaceAll(s, k, v)
	}
	return s
}

// compareGrants compares the Allow statements read back with the table, statement by
// statement, one line per action set and resource; a Deny in a role's policy is an error too
// (roles here only grant).
func compareGrants(t *testing.T, got []map[string]any, want []grant) {
	t.Helper()
	var gotLines, wantLines []string
	for _, s := range got {
		gotLines = append(gotLines, statementLines(t, s)...)
	}
	for _, g := range want {
		a := slices.Clone(g.actions)
		slices.Sort(a)
		line := "Allow " + strings.Join(a, ",") + " on " + g.resource
		if g.condition != "" {
			line += " if " + canonicalJSON(t, g.condition)
		}
		wantLines = append(wantLines, line)
	}
	compareLines(t, "grants", gotLines, wantLines)
}

func compareLines(t *testing.T, what string, got, want []string) {
	t.Helper()
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("%s read back from moto differ from the table\n got:\n  %s\nwant:\n  %s", what, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// statementLines writes a statement as one line per resource: "Effect actions on resource
// [by principal] [if condition]".
func statementLines(t *testing.T, s map[string]any) []string {
	t.Helper()
	actions, ok := Strings(s["Action"])
	if !ok {
		t.Fatalf("statement %v: Action is not a list of strings", s)
	}
	actions = slices.Clone(actions)
	slices.Sort(actions)
	resources, ok := Strings(s["Resource"])
	if _, has := s["Resource"]; !has {
		resources, ok = []string{""}, true
	}
	if !ok {
		t.Fatalf("statement %v: Resource is not a list of strings", s)
	}
	var out []string
	for _, r := range resources {
		line := fmt.Sprint(s["Effect"]) + " " + strings.Join(actions, ",")
		if r != "" {
			line += " on " + r
		}
		if p, ok := s["Principal"]; ok {
			line += " by " + canonicalJSON(t, p)
		}
		if c, ok := s["Condition"]; ok {
			line += " if " + canonicalJSON(t, c)
		}
		out = append(out, line)
	}
	return out
}

// canonicalJSON writes v (or JSON text) with sorted keys and one-element lists as their element.
func canonicalJSON(t *testing.T, v any) string {
	t.Helper()
	if s, ok := v.(string); ok {
		if err := json.Unmarshal([]byte(s), &v); err != nil {
			t.Fatalf("not JSON: %v: %s", err, s)
		}
	}
	var simplify func(v any) any
	simplify = func(v any) any {
		switch v := v.(type) {
		case map[string]any:
			out := make(map[string]any, len(v))
			for k, e := range v {
				out[k] = simplify(e)
			}
			return out
		case []any:
			if len(v) == 1 {
				return simplify(v[0])
			}
			out := make([]any, len(v))
			for i, e := range v {
				out[i] = simplify(e)
			}
			return out
		}
		return v
	}
	b, err := json.Marshal(simplify(v))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// roleGrants reads a role's statements from moto: inline policies and attached managed ones.
func (m *motoAccount) roleGrants(t *testing.T, role string) []map[string]any {
	t.Helper()
	var out []map[string]any
	inline, err := m.iam.ListRolePolicies(t.Context(), &iam.ListRolePoliciesInput{RoleName: aws.String(role)})
	if err != nil {
		t.Fatalf("list inline policies of %s: %v", role, err)
	}
	for _, name := range inline.PolicyNames {
		p, err := m.iam.GetRolePolicy(t.Context(), &iam.GetRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String(name)})
		if err != nil {
			t.Fatalf("get policy %s of %s: %v", name, role, err)
		}
		out = append(out, statements(t, policyDocument(t, aws.ToString(p.PolicyDocument)))...)
	}
	attached, err := m.iam.ListAttachedRolePolicies(t.Context(), &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(role)})
	if err != nil {
		t.Fatalf("list managed policies of %s: %v", role, err)
	}
	for _, a := range attached.AttachedPolicies {
		out = append(out, statements(t, m.managedPolicy(t, aws.ToString(a.PolicyArn)))...)
	}
	return out
}

// roleTrust reads a role's trust policy from moto, a line per statement.
func (m *motoAccount) roleTrust(t *testing.T, role string) []string {
	t.Helper()
	r, err := m.iam.GetRole(t.Context(), &iam.GetRoleInput{RoleName: aws.String(role)})
	if err != nil {
		t.Fatalf("get role %s: %v", role, err)
	}
	var out []string
	for _, s := range statements(t, policyDocument(t, aws.ToString(r.Role.AssumeRolePolicyDocument))) {
		out = append(out, statementLines(t, s)...)
	}
	return out
}

func (s *stack) roleARN(t *testing.T, name string) (string, error) {
	t.Helper()
	r, err := s.m.iam.GetRole(t.Context(), &iam.GetRoleInput{RoleName: aws.String(name)})
	if err != nil {
		return "", fmt.Errorf("get role %s: %w", name, err)
	}
	return aws.ToString(r.Role.Arn), nil
}

// managedPolicy reads the default version of a managed policy from moto.
func (m *motoAccount) managedPolicy(t *testing.T, arn string) map[string]any {
	t.Helper()
	p, err := m.iam.GetPolicy(t.Context(), &iam.GetPolicyInput{PolicyArn: aws.String(arn)})
	if err != nil {
		t.Fatalf("get policy %s: %v", arn, err)
	}
	v, err := m.iam.GetPolicyVersion(t.Context(), &iam.GetPolicyVersionInput{PolicyArn: aws.String(arn), VersionId: p.Policy.DefaultVersionId})
	if err != nil {
		t.Fatalf("get policy %s version: %v", arn, err)
	}
	return policyDocument(t, aws.ToString(v.PolicyVersion.Document))
}

// policyDocument decodes a policy as IAM returns it: URL-encoded JSON (moto sometimes sends
// it plain).
func policyDocument(t *testing.T, doc string) map[string]any {
	t.Helper()
	if strings.HasPrefix(doc, "%7B") || strings.HasPrefix(doc, "%7b") {
		u, err := url.QueryUnescape(doc)
		if err != nil {
			t.Fatalf("policy document is not URL-encoded JSON: %v", err)
		}
		doc = u
	}
	return decodePolicy(t, doc)
}

// statements lists a policy's statements (a single statement object is a list of one).
func statements(t *testing.T, doc map[string]any) []map[string]any {
	t.Helper()
	var out []map[string]any
	switch s := doc["Statement"].(type) {
	case map[string]any:
		out = append(out, s)
	case []any:
		for _, e := range s {
			m, ok := e.(map[string]any)
			if !ok {
				t.Fatalf("statement %v is not an object", e)
			}
			out = append(out, m)
		}
	default:
		t.Fatalf("policy without statements: %v", doc)
	}
	return out
}

package templatecheck

import (
	"encoding/json"
	"maps"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/remediate"
)

// The stacks of infra/ (docs/deploy.md says which topology uses which).
var infraStacks = []string{"baseline.yaml", "forwarder.yaml", "member-role.yaml", "org-bus.yaml", "replay.yaml", "scp.yaml", "trail.yaml"}

// stackSets are the infra stacks deployed as StackSets to many accounts (and, for the
// forwarder, every Region).
var stackSets = []string{"forwarder.yaml", "member-role.yaml"}

// watchdogGrants are the infra stacks whose IAM statements grant the watchdog itself
// something; they are held to the same least privilege as template.yaml. The others grant
// AWS services (trail.yaml) or people (baseline.yaml) what their documentation prescribes, or
// only deny (scp.yaml).
var watchdogGrants = []string{"forwarder.yaml", "member-role.yaml", "org-bus.yaml", "replay.yaml"}

// samStacks are the infra stacks deployed with `sam deploy`, never as StackSets: they build a
// function from this repository, so they may use the SAM Transform.
var samStacks = []string{"replay.yaml"}

// infraTemplates returns every infra/*.yaml by file name, and fails when one of infraStacks
// is missing or an unknown stack appears (so that it is added to the lists above).
func infraTemplates(t *testing.T) map[string]Template {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(repoRoot(t), "infra", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]Template{}
	for _, p := range paths {
		tpl, err := Load(p)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(p)] = tpl
	}
	if got := sortedKeys(out); !slices.Equal(got, infraStacks) {
		t.Fatalf("infra/ holds %v, want %v (add a new stack to the lists in infra_test.go)", got, infraStacks)
	}
	return out
}

// TestEveryPatternPinsSource holds every EventBridge pattern in every template to a literal,
// non-empty list of AWS sources. Only AWS services emit aws.* sources, so a pinned pattern
// cannot be triggered by events anyone (a member account on the organisation bus included)
// puts on the bus with PutEvents.
func TestEveryPatternPinsSource(t *testing.T) {
	all := map[string]Template{"template.yaml": loadTemplate(t)}
	for name, tpl := range infraTemplates(t) {
		all["infra/"+name] = tpl
	}
	count := 0
	for _, name := range sortedKeys(all) {
		patterns, err := all[name].Patterns()
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
		for _, p := range patterns {
			count++
			if problem := pinsSource(p.Body); problem != "" {
				t.Errorf("%s: %s: %s", name, p.Where, problem)
			}
		}
	}
	if count == 0 {
		t.Fatal("no EventBridge pattern in any template")
	}
}

func pinsSource(pattern map[string]any) string {
	if reflect.DeepEqual(pattern["source"], anyAWSSource) {
		return "" // every AWS service and nothing else: the AnyEvent rules' pattern (patterns_test.go)
	}
	sources, ok := Strings(pattern["source"])
	if !ok || len(sources) == 0 {
		return "source must be a non-empty list of literal strings"
	}
	for _, s := range sources {
		if !strings.HasPrefix(s, "aws.") {
			return "source " + s + " is not an AWS service (aws.*)"
		}
	}
	return ""
}

func TestPinsSource(t *testing.T) {
	for pattern, want := range map[string]string{
		`{"source": ["aws.iam"]}`:                          "",
		`{"source": "aws.iam"}`:                            "",
		`{"source": ["aws.iam", "acme.app"]}`:              "source acme.app is not an AWS service (aws.*)",
		`{"source": [{"prefix": "aws."}]}`:                 "",
		`{"source": [{"prefix": "aws"}]}`:                  "source must be a non-empty list of literal strings",
		`{"source": [{"prefix": ""}]}`:                     "source must be a non-empty list of literal strings",
		`{"source": []}`:                                   "source must be a non-empty list of literal strings",
		`{"detail-type": ["AWS API Call via CloudTrail"]}`: "source must be a non-empty list of literal strings",
	} {
		var m map[string]any
		if err := json.Unmarshal([]byte(pattern), &m); err != nil {
			t.Fatal(err)
		}
		if got := pinsSource(m); got != want {
			t.Errorf("pinsSource(%s) = %q, want %q", pattern, got, want)
		}
	}
}

// TestForwarderForwardsWhatTheAppRoutes holds infra/forwarder.yaml's patterns to exactly those
// of the function's Events in template.yaml, and so (through checkPatterns) to the events the
// rule table watches: a forwarder that lags behind the app silently misses events from every
// other Region and account.
func TestForwarderForwardsWhatTheAppRoutes(t *testing.T) {
	app, err := loadTemplate(t).Patterns()
	if err != nil {
		t.Fatal(err)
	}
	fwd, err := infraTemplates(t)["forwarder.yaml"].Patterns()
	if err != nil {
		t.Fatal(err)
	}
	canonical := func(ps []Pattern) []string {
		var out []string
		for _, p := range ps {
			b, err := json.Marshal(canon(p.Body))
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, string(b))
		}
		slices.Sort(out)
		return out
	}
	a, f := canonical(app), canonical(fwd)
	for _, p := range a {
		if !slices.Contains(f, p) {
			t.Errorf("template.yaml routes %s, which infra/forwarder.yaml does not forward (see TestForwarderIsGenerated)", p)
		}
	}
	for _, p := range f {
		if !slices.Contains(a, p) {
			t.Errorf("infra/forwarder.yaml forwards %s, which template.yaml does not route", p)
		}
	}
	for _, p := range checkPatterns(fwd, detect.Default().Rules()) {
		t.Error("infra/forwarder.yaml: " + p)
	}
}

// canon sorts every list of strings in v, so that patterns listing the same names in another
// order compare equal.
func canon(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[k] = canon(e)
		}
		return m
	case []any:
		if s, ok := Strings(v); ok {
			s = slices.Clone(s)
			sort.Strings(s)
			out := make([]any, len(s))
			for i, e := range s {
				out[i] = e
			}
			return out
		}
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = canon(e)
		}
		return out
	}
	return v
}

// TestForwarderTargets: every forwarding rule exists only where it must (never on the home bus
// itself, which would loop), sends to the home bus alone, and with the forwarder's role, which
// may put events on that bus and do nothing else.
func TestForwarderTargets(t *testing.T) {
	tpl := infraTemplates(t)["forwarder.yaml"]
	rs := tpl.Resources()
	homeBus := map[string]any{"Fn::Sub": "arn:${AWS::Partition}:events:${HomeRegion}:${HomeAccountId}:event-bus/${HomeEventBusName}"}
	roleARN := map[string]any{"Fn::GetAtt": []any{"ForwarderRole", "Arn"}}
	rules := 0
	for _, id := range sortedKeys(rs) {
		r := rs[id]
		if r["Type"] != "AWS::Events::Rule" {
			continue
		}
		rules++
		if r["Condition"] != "Forward" {
			t.Errorf("%s: Condition %v, want Forward (no rule on the home bus itself)", id, r["Condition"])
		}
		props, _ := r["Properties"].(map[string]any)
		targets, _ := props["Targets"].([]any)
		if len(targets) != 1 {
			t.Errorf("%s: %d targets, want the home bus only", id, len(targets))
			continue
		}
		target, _ := targets[0].(map[string]any)
		if !reflect.DeepEqual(target["Arn"], homeBus) || !reflect.DeepEqual(target["RoleArn"], roleARN) {
			t.Errorf("%s: target %v, want the home bus with the forwarder role", id, target)
		}
	}
	if rules == 0 {
		t.Fatal("infra/forwarder.yaml has no rules")
	}
	role := rs["ForwarderRole"]
	if role["Condition"] != "Forward" {
		t.Errorf("ForwarderRole: Condition %v, want Forward", role["Condition"])
	}
	var grants []Statement
	for _, s := range tpl.Statements() {
		if s.Where == "ForwarderRole" && s.Body["Action"] != "sts:AssumeRole" {
			grants = append(grants, s)
		}
	}
	want := []Statement{{Where: "ForwarderRole", Body: map[string]any{
		"Sid": "PutEventsOnHomeBus", "Effect": "Allow", "Action": "events:PutEvents", "Resource": homeBus,
	}}}
	if !reflect.DeepEqual(grants, want) {
		t.Errorf("ForwarderRole grants %v, want %v", grants, want)
	}
}

// TestInfraStackSetReady checks what deploying a template as a StackSet, to many accounts and
// Regions, needs: no transform (service-managed StackSets cannot expand macros without
// CAPABILITY_AUTO_EXPAND) and no nested stacks; IAM names fixed only in a stack deployed to one
// Region; and in every stack a resource without a condition, because CloudFormation refuses to
// create a stack whose conditions leave it empty.
func TestInfraStackSetReady(t *testing.T) {
	for name, tpl := range infraTemplates(t) {
		if _, ok := tpl["Transform"]; ok && !slices.Contains(samStacks, name) {
			t.Errorf("%s uses a Transform", name)
		}
		unconditional := false
		for id, r := range tpl.Resources() {
			if r["Type"] == "AWS::CloudFormation::Stack" {
				t.Errorf("%s: %s is a nested stack", name, id)
			}
			if _, ok := r["Condition"]; !ok {
				unconditional = true
			}
			props, _ := r["Properties"].(map[string]any)
			if _, named := props["RoleName"]; named && name == "forwarder.yaml" {
				t.Errorf("%s: %s has a fixed RoleName, which clashes when the StackSet reaches a second Region", name, id)
			}
		}
		if !unconditional {
			t.Errorf("%s: every resource has a condition, so the stack can end up with none", name)
		}
	}
}

// TestInfraLeastPrivilege holds the IAM statements that grant the watchdog something to the
// checks TestLeastPrivilege applies to template.yaml. Deny statements only take away, so they
// are not checked.
func TestInfraLeastPrivilege(t *testing.T) {
	all := infraTemplates(t)
	for _, name := range watchdogGrants {
		tpl := all[name]
		var allows []Statement
		for _, s := range tpl.Statements() {
			if s.Body["Effect"] == "Allow" {
				allows = append(allows, s)
			}
		}
		for _, p := range append(checkStatements(allows), checkPolicySources(tpl)...) {
			t.Errorf("%s: %s", name, p)
		}
	}
}

// TestMemberRoleMatchesFunctionRole: the member role may do in a member account exactly what
// each function's role may do in its own, statement for statement (Revert now and Undo from
// Slack carry out the same remediation as the watchdog), for the watchdog's sessions
// (iam-watchdog) only; beside that, it may read what the audit reads there; and its quarantine
// policy is the function's.
func TestMemberRoleMatchesFunctionRole(t *testing.T) {
	app := loadTemplate(t)
	member := infraTemplates(t)["member-role.yaml"]
	bySid := func(stmts []Statement) map[string]map[string]any {
		out := map[string]map[string]any{}
		for _, s := range stmts {
			if sid, ok := s.Body["Sid"].(string); ok {
				out[sid] = s.Body
			}
		}
		return out
	}
	mem := bySid(roleStatements(member, "MemberRole"))
	for _, role := range []string{"WatchdogRole", "SlackActionsRole"} {
		fn := bySid(roleStatements(app, role))
		for _, sid := range []string{"RemediateUsers", "AttachOnlyQuarantinePolicy", "RestartTrails"} {
			if fn[sid] == nil || mem[sid] == nil {
				t.Errorf("statement %s: in %s %t, in MemberRole %t; want both", sid, role, fn[sid] != nil, mem[sid] != nil)
				continue
			}
			for _, key := range []string{"Effect", "Action", "Resource"} {
				if !reflect.DeepEqual(fn[sid][key], mem[sid][key]) {
					t.Errorf("statement %s: %s is %v for %s but %v for the member role", sid, key, fn[sid][key], role, mem[sid][key])
				}
			}
			// The function's condition, and the session name: an audit session reads only.
			want := map[string]any{"StringLike": map[string]any{"aws:userid": "*:" + remediate.SessionName}}
			if c, ok := fn[sid]["Condition"].(map[string]any); ok {
				maps.Copy(want, c)
			}
			if !reflect.DeepEqual(mem[sid]["Condition"], want) {
				t.Errorf("statement %s: the member role's condition is %v, want %v (%s's and the watchdog's session)", sid, mem[sid]["Condition"], want, role)
			}
		}
	}
	var memberGrants []string
	for sid := range mem {
		if sid != "OnlyTheWatchdogFunction" && sid != "OnlyTheAudit" {
			memberGrants = append(memberGrants, sid)
		}
	}
	slices.Sort(memberGrants)
	if want := []string{"AttachOnlyQuarantinePolicy", "AuditReads", "RemediateUsers", "RestartTrails"}; !slices.Equal(memberGrants, want) {
		t.Errorf("member role statements %v, want exactly %v", memberGrants, want)
	}
	reads, _ := Strings(mem["AuditReads"]["Action"])
	if want := memberAuditReads(); !slices.Equal(slices.Sorted(slices.Values(reads)), slices.Sorted(slices.Values(want))) || mem["AuditReads"]["Condition"] != nil {
		t.Errorf("AuditReads grants %v (condition %v), want exactly the audit's reads %v, for any session it admits", reads, mem["AuditReads"]["Condition"], want)
	}

	doc := func(tpl Template) any {
		props, _ := tpl.Resources()["QuarantinePolicy"]["Properties"].(map[string]any)
		return props["PolicyDocument"]
	}
	if d := doc(member); d == nil || !reflect.DeepEqual(d, doc(app)) {
		t.Errorf("member-role.yaml's QuarantinePolicy document differs from template.yaml's:\n%v\n%v", d, doc(app))
	}
}

// TestMemberRoleTrust: only the watchdog's role may assume the member role, and the Slack
// function's role only when SlackActionsRoleArn is given, both only under the session name
// pkg/remediate uses; the audit's principals (AuditPrincipalArns) only when given, and only
// under the audit's session name.
func TestMemberRoleTrust(t *testing.T) {
	tpl := infraTemplates(t)["member-role.yaml"]
	rs := tpl.Resources()
	props, _ := rs["MemberRole"]["Properties"].(map[string]any)
	trust, _ := props["AssumeRolePolicyDocument"].(map[string]any)
	stmts, _ := trust["Statement"].([]any)
	if len(stmts) != 2 {
		t.Fatalf("trust policy has %d statements, want 2", len(stmts))
	}
	s, _ := stmts[0].(map[string]any)
	want := map[string]any{
		"Sid":    "OnlyTheWatchdogFunction",
		"Effect": "Allow",
		"Principal": map[string]any{"AWS": map[string]any{"Fn::Sub": []any{
			"arn:${AWS::Partition}:iam::${WatchdogAccount}:root",
			map[string]any{"WatchdogAccount": map[string]any{"Fn::Select": []any{4, map[string]any{"Fn::Split": []any{":", map[string]any{"Ref": "WatchdogRoleArn"}}}}}},
		}}},
		"Action": "sts:AssumeRole",
		"Condition": map[string]any{
			"ArnEquals": map[string]any{"aws:PrincipalArn": map[string]any{"Fn::If": []any{
				"TrustSlackActions",
				[]any{map[string]any{"Ref": "WatchdogRoleArn"}, map[string]any{"Ref": "SlackActionsRoleArn"}},
				[]any{map[string]any{"Ref": "WatchdogRoleArn"}},
			}}},
			"StringEquals": map[string]any{"sts:RoleSessionName": remediate.SessionName},
		},
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("trust statement\n got %v\nwant %v", s, want)
	}
	wantAudit := map[string]any{"Fn::If": []any{"TrustAudit", map[string]any{
		"Sid":       "OnlyTheAudit",
		"Effect":    "Allow",
		"Principal": want["Principal"],
		"Action":    "sts:AssumeRole",
		"Condition": map[string]any{
			"ArnLike":      map[string]any{"aws:PrincipalArn": map[string]any{"Ref": "AuditPrincipalArns"}},
			"StringEquals": map[string]any{"sts:RoleSessionName": remediate.AuditSessionName},
		},
	}, map[string]any{"Ref": "AWS::NoValue"}}}
	if !reflect.DeepEqual(stmts[1], wantAudit) {
		t.Errorf("audit trust statement\n got %v\nwant %v", stmts[1], wantAudit)
	}
	conds, _ := tpl["Conditions"].(map[string]any)
	if want := map[string]any{"Fn::Not": []any{map[string]any{"Fn::Equals": []any{map[string]any{"Fn::Join": []any{"", map[string]any{"Ref": "AuditPrincipalArns"}}}, ""}}}}; !reflect.DeepEqual(conds["TrustAudit"], want) {
		t.Errorf("condition TrustAudit = %v, want AuditPrincipalArns not empty", conds["TrustAudit"])
	}
	if want := map[string]any{"Fn::Not": []any{map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "SlackActionsRoleArn"}, ""}}}}; !reflect.DeepEqual(conds["TrustSlackActions"], want) {
		t.Errorf("condition TrustSlackActions = %v, want SlackActionsRoleArn not empty", conds["TrustSlackActions"])
	}
	params, _ := tpl["Parameters"].(map[string]any)
	if p, _ := params["SlackActionsRoleArn"].(map[string]any); p == nil || p["Default"] != "" {
		t.Errorf("parameter SlackActionsRoleArn = %v, want one defaulting to \"\" (the watchdog alone)", p)
	}
	if props["RoleName"] == nil || !reflect.DeepEqual(props["RoleName"], map[string]any{"Ref": "RoleName"}) {
		t.Errorf("RoleName is %v; the function finds the role by the RoleName parameter", props["RoleName"])
	}
}

// TestFunctionAssumesMemberRoleOnlyWhenSet: template.yaml hands MemberRoleName to the watchdog
// function and grants it sts:AssumeRole on that role name only when it is set, inside the
// organisation when OrganizationId is given; the slack-actions function gets both only when
// SlackActsInMemberAccounts says buttons act in member accounts. By default each acts in its
// own account alone.
func TestFunctionAssumesMemberRoleOnlyWhenSet(t *testing.T) {
	tpl := loadTemplate(t)
	params, _ := tpl["Parameters"].(map[string]any)
	for name, def := range map[string]string{"MemberRoleName": "", "OrganizationId": "", "SlackActsInMemberAccounts": "false"} {
		if p, _ := params[name].(map[string]any); p == nil || p["Default"] != def {
			t.Errorf("parameter %s = %v, want one defaulting to %q", name, p, def)
		}
	}
	rs := tpl.Resources()
	fnProps, _ := rs["WatchdogFunction"]["Properties"].(map[string]any)
	env, _ := fnProps["Environment"].(map[string]any)
	vars, _ := env["Variables"].(map[string]any)
	if !reflect.DeepEqual(vars["MEMBER_ROLE_NAME"], map[string]any{"Ref": "MemberRoleName"}) {
		t.Errorf("MEMBER_ROLE_NAME is %v, want !Ref MemberRoleName", vars["MEMBER_ROLE_NAME"])
	}
	assumeGrants := func(policy string) []any {
		var assume []any
		var walk func(v any)
		walk = func(v any) {
			switch v := v.(type) {
			case map[string]any:
				if ifs, ok := v["Fn::If"].([]any); ok && len(ifs) == 3 {
					if s, ok := ifs[1].(map[string]any); ok && s["Action"] == "sts:AssumeRole" {
						assume = append(assume, v)
						return
					}
				}
				if v["Action"] == "sts:AssumeRole" && v["Principal"] == nil {
					assume = append(assume, v)
					return
				}
				for _, e := range v {
					walk(e)
				}
			case []any:
				for _, e := range v {
					walk(e)
				}
			}
		}
		walk(rs[policy]["Properties"])
		return assume
	}
	grant := func(cond string) []any {
		return []any{map[string]any{"Fn::If": []any{
			cond,
			map[string]any{
				"Sid": "AssumeMemberRoles", "Effect": "Allow", "Action": "sts:AssumeRole",
				"Resource": map[string]any{"Fn::Sub": "arn:${AWS::Partition}:iam::*:role/${MemberRoleName}"},
				"Condition": map[string]any{"Fn::If": []any{
					"HasOrganizationId",
					map[string]any{"StringEquals": map[string]any{"aws:ResourceOrgID": map[string]any{"Ref": "OrganizationId"}}},
					map[string]any{"Ref": "AWS::NoValue"},
				}},
			},
			map[string]any{"Ref": "AWS::NoValue"},
		}}}
	}
	for policy, cond := range map[string]string{"WatchdogPolicy": "HasMemberRole", "SlackActionsPolicy": "SlackActsInMembers"} {
		if got := assumeGrants(policy); !reflect.DeepEqual(got, grant(cond)) {
			t.Errorf("sts:AssumeRole grants of %s\n got %v\nwant %v", policy, got, grant(cond))
		}
	}
	for _, role := range []string{"WatchdogRole", "SlackActionsRole"} {
		props, _ := rs[role]["Properties"].(map[string]any)
		if _, ok := props["Policies"]; ok {
			t.Errorf("%s has inline Policies; its grants belong in its AWS::IAM::Policy, which the tests read", role)
		}
	}
	conds, _ := tpl["Conditions"].(map[string]any)
	for name, want := range map[string]any{
		"HasMemberRole":      map[string]any{"Fn::Not": []any{map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "MemberRoleName"}, ""}}}},
		"SlackActsInMembers": map[string]any{"Fn::And": []any{map[string]any{"Condition": "HasMemberRole"}, map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "SlackActsInMemberAccounts"}, "true"}}}},
		"HasOrganizationId":  map[string]any{"Fn::Not": []any{map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "OrganizationId"}, ""}}}},
	} {
		if !reflect.DeepEqual(conds[name], want) {
			t.Errorf("condition %s = %v, want %v", name, conds[name], want)
		}
	}
}

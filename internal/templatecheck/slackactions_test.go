package templatecheck

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/iam-watchdog/iam-watchdog/pkg/slackaction"
)

// TestSlackActionsContract checks the wiring of the Slack app's interactivity endpoint: the
// environment it reads (what slackaction.EnvFrom reads), the same secret, table, key,
// quarantine policy and own-role list as the watchdog function, a role of its own named in
// WATCHDOG_ROLE_ARN, the member role only when buttons act in member accounts, a public
// Function URL (Slack cannot sign with AWS credentials; the function checks Slack's
// signature), the URL as an output, and a build target.
func TestSlackActionsContract(t *testing.T) {
	tpl := loadTemplate(t)
	rs := tpl.Resources()
	fn := rs["SlackActionsFunction"]
	if fn["Type"] != "AWS::Serverless::Function" {
		t.Fatalf("SlackActionsFunction is %v, not an AWS::Serverless::Function", fn["Type"])
	}
	props, _ := fn["Properties"].(map[string]any)
	env, _ := props["Environment"].(map[string]any)
	vars, _ := env["Variables"].(map[string]any)

	var read []string
	slackaction.EnvFrom(func(name string) string { read = append(read, name); return "" })
	declared := sortedKeys(vars)
	declared = slices.DeleteFunc(declared, func(n string) bool { return n == "LOG_LEVEL" })
	// WATCHDOG_CONFIG is optional, and Lambda itself sets LAMBDA_TASK_ROOT (where a bundled config is).
	read = slices.DeleteFunc(read, func(n string) bool { return n == "WATCHDOG_CONFIG" || n == "LAMBDA_TASK_ROOT" })
	slices.Sort(read)
	if !slices.Equal(declared, read) {
		t.Errorf("template gives slack-actions %v; the code reads %v", declared, read)
	}

	wd, _ := rs["WatchdogFunction"]["Properties"].(map[string]any)
	wdEnv, _ := wd["Environment"].(map[string]any)
	wdVars, _ := wdEnv["Variables"].(map[string]any)
	for _, name := range []string{"SLACK_SECRET_ARN", "STATE_TABLE", "SLACK_API_URL", "QUARANTINE_POLICY_ARN", "SELF_ROLE_ARNS", "STATE_KEY_ARN"} {
		if !reflect.DeepEqual(vars[name], wdVars[name]) {
			t.Errorf("%s is %v for slack-actions but %v for the watchdog function", name, vars[name], wdVars[name])
		}
	}
	wantRole := map[string]any{"Fn::GetAtt": []any{"SlackActionsRole", "Arn"}}
	if !reflect.DeepEqual(props["Role"], wantRole) || !reflect.DeepEqual(vars["WATCHDOG_ROLE_ARN"], wantRole) {
		t.Errorf("slack-actions runs as %v with WATCHDOG_ROLE_ARN %v; want its own role SlackActionsRole for both", props["Role"], vars["WATCHDOG_ROLE_ARN"])
	}
	if !reflect.DeepEqual(vars["SELF_ROLE_ARNS"], wantSelfRoles) {
		t.Errorf("SELF_ROLE_ARNS is %v, want the functions' roles", vars["SELF_ROLE_ARNS"])
	}
	if vars["RESTORE_INLINE_POLICIES"] != "false" {
		t.Errorf("slack-actions RESTORE_INLINE_POLICIES is %v, want \"false\": its role may put no policy", vars["RESTORE_INLINE_POLICIES"])
	}
	wantMember := map[string]any{"Fn::If": []any{"SlackActsInMembers", map[string]any{"Ref": "MemberRoleName"}, ""}}
	if !reflect.DeepEqual(vars["MEMBER_ROLE_NAME"], wantMember) {
		t.Errorf("slack-actions MEMBER_ROLE_NAME is %v, want the member role only when SlackActsInMemberAccounts", vars["MEMBER_ROLE_NAME"])
	}
	if !reflect.DeepEqual(vars["SLACK_APPROVERS"], map[string]any{"Ref": "SlackApprovers"}) {
		t.Errorf("SLACK_APPROVERS is %v, want !Ref SlackApprovers", vars["SLACK_APPROVERS"])
	}
	if url, _ := props["FunctionUrlConfig"].(map[string]any); url["AuthType"] != "NONE" || url["Cors"] != nil {
		t.Errorf("FunctionUrlConfig %v: want AuthType NONE (Slack signs with HMAC, not SigV4) and no CORS (browsers never call it)", url)
	}
	outputs, _ := tpl["Outputs"].(map[string]any)
	out, _ := outputs["SlackActionsUrl"].(map[string]any)
	if !reflect.DeepEqual(out["Value"], map[string]any{"Fn::GetAtt": []any{"SlackActionsFunctionUrl", "FunctionUrl"}}) {
		t.Errorf("output SlackActionsUrl is %v, want the function URL", out["Value"])
	}
	if meta, _ := fn["Metadata"].(map[string]any); meta["BuildMethod"] != "makefile" {
		t.Errorf("SlackActionsFunction Metadata %v, want BuildMethod makefile", meta)
	}
	mk, err := os.ReadFile(filepath.Join(repoRoot(t), "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(mk), "build-SlackActionsFunction:") || !strings.Contains(string(mk), "./functions/slack-actions") {
		t.Error("the Makefile has no build-SlackActionsFunction target building ./functions/slack-actions")
	}
}

// TestNoFunctionCanPutPolicies: no function's role may attach anything but the quarantine
// policy nor put inline policies, so that neither the internet-facing slack-actions function nor
// a leaked signing secret can grant anyone anything. Undoing a detach or a delete is `watchdog
// undo` with a person's credentials. The one exception is opt-in: with RestoreInlinePolicies
// (default false) the watchdog's role alone may put users' inline policies, to restore one an
// event overwrote to its audit snapshot.
func TestNoFunctionCanPutPolicies(t *testing.T) {
	tpl := loadTemplate(t)
	for _, role := range []string{"WatchdogRole", "SlackActionsRole", "AuditRole", "AuditSchedulerRole"} {
		stmts := roleStatements(tpl, role)
		if len(stmts) == 0 {
			t.Errorf("%s has no statements", role)
		}
		for _, s := range stmts {
			if s.Body["Effect"] != "Allow" {
				continue
			}
			actions, _ := Strings(s.Body["Action"])
			for _, a := range actions {
				switch {
				case role == "WatchdogRole" && s.Body["Sid"] == "RestoreInlinePolicies" && a == "iam:PutUserPolicy":
					// Held to its condition below.
				case strings.EqualFold(a, "iam:PutUserPolicy"), strings.EqualFold(a, "iam:PutRolePolicy"), strings.EqualFold(a, "iam:PutGroupPolicy"):
					t.Errorf("%s/%v grants %s", role, s.Body["Sid"], a)
				case strings.EqualFold(a, "iam:AttachUserPolicy"):
					cond, _ := s.Body["Condition"].(map[string]any)
					eq, _ := cond["ArnEquals"].(map[string]any)
					if !reflect.DeepEqual(eq["iam:PolicyARN"], map[string]any{"Ref": "QuarantinePolicy"}) {
						t.Errorf("%s/%v attaches policies other than the quarantine policy: %v", role, s.Body["Sid"], cond)
					}
				}
			}
		}
	}

	props, _ := tpl.Resources()["WatchdogPolicy"]["Properties"].(map[string]any)
	doc, _ := props["PolicyDocument"].(map[string]any)
	want := map[string]any{"Fn::If": []any{"RestoreInline",
		map[string]any{"Sid": "RestoreInlinePolicies", "Effect": "Allow", "Action": "iam:PutUserPolicy",
			"Resource": map[string]any{"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:user/*"}},
		map[string]any{"Ref": "AWS::NoValue"}}}
	stmts, _ := doc["Statement"].([]any)
	if !slices.ContainsFunc(stmts, func(s any) bool { return reflect.DeepEqual(s, want) }) {
		t.Errorf("WatchdogPolicy has no PutUserPolicy statement under the RestoreInline condition: %v", stmts)
	}
	conds, _ := tpl["Conditions"].(map[string]any)
	if !reflect.DeepEqual(conds["RestoreInline"], map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "RestoreInlinePolicies"}, "true"}}) {
		t.Errorf("condition RestoreInline = %v", conds["RestoreInline"])
	}
	params, _ := tpl["Parameters"].(map[string]any)
	if p, _ := params["RestoreInlinePolicies"].(map[string]any); p == nil || p["Default"] != "false" {
		t.Errorf("parameter RestoreInlinePolicies = %v, want one defaulting to \"false\"", p)
	}
}

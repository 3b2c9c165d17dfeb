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
// environment it reads (exactly what slackaction.EnvFrom reads), the same secret, table,
// quarantine policy and member role as the watchdog function, the watchdog's own role (so its
// reverts are recognised as the watchdog's and member roles trust it), a public Function URL
// (Slack cannot sign with AWS credentials; the function checks Slack's signature), the URL as
// an output, and a build target.
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
	for _, name := range []string{"SLACK_SECRET_ARN", "STATE_TABLE", "SLACK_API_URL", "QUARANTINE_POLICY_ARN", "WATCHDOG_ROLE_ARN", "MEMBER_ROLE_NAME"} {
		if !reflect.DeepEqual(vars[name], wdVars[name]) {
			t.Errorf("%s is %v for slack-actions but %v for the watchdog function", name, vars[name], wdVars[name])
		}
	}
	if !reflect.DeepEqual(props["Role"], wd["Role"]) || !reflect.DeepEqual(vars["WATCHDOG_ROLE_ARN"], props["Role"]) {
		t.Errorf("slack-actions runs as %v with WATCHDOG_ROLE_ARN %v; want the watchdog function's role %v for both", props["Role"], vars["WATCHDOG_ROLE_ARN"], wd["Role"])
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

// TestNoFunctionCanPutPolicies: the role both functions share may attach only the quarantine
// policy and may not put inline policies, so that neither the internet-facing slack-actions
// function nor a leaked signing secret can grant anyone anything. Undoing a detach or a delete
// is `watchdog undo` with a person's credentials.
func TestNoFunctionCanPutPolicies(t *testing.T) {
	for _, s := range loadTemplate(t).Statements() {
		if s.Where != "WatchdogRole" || s.Body["Effect"] != "Allow" {
			continue
		}
		actions, _ := Strings(s.Body["Action"])
		for _, a := range actions {
			switch {
			case strings.EqualFold(a, "iam:PutUserPolicy"), strings.EqualFold(a, "iam:PutRolePolicy"), strings.EqualFold(a, "iam:PutGroupPolicy"):
				t.Errorf("WatchdogRole/%v grants %s", s.Body["Sid"], a)
			case strings.EqualFold(a, "iam:AttachUserPolicy"):
				cond, _ := s.Body["Condition"].(map[string]any)
				eq, _ := cond["ArnEquals"].(map[string]any)
				if !reflect.DeepEqual(eq["iam:PolicyARN"], map[string]any{"Ref": "QuarantinePolicy"}) {
					t.Errorf("WatchdogRole/%v attaches policies other than the quarantine policy: %v", s.Body["Sid"], cond)
				}
			}
		}
	}
}

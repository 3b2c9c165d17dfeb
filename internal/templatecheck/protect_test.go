package templatecheck

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
)

// target is a resource a call is made on, and whether it carries iam-watchdog:component.
type target struct {
	arn    string
	tagged bool
}

// abuse is a call a developer (or anyone the SCP binds) might make; deny says whether the
// protection must refuse it.
type abuse struct {
	what   string
	action string
	on     string // a key of targets
	deny   bool
}

// baselineOnly are abuses of the baseline's own groups and policy, which the SCP leaves to
// each account's administrators.
var baselineOnly = []string{"developers group", "admins group", "protect policy"}

// watchdogTargets are the resources the abuses aim at: the app stack "iam-watchdog" and the
// infra stacks as moto created them, and a few resources of a developer's own.
func watchdogTargets(t *testing.T, d *deployment) map[string]target {
	t.Helper()
	app := d.apps["iam-watchdog"]
	tagged := func(s *stack, id string) target {
		return target{arn: s.arn(t, id), tagged: hasComponentTag(s.Template.Resources()[id])}
	}
	fwd := d.infra["forwarder.yaml"]
	base := d.infra["baseline.yaml"]
	member := d.infra["member-role.yaml"]
	return map[string]target{
		"function":          tagged(app, "WatchdogFunction"),
		"slack function":    tagged(app, "SlackActionsFunction"),
		"role":              tagged(app, "WatchdogRole"),
		"slack role":        tagged(app, "SlackActionsRole"),
		"audit function":    tagged(app, "AuditFunction"),
		"audit role":        tagged(app, "AuditRole"),
		"quarantine policy": tagged(app, "QuarantinePolicy"),
		"table":             tagged(app, "StateTable"),
		"key":               tagged(app, "StateKey"),
		"queue":             tagged(app, "DeadLetterQueue"),
		"log group":         tagged(app, "WatchdogLogGroup"),
		"log stream":        {arn: app.arn(t, "WatchdogLogGroup") + ":log-stream:2026/01/01/[$LATEST]0123", tagged: true},
		"rule":              tagged(app, "WatchdogFunctionIAMEvents"),
		"topic":             tagged(app, "AlarmTopic"),
		"alarm":             {arn: "arn:aws:cloudwatch:us-east-1:123456789012:alarm:iam-watchdog-dead-letters", tagged: true},
		"secret":            {arn: secretARN},
		"member role":       {arn: member.arn(t, "MemberRole"), tagged: true},
		"forwarder rule":    tagged(fwd, "CloudTrailEvents"),
		"trail":             {arn: "arn:aws:cloudtrail:us-east-1:123456789012:trail/iam-watchdog", tagged: true},
		"protect policy":    {arn: base.Resources["ProtectWatchdog"]},
		"developers group":  {arn: "arn:aws:iam::123456789012:group/Developers"},
		"admins group":      {arn: "arn:aws:iam::123456789012:group/Administrators"},
		"path role":         {arn: "arn:aws:iam::123456789012:role/iam-watchdog/mine"},
		// Proof that each way of denying stands on its own: a tagged function with another
		// name, an untagged one with the watchdog's name.
		"renamed tagged function": {arn: "arn:aws:lambda:us-east-1:123456789012:function:renamed", tagged: true},
		"untagged named function": {arn: "arn:aws:lambda:us-east-1:123456789012:function:iam-watchdog-copy"},
		// A developer's own, untouched.
		"own function": {arn: "arn:aws:lambda:us-east-1:123456789012:function:orders-api"},
		"own role":     {arn: "arn:aws:iam::123456789012:role/orders-api"},
		"own table":    {arn: "arn:aws:dynamodb:us-east-1:123456789012:table/orders"},
		"own key":      {arn: "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"},
	}
}

var abuses = []abuse{
	{"invoke the watchdog with a made-up event", "lambda:InvokeFunction", "function", true},
	{"change its code", "lambda:UpdateFunctionCode", "function", true},
	{"change the Slack function's configuration", "lambda:UpdateFunctionConfiguration", "slack function", true},
	{"delete the Slack function", "lambda:DeleteFunction", "slack function", true},
	{"let others invoke it", "lambda:AddPermission", "function", true},
	{"lift its reserved concurrency", "lambda:DeleteFunctionConcurrency", "slack function", true},
	{"remove its tag", "lambda:UntagResource", "function", true},
	{"pass its role to a function of one's own", "iam:PassRole", "role", true},
	{"pass the Slack role", "iam:PassRole", "slack role", true},
	{"invoke the audit with a made-up payload", "lambda:InvokeFunction", "audit function", true},
	{"change the audit's code", "lambda:UpdateFunctionCode", "audit function", true},
	{"widen the audit's role", "iam:PutRolePolicy", "audit role", true},
	{"pass the audit's role", "iam:PassRole", "audit role", true},
	{"widen its role", "iam:PutRolePolicy", "role", true},
	{"make the Slack role trust someone else", "iam:UpdateAssumeRolePolicy", "slack role", true},
	{"rewrite the quarantine policy", "iam:CreatePolicyVersion", "quarantine policy", true},
	{"widen the member role", "iam:AttachRolePolicy", "member role", true},
	{"assume the member role", "sts:AssumeRole", "member role", true},
	{"make a role under the watchdog's path", "iam:CreateRole", "path role", true},
	{"lift these denies from one's group", "iam:DetachGroupPolicy", "developers group", true},
	{"join the administrators", "iam:AddUserToGroup", "admins group", true},
	{"edit the protect policy", "iam:CreatePolicyVersion", "protect policy", true},
	{"rewrite a state record", "dynamodb:PutItem", "table", true},
	{"delete a state record", "dynamodb:DeleteItem", "table", true},
	{"drop the table", "dynamodb:DeleteTable", "table", true},
	{"change the table's resource policy", "dynamodb:PutResourcePolicy", "table", true},
	{"purge the dead-letter queue", "sqs:PurgeQueue", "queue", true},
	{"take dead letters off the queue", "sqs:ReceiveMessage", "queue", true},
	{"read the Slack secret", "secretsmanager:GetSecretValue", "secret", true},
	{"replace the Slack secret", "secretsmanager:PutSecretValue", "secret", true},
	{"make a MAC with the state key", "kms:GenerateMac", "key", true},
	{"delete the state key", "kms:ScheduleKeyDeletion", "key", true},
	{"rewrite the key policy", "kms:PutKeyPolicy", "key", true},
	{"delete the log group", "logs:DeleteLogGroup", "log group", true},
	{"forge log lines", "logs:PutLogEvents", "log stream", true},
	{"delete a rule", "events:DeleteRule", "rule", true},
	{"retarget a rule", "events:PutTargets", "rule", true},
	{"disable a forwarder rule", "events:DisableRule", "forwarder rule", true},
	{"silence an alarm", "cloudwatch:DisableAlarmActions", "alarm", true},
	{"delete the alarm topic", "sns:DeleteTopic", "topic", true},
	{"stop the trail", "cloudtrail:StopLogging", "trail", true},
	{"invoke a tagged function under another name", "lambda:InvokeFunction", "renamed tagged function", true},
	{"invoke an untagged function with the watchdog's name", "lambda:InvokeFunction", "untagged named function", true},

	{"read the function's configuration", "lambda:GetFunction", "function", false},
	{"read a state record", "dynamodb:GetItem", "table", false},
	{"scan the table", "dynamodb:Scan", "table", false},
	{"read the queue's depth", "sqs:GetQueueAttributes", "queue", false},
	{"describe the secret", "secretsmanager:DescribeSecret", "secret", false},
	{"describe the key", "kms:DescribeKey", "key", false},
	{"read the logs", "logs:FilterLogEvents", "log group", false},
	{"describe a rule", "events:DescribeRule", "rule", false},
	{"read a role", "iam:GetRole", "role", false},
	{"deploy one's own function", "lambda:UpdateFunctionCode", "own function", false},
	{"pass one's own role", "iam:PassRole", "own role", false},
	{"write one's own table", "dynamodb:PutItem", "own table", false},
	{"delete one's own key", "kms:ScheduleKeyDeletion", "own key", false},
}

// checkBaseline: the baseline's ProtectWatchdog, read back from moto, is attached to the
// developers and business groups (not the administrators') and refuses each abuse to them,
// while reads and their own resources stay theirs.
func checkBaseline(t *testing.T, d *deployment) {
	s := d.infra["baseline.yaml"]
	arn := s.Resources["ProtectWatchdog"]
	doc := d.m.managedPolicy(t, arn)
	for group, want := range map[string]bool{"Developers": true, "Business": true, "Administrators": false} {
		out, err := d.m.iam.ListAttachedGroupPolicies(t.Context(), &iam.ListAttachedGroupPoliciesInput{GroupName: aws.String(group)})
		if err != nil {
			t.Fatalf("list policies of group %s: %v", group, err)
		}
		got := slices.ContainsFunc(out.AttachedPolicies, func(p iamtypes.AttachedPolicy) bool { return aws.ToString(p.PolicyArn) == arn })
		if got != want {
			t.Errorf("group %s has ProtectWatchdog attached: %t, want %t", group, got, want)
		}
	}
	targets := watchdogTargets(t, d)
	for _, a := range abuses {
		t.Run(a.what, func(t *testing.T) {
			checkAbuse(t, doc, developerUser, a, targets)
		})
	}
}

// checkSCP: the service control policy, resolved, fits the SCP size limit, denies what the
// baseline denies to everyone but the deploy roles and the watchdog's own roles, and holds the
// same statements as the baseline's ProtectWatchdog.
func checkSCP(t *testing.T, d *deployment) {
	content := d.infra["scp.yaml"].Outputs["ProbeContent"]
	var doc map[string]any
	if err := json.Unmarshal([]byte(content), &doc); err != nil {
		t.Fatalf("SCP content is not JSON: %v\n%s", err, content)
	}
	compact, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	// Organizations counts the characters of the policy as sent, at most 5,120:
	//   https://docs.aws.amazon.com/organizations/latest/userguide/orgs_reference_limits.html
	// Keep room for longer deploy role ARNs than the test's (each appears three times).
	const limit, headroom = 5120, 600
	t.Logf("SCP: %d characters of %d", len(compact), limit)
	if len(compact) > limit-headroom {
		t.Errorf("the SCP is %d characters; Organizations takes %d, and longer DeployRoleArns need room", len(compact), limit)
	}
	targets := watchdogTargets(t, d)
	for _, caller := range []string{developerUser, administrator} {
		for _, a := range abuses {
			if slices.Contains(baselineOnly, a.on) {
				continue
			}
			t.Run(caller+"/"+a.what, func(t *testing.T) { checkAbuse(t, doc, caller, a, targets) })
		}
	}
	app := d.apps["iam-watchdog"]
	for _, caller := range []string{deployRole, stackSetsExec, app.arn(t, "WatchdogRole"), app.arn(t, "SlackActionsRole")} {
		for _, a := range abuses {
			r := request{Principal: caller, Action: a.action, Resource: targets[a.on].arn, Context: tagContext(targets[a.on])}
			if got := evaluate(t, doc, r); got.Denied {
				t.Errorf("%s may not %s (%s on %s): %s denies it; the deploy and watchdog roles must be exempt", caller, a.what, a.action, r.Resource, got.Sid)
			}
		}
	}

	// The same statements as the baseline's, but for the exemptions and any account.
	base := d.m.managedPolicy(t, d.infra["baseline.yaml"].Resources["ProtectWatchdog"])
	bySid := func(doc map[string]any) map[string]map[string]any {
		out := map[string]map[string]any{}
		for _, s := range statements(t, doc) {
			out[fmt.Sprint(s["Sid"])] = s
		}
		return out
	}
	scp, bl := bySid(doc), bySid(base)
	if !slices.Equal(sortedKeys(scp), sortedKeys(bl)) {
		t.Fatalf("SCP statements %v, baseline's %v", sortedKeys(scp), sortedKeys(bl))
	}
	for sid, s := range scp {
		b := bl[sid]
		if canonicalJSON(t, s["NotAction"]) != canonicalJSON(t, b["NotAction"]) || s["Effect"] != b["Effect"] {
			t.Errorf("%s: the SCP's actions differ from the baseline's:\n%v\n%v", sid, s["NotAction"], b["NotAction"])
		}
		sr, _ := Strings(s["Resource"])
		br, _ := Strings(b["Resource"])
		for _, r := range sr {
			if !slices.ContainsFunc(br, func(b string) bool { return anyAccount(b) == r }) {
				t.Errorf("%s: the SCP denies on %s, the baseline does not", sid, r)
			}
		}
	}
	rm, _ := bySid(base)["DenyChangingNamedWatchdogResources"]["Resource"].([]any)
	sm, _ := scp["DenyChangingNamedWatchdogResources"]["Resource"].([]any)
	if len(rm) != len(sm) {
		t.Errorf("the SCP names %d resource patterns, the baseline %d", len(sm), len(rm))
	}
}

// anyAccount writes an ARN with * for its account.
func anyAccount(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) == 6 && parts[4] != "" {
		parts[4] = "*"
	}
	return strings.Join(parts, ":")
}

// checkAbuse evaluates one call of caller against a protection policy.
func checkAbuse(t *testing.T, doc map[string]any, caller string, a abuse, targets map[string]target) {
	t.Helper()
	tg, ok := targets[a.on]
	if !ok {
		t.Fatalf("no target %q", a.on)
	}
	got := evaluate(t, doc, request{Principal: caller, Action: a.action, Resource: tg.arn, Context: tagContext(tg)})
	switch {
	case a.deny && !got.Denied:
		t.Errorf("%s can %s: %s on %s is not denied", caller, a.what, a.action, tg.arn)
	case !a.deny && got.Denied:
		t.Errorf("%s cannot %s: %s on %s is denied by %s", caller, a.what, a.action, tg.arn, got.Sid)
	}
}

// tagContext is the request context of a call on a target: its tag, if it has one.
func tagContext(tg target) map[string][]string {
	if !tg.tagged {
		return nil
	}
	return map[string][]string{"aws:ResourceTag/" + componentTag: {"x"}}
}

// componentTag is the tag every taggable resource of every stack carries.
const componentTag = "iam-watchdog:component"

// hasComponentTag reports whether a resource declares the component tag, in either of the
// shapes CloudFormation takes (a list of Key/Value or, for SAM and a few types, a mapping).
func hasComponentTag(r map[string]any) bool {
	props, _ := r["Properties"].(map[string]any)
	switch tags := props["Tags"].(type) {
	case []any:
		return slices.ContainsFunc(tags, func(e any) bool {
			m, _ := e.(map[string]any)
			return m["Key"] == componentTag || m["TagKey"] == componentTag
		})
	case map[string]any:
		_, ok := tags[componentTag]
		return ok
	}
	return false
}

package templatecheck

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/iam-watchdog/iam-watchdog/pkg/audit"
	"github.com/iam-watchdog/iam-watchdog/pkg/auditrun"
)

// TestAuditContract checks the wiring of the scheduled audit: the environment it reads (what
// auditrun.EnvFrom reads) and nothing else; its own role; the rule count it checks equal to the
// watchdog function's rules; the schedule ARN it trusts equal to the schedule's name; the
// schedule's payload an auditrun.Invocation carrying Scheduler's context attributes; its reads
// exactly pkg/audit.RequiredActions; and a build target.
func TestAuditContract(t *testing.T) {
	tpl := loadTemplate(t)
	rs := tpl.Resources()
	fn := rs["AuditFunction"]
	if fn["Type"] != "AWS::Serverless::Function" {
		t.Fatalf("AuditFunction is %v, not an AWS::Serverless::Function", fn["Type"])
	}
	props, _ := fn["Properties"].(map[string]any)
	env, _ := props["Environment"].(map[string]any)
	vars, _ := env["Variables"].(map[string]any)

	var read []string
	if _, err := auditrun.EnvFrom(func(name string) string { read = append(read, name); return "" }); err != nil {
		t.Fatal(err)
	}
	// The watchdog's settings the audit has no use for: it never remediates, and the config,
	// when bundled, is found by LAMBDA_TASK_ROOT.
	unused := []string{"WATCHDOG_CONFIG", "LAMBDA_TASK_ROOT", "REMEDIATION_MODE", "QUARANTINE_POLICY_ARN", "RESTORE_INLINE_POLICIES"}
	read = slices.DeleteFunc(read, func(n string) bool { return slices.Contains(unused, n) })
	declared := slices.DeleteFunc(sortedKeys(vars), func(n string) bool { return n == "LOG_LEVEL" })
	slices.Sort(read)
	if !slices.Equal(declared, read) {
		t.Errorf("template gives the audit %v; the code reads %v", declared, read)
	}
	wantRole := map[string]any{"Fn::GetAtt": []any{"AuditRole", "Arn"}}
	if !reflect.DeepEqual(props["Role"], wantRole) || !reflect.DeepEqual(vars["WATCHDOG_ROLE_ARN"], wantRole) {
		t.Errorf("the audit runs as %v with WATCHDOG_ROLE_ARN %v; want its own role AuditRole for both", props["Role"], vars["WATCHDOG_ROLE_ARN"])
	}
	if !reflect.DeepEqual(vars["SELF_ROLE_ARNS"], wantSelfRoles) {
		t.Errorf("SELF_ROLE_ARNS is %v, want the functions' roles", vars["SELF_ROLE_ARNS"])
	}
	for name, want := range map[string]any{
		"WATCHDOG_FUNCTION_ARN": map[string]any{"Fn::GetAtt": []any{"WatchdogFunction", "Arn"}},
		"DEAD_LETTER_QUEUE_URL": map[string]any{"Ref": "DeadLetterQueue"},
		"STATE_TABLE":           map[string]any{"Ref": "StateTable"},
		"MEMBER_ROLE_NAME":      map[string]any{"Ref": "MemberRoleName"},
		"AUDIT_SCHEDULE_ARN":    map[string]any{"Fn::Sub": "arn:${AWS::Partition}:scheduler:${AWS::Region}:${AWS::AccountId}:schedule/default/${AWS::StackName}-audit"},
	} {
		if !reflect.DeepEqual(vars[name], want) {
			t.Errorf("%s is %v, want %v", name, vars[name], want)
		}
	}
	wd, _ := rs["WatchdogFunction"]["Properties"].(map[string]any)
	events, _ := wd["Events"].(map[string]any)
	if got := vars["WATCHDOG_RULE_COUNT"]; got != strconv.Itoa(len(events)) {
		t.Errorf("WATCHDOG_RULE_COUNT is %v, but %d rules target the watchdog function", got, len(events))
	}

	sched := rs["AuditSchedule"]
	sprops, _ := sched["Properties"].(map[string]any)
	if !reflect.DeepEqual(sprops["Name"], map[string]any{"Fn::Sub": "${AWS::StackName}-audit"}) {
		t.Errorf("AuditSchedule's Name is %v, the name AUDIT_SCHEDULE_ARN ends with", sprops["Name"])
	}
	if !reflect.DeepEqual(sprops["ScheduleExpression"], map[string]any{"Ref": "AuditScheduleExpression"}) {
		t.Errorf("AuditSchedule's expression is %v, want the AuditScheduleExpression parameter", sprops["ScheduleExpression"])
	}
	params, _ := tpl["Parameters"].(map[string]any)
	if p, _ := params["AuditScheduleExpression"].(map[string]any); p == nil || p["Default"] != "cron(0 7 * * ? *)" {
		t.Errorf("parameter AuditScheduleExpression = %v, want a daily default", p)
	}
	target, _ := sprops["Target"].(map[string]any)
	if !reflect.DeepEqual(target["Arn"], map[string]any{"Fn::GetAtt": []any{"AuditFunction", "Arn"}}) ||
		!reflect.DeepEqual(target["RoleArn"], map[string]any{"Fn::GetAtt": []any{"AuditSchedulerRole", "Arn"}}) {
		t.Errorf("AuditSchedule's target %v, want AuditFunction invoked as AuditSchedulerRole", target)
	}
	input, _ := target["Input"].(string)
	checkInvocationTemplate(t, input)

	var granted []string
	for _, s := range roleStatements(tpl, "AuditRole") {
		if sid := s.Body["Sid"]; sid == "AuditReads" || sid == "DeadLetterQueueDepth" {
			actions, _ := Strings(s.Body["Action"])
			granted = append(granted, actions...)
		}
	}
	if want := slices.Sorted(slices.Values(audit.RequiredActions)); !slices.Equal(slices.Sorted(slices.Values(granted)), want) {
		t.Errorf("the audit's role reads %v, want exactly pkg/audit.RequiredActions %v", slices.Sorted(slices.Values(granted)), want)
	}
	mk, err := os.ReadFile(filepath.Join(repoRoot(t), "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(mk), "build-AuditFunction:") || !strings.Contains(string(mk), "./functions/audit") {
		t.Error("the Makefile has no build-AuditFunction target building ./functions/audit")
	}
}

// checkInvocationTemplate: the schedule's payload decodes, unknown fields refused, into an
// auditrun.Invocation whose fields are Scheduler's four context attributes and the fixed source.
func checkInvocationTemplate(t *testing.T, input string) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(input))
	dec.DisallowUnknownFields()
	var inv auditrun.Invocation
	if err := dec.Decode(&inv); err != nil {
		t.Fatalf("the schedule's Input %q is not an auditrun.Invocation: %v", input, err)
	}
	want := auditrun.Invocation{
		Source: auditrun.InvocationSource, ScheduleARN: "<aws.scheduler.schedule-arn>", ScheduledTime: "<aws.scheduler.scheduled-time>",
		ExecutionID: "<aws.scheduler.execution-id>", Attempt: "<aws.scheduler.attempt-number>",
	}
	if inv != want {
		t.Errorf("the schedule's payload %+v, want %+v", inv, want)
	}
}

// checkAuditSchedule reads the schedule back resolved (moto's CloudFormation creates no
// schedules): its name is the one AUDIT_SCHEDULE_ARN names, its expression the parameter's, and it
// invokes the stack's audit function as the stack's scheduler role with the invocation payload.
func checkAuditSchedule(t *testing.T, d *deployment) {
	for _, c := range appConfigs {
		s := d.apps[c.name]
		var name, expr string
		if err := json.Unmarshal([]byte(s.Outputs["ProbeAuditScheduleName"]), &name); err != nil || name != c.name+"-audit" {
			t.Errorf("%s: schedule name %s (%v), want %s-audit", c.name, s.Outputs["ProbeAuditScheduleName"], err, c.name)
		}
		want := c.params["AuditScheduleExpression"]
		if want == "" {
			want = "cron(0 7 * * ? *)"
		}
		if err := json.Unmarshal([]byte(s.Outputs["ProbeAuditScheduleExpression"]), &expr); err != nil || expr != want {
			t.Errorf("%s: schedule expression %s (%v), want %s", c.name, s.Outputs["ProbeAuditScheduleExpression"], err, want)
		}
		var target struct {
			Arn, RoleArn, Input string
			RetryPolicy         map[string]any
		}
		if err := json.Unmarshal([]byte(s.Outputs["ProbeAuditScheduleTarget"]), &target); err != nil {
			t.Fatalf("%s: schedule target %s: %v", c.name, s.Outputs["ProbeAuditScheduleTarget"], err)
		}
		if target.Arn != s.arn(t, "AuditFunction") || target.RoleArn != s.arn(t, "AuditSchedulerRole") {
			t.Errorf("%s: the schedule invokes %s as %s, want %s as %s", c.name, target.Arn, target.RoleArn, s.arn(t, "AuditFunction"), s.arn(t, "AuditSchedulerRole"))
		}
		checkInvocationTemplate(t, target.Input)
	}
}

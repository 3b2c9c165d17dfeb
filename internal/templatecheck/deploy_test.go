package templatecheck

import (
	"net/url"
	"path"
	"strings"
	"testing"

	"github.com/iam-watchdog/iam-watchdog/internal/mototest"
)

// The deployments TestDeployInMoto makes: the app three ways, and every infra/ stack.
const (
	secretARN       = "arn:aws:secretsmanager:us-east-1:123456789012:secret:iam-watchdog/slack-AbCdEf"
	orgID           = "o-a1b2c3d4e5"
	homeAccount     = "111111111111" // the watchdog's account, as member accounts see it
	homeWatchdog    = "arn:aws:iam::111111111111:role/iam-watchdog/iam-watchdog-WatchdogRole-ABC123"
	homeSlack       = "arn:aws:iam::111111111111:role/iam-watchdog/iam-watchdog-SlackActionsRole-DEF456"
	homeAudit       = "arn:aws:iam::111111111111:role/iam-watchdog/iam-watchdog-AuditRole-GHI789"
	auditorPattern  = "arn:aws:iam::111111111111:role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_SecurityAudit_*"
	undoRole        = "arn:aws:iam::123456789012:role/iam-watchdog-undo"
	undoSSOPattern  = "arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_SecurityAdmin_*"
	developerUser   = "arn:aws:iam::123456789012:user/dev"
	administrator   = "arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_AdministratorAccess_0123"
	deployRole      = "arn:aws:iam::123456789012:role/iam-watchdog-deploy"
	stackSetsExec   = "arn:aws:iam::222222222222:role/stacksets-exec-0a1b2c3d"
	undoSSOInstance = "arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/us-east-1/AWSReservedSSO_SecurityAdmin_abcdef"
)

// appConfig is one way of deploying template.yaml.
type appConfig struct {
	name   string
	params map[string]string
}

var appConfigs = []appConfig{
	// An organisation: member role in every account, assumed only inside the organisation;
	// buttons act in this account only; people who run `watchdog undo`; alarms by e-mail.
	{"iam-watchdog", map[string]string{
		"SlackSecretArn": secretARN, "SlackChannel": "C0123ABCDEF", "SlackApprovers": "U0123ABCDEF,S0123SECOPS",
		"RemediationMode": "approve", "MemberRoleName": "iam-watchdog-member", "OrganizationId": orgID,
		"UndoPrincipalArns": undoRole + "," + undoSSOPattern, "AlarmEmail": "secops@example.com",
	}},
	// Buttons act in member accounts too (no organisation ID); the watchdog restores overwritten
	// inline policies from the audit's snapshots.
	{"iam-watchdog-buttons", map[string]string{
		"SlackSecretArn": secretARN, "MemberRoleName": "iam-watchdog-member", "SlackActsInMemberAccounts": "true",
		"RestoreInlinePolicies": "true", "AuditScheduleExpression": "rate(12 hours)",
	}},
	// One account, every default, no reserved concurrency (a new account's quota of 10).
	{"iam-watchdog-minimal", map[string]string{
		"SlackSecretArn": secretARN, "WatchdogReservedConcurrency": "-1", "SlackActionsReservedConcurrency": "-1", "AuditReservedConcurrency": "-1",
	}},
}

// appProbes resolve what moto drops or skips in the app stack.
var appProbes = []probe{
	{"ProbeTablePolicy", "StateTable", "ResourcePolicy"},
	{"ProbeKeySpec", "StateKey", "KeySpec"},
	{"ProbeKeyUsage", "StateKey", "KeyUsage"},
	{"ProbeTopicPolicy", "AlarmTopicPolicy", "PolicyDocument"},
	{"ProbeDeadLetterQueueAlarm", "DeadLetterQueueAlarm", "Dimensions"},
	{"ProbeWatchdogErrorsAlarm", "WatchdogErrorsAlarm", "Dimensions"},
	{"ProbeWatchdogThrottlesAlarm", "WatchdogThrottlesAlarm", "Dimensions"},
	{"ProbeSlackActionsErrorsAlarm", "SlackActionsErrorsAlarm", "Dimensions"},
	{"ProbeSlackActionsThrottlesAlarm", "SlackActionsThrottlesAlarm", "Dimensions"},
	{"ProbeAuditErrorsAlarm", "AuditErrorsAlarm", "Dimensions"},
	{"ProbeAuditThrottlesAlarm", "AuditThrottlesAlarm", "Dimensions"},
	{"ProbeAuditScheduleTarget", "AuditSchedule", "Target"},
	{"ProbeAuditScheduleExpression", "AuditSchedule", "ScheduleExpression"},
	{"ProbeAuditScheduleName", "AuditSchedule", "Name"},
	{"ProbeAlarmActions", "DeadLetterQueueAlarm", "AlarmActions"},
}

// deployment is every stack TestDeployInMoto created.
type deployment struct {
	m     *motoAccount
	apps  map[string]*stack
	infra map[string]*stack // by file name
}

// TestDeployInMoto proves the deployment rather than hoping for it: template.yaml, translated
// by the AWS SAM translator offline, is created in moto_server's CloudFormation three ways,
// and so is every infra/ stack; every resource moto supports must be created (createStack),
// and what the stacks grant and deny is then read back from moto and checked.
func TestDeployInMoto(t *testing.T) {
	t.Parallel() // a slow external tool; the package's other tests run meanwhile
	srv := mototest.Start(t)
	d := &deployment{m: newMotoAccount(t, srv.Config(t)), apps: map[string]*stack{}, infra: map[string]*stack{}}
	for _, c := range appConfigs {
		d.apps[c.name] = d.m.createStack(t, c.name, translate(t, c.params), c.params, appProbes...)
	}
	infra := infraTemplates(t)
	for _, s := range []struct {
		file, name string
		params     map[string]string
		probes     []probe
	}{
		{"baseline.yaml", "iam-watchdog-baseline", nil, nil},
		{"member-role.yaml", "iam-watchdog-member-role", map[string]string{"WatchdogRoleArn": homeWatchdog, "SlackActionsRoleArn": homeSlack, "AuditPrincipalArns": homeAudit + "," + auditorPattern}, nil},
		{"forwarder.yaml", "iam-watchdog-forwarder", map[string]string{"HomeAccountId": homeAccount}, nil},
		{"org-bus.yaml", "iam-watchdog-org-bus", map[string]string{"OrganizationId": orgID}, []probe{{"ProbeBusPolicy", "OrganizationPutEvents", "Statement"}}},
		{"trail.yaml", "iam-watchdog-trail", map[string]string{"OrganizationTrail": "true", "OrganizationId": orgID}, nil},
		{"scp.yaml", "iam-watchdog-scp", map[string]string{"TargetIds": "r-ab12", "DeployRoleArns": "arn:aws:iam::*:role/iam-watchdog-deploy,arn:aws:iam::*:role/stacksets-exec-*"},
			[]probe{{"ProbeContent", "ProtectWatchdog", "Content"}}},
	} {
		d.infra[s.file] = d.m.createStack(t, s.name, infra[s.file], s.params, s.probes...)
	}
	// A second member role without the Slack role: only the watchdog may assume it.
	d.infra["member-role.yaml (watchdog only)"] = d.m.createStack(t, "iam-watchdog-member-role-b", infra["member-role.yaml"],
		map[string]string{"WatchdogRoleArn": homeWatchdog, "RoleName": "iam-watchdog-member-b", "QuarantinePolicyName": "iam-watchdog-quarantine-b"})
	if t.Failed() {
		t.FailNow()
	}

	t.Run("roles", func(t *testing.T) { checkRoles(t, d) })
	t.Run("baseline", func(t *testing.T) { checkBaseline(t, d) })
	t.Run("scp", func(t *testing.T) { checkSCP(t, d) })
	t.Run("state_table", func(t *testing.T) { checkStateTablePolicy(t, d) })
	t.Run("state_key", func(t *testing.T) { checkStateKey(t, d) })
	t.Run("alarms", func(t *testing.T) { checkAlarms(t, d) })
	t.Run("functions", func(t *testing.T) { checkFunctions(t, d) })
	t.Run("audit_schedule", func(t *testing.T) { checkAuditSchedule(t, d) })
	t.Run("org_bus", func(t *testing.T) { checkOrgBus(t, d) })
	t.Run("tags", func(t *testing.T) { checkTags(t, d) })
}

// arn is the ARN of one of the stack's resources, from what moto reports for it.
func (s *stack) arn(t *testing.T, id string) string {
	t.Helper()
	phys, ok := s.Resources[id]
	if !ok {
		t.Fatalf("%s: no resource %s", s.Name, id)
	}
	r := s.Template.Resources()[id]
	const prefix = "arn:aws:"
	acct, region := mototest.AccountID, "us-east-1"
	switch r["Type"] {
	case "AWS::DynamoDB::Table":
		return prefix + "dynamodb:" + region + ":" + acct + ":table/" + phys
	case "AWS::KMS::Key":
		return prefix + "kms:" + region + ":" + acct + ":key/" + phys
	case "AWS::SQS::Queue":
		u, err := url.Parse(phys)
		if err != nil {
			t.Fatalf("queue URL %q: %v", phys, err)
		}
		return prefix + "sqs:" + region + ":" + acct + ":" + path.Base(u.Path)
	case "AWS::Logs::LogGroup":
		return prefix + "logs:" + region + ":" + acct + ":log-group:" + phys
	case "AWS::Lambda::Function":
		return prefix + "lambda:" + region + ":" + acct + ":function:" + phys
	case "AWS::Events::Rule":
		return prefix + "events:" + region + ":" + acct + ":rule/" + phys
	case "AWS::SNS::Topic", "AWS::IAM::ManagedPolicy":
		return phys
	case "AWS::IAM::Role":
		out, err := s.roleARN(t, phys)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	t.Fatalf("%s: no ARN rule for %s (%v)", s.Name, id, r["Type"])
	return ""
}

// queueName is the name of a queue from its URL.
func queueName(queueURL string) string {
	return queueURL[strings.LastIndexByte(queueURL, '/')+1:]
}

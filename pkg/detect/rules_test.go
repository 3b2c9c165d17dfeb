package detect_test

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/iam-watchdog/iam-watchdog/pkg/cloudtrail"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
)

// findings runs the default detector and returns rule IDs and severities, in order.
func findings(t *testing.T, d *detect.Detector, rec *cloudtrail.Record) []string {
	t.Helper()
	var out []string
	for _, f := range d.Detect(rec) {
		checkWhy(t, f)
		out = append(out, f.Rule+":"+f.Severity.String())
	}
	return out
}

type ruleCase struct {
	name string
	rec  *cloudtrail.Record
	want []string // "rule:severity", none for no finding
}

func runCases(t *testing.T, d *detect.Detector, cases []ruleCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := findings(t, d, c.rec); !slices.Equal(got, c.want) {
				t.Errorf("findings %v, want %v", got, c.want)
			}
		})
	}
}

func with(rec *cloudtrail.Record, vs ...variant) *cloudtrail.Record {
	for _, v := range vs {
		v(rec)
	}
	return rec
}

func signin(id cloudtrail.UserIdentity, result, mfa string) *cloudtrail.Record {
	rec := rootSignin(mfa, result)
	rec.UserIdentity = id
	return rec
}

func TestConsoleSignins(t *testing.T) {
	sso := cloudtrail.UserIdentity{Type: "AssumedRole", ARN: "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_ReadOnly_0a1b2c3d/kim@example.com",
		SessionContext: &cloudtrail.SessionContext{}}
	unknown := cloudtrail.UserIdentity{Type: "IAMUser", AccountID: account, UserName: "HIDDEN_DUE_TO_SECURITY_REASONS"}
	cases := []ruleCase{
		{"IAM user without MFA", signin(iamUser("bob"), "Success", "No"), []string{"console-login-no-mfa:medium"}},
		{"IAM user, MFAUsed missing", with(signin(iamUser("bob"), "Success", "No"), func(r *cloudtrail.Record) { r.AdditionalEventData = nil }), []string{"console-login-no-mfa:medium"}},
		{"IAM user with MFA", signin(iamUser("bob"), "Success", "Yes"), nil},
		// Federated sign-ins always say MFAUsed "No": the identity provider did the MFA.
		{"IAM Identity Center", signin(sso, "Success", "No"), nil},
		{"SAML federated user", signin(cloudtrail.UserIdentity{Type: "SAMLUser", UserName: "kim"}, "Success", "No"), nil},
		{"IAM user through a SAML provider", with(signin(iamUser("bob"), "Success", "No"), func(r *cloudtrail.Record) {
			r.AdditionalEventData = json.RawMessage(`{"MFAUsed":"No","SamlProviderArn":"arn:aws:iam::123456789012:saml-provider/Okta"}`)
		}), nil},
		{"federation token", signin(cloudtrail.UserIdentity{Type: "FederatedUser", ARN: "arn:aws:sts::123456789012:federated-user/kim"}, "Success", "No"), nil},
		// MFAUsed can be "Yes" on a failed sign-in: it is a failure, not an MFA sign-in.
		{"failed with MFAUsed Yes", signin(iamUser("bob"), "Failure", "Yes"), []string{"console-auth-failure:low"}},
		{"failed without MFA", signin(iamUser("bob"), "Failure", "No"), []string{"console-auth-failure:low"}},
		{"failed, unknown user name", signin(unknown, "Failure", "No"), []string{"console-auth-failure:low"}},
		{"failed federated", signin(sso, "Failure", "No"), []string{"console-auth-failure:low"}},
		// The root user's sign-ins are root_signin's, failed or not, and only root_signin's.
		{"root without MFA", rootSignin("No", "Success"), []string{"root-console-signin:critical"}},
		{"root failed", rootSignin("Yes", "Failure"), []string{"root-console-signin:medium"}},
	}
	runCases(t, detect.Default(), cases)
	if f := detect.Default().Detect(signin(unknown, "Failure", "No")); len(f) != 1 || f[0].Target != "" || strings.Contains(f[0].Why, "HIDDEN") {
		t.Errorf("a sign-in under an unknown name must name no user: %+v", f)
	}
}

// TestOneFindingPerEvent holds the choice documented on Detect: the specific rule reports, the
// AnyEvent rules only speak when no indexed rule did, and the first of them wins.
func TestOneFindingPerEvent(t *testing.T) {
	unwatched := func(id cloudtrail.UserIdentity) *cloudtrail.Record {
		return synthetic("ec2.amazonaws.com", "RunInstances", id, `{"instanceType":"t4g.small"}`, "")
	}
	checkMfa := rootSignin("Yes", "Success")
	checkMfa.EventName = "CheckMfa"
	cases := []ruleCase{
		{"root CreateAccessKey is access_key_created only", synthetic("iam.amazonaws.com", "CreateAccessKey", rootUser(), "", `{"accessKey":{"accessKeyId":"AKIA5EXAMPLEROOTKEY1"}}`),
			[]string{"access-key-created:critical"}},
		{"root ConsoleLogin is root_signin only", rootSignin("Yes", "Success"), []string{"root-console-signin:high"}},
		{"root CheckMfa is part of the sign-in", checkMfa, nil},
		{"denied CreateAccessKey is access_key_created only", with(synthetic("iam.amazonaws.com", "CreateAccessKey", iamUser("erin"), `{"userName":"erin"}`, ""), denied),
			[]string{"access-key-created:low"}},
		{"root on an unwatched event", unwatched(rootUser()), []string{"root-activity:critical"}},
		{"root denied on an unwatched event", with(unwatched(rootUser()), denied), []string{"root-activity:medium"}},
		{"user denied on an unwatched event", with(unwatched(iamUser("erin")), denied), []string{"unauthorized-api-calls:low"}},
		{"user on an unwatched event", unwatched(iamUser("erin")), nil},
	}
	runCases(t, detect.Default(), cases)
}

func TestRootActivity(t *testing.T) {
	call := func(name string, readOnly bool, vs ...variant) *cloudtrail.Record {
		rec := synthetic("s3.amazonaws.com", name, rootUser(), `{"bucketName":"b"}`, "")
		rec.ReadOnly = &readOnly
		return with(rec, vs...)
	}
	cases := []ruleCase{
		{"a change", call("PutBucketVersioning", false), []string{"root-activity:critical"}},
		{"a read", call("GetBucketAcl", true), []string{"root-activity:high"}},
		{"readOnly missing, a List verb", with(call("ListBuckets", true), func(r *cloudtrail.Record) { r.ReadOnly = nil }), []string{"root-activity:high"}},
		{"refused", call("PutBucketVersioning", false, denied), []string{"root-activity:medium"}},
		// CIS 4.3: neither a call a service made for root nor a service event is root usage.
		{"invoked by a service", call("PutBucketVersioning", false, func(r *cloudtrail.Record) { r.UserIdentity.InvokedBy = "s3.amazonaws.com" }), nil},
		{"service event", call("PutBucketVersioning", false, func(r *cloudtrail.Record) { r.EventType = "AwsServiceEvent" }), nil},
		{"not root", with(call("PutBucketVersioning", false), func(r *cloudtrail.Record) { r.UserIdentity = iamUser("alice") }), nil},
	}
	runCases(t, detect.Default(), cases)
	passwordChanged := rootSignin("Yes", "Success")
	passwordChanged.EventName, passwordChanged.ResponseElements = "PasswordUpdated", json.RawMessage(`{"PasswordUpdated":"Success"}`)
	failedChange := rootSignin("Yes", "Success")
	failedChange.EventName, failedChange.ResponseElements = "PasswordUpdated", json.RawMessage(`{"PasswordUpdated":"Failure"}`)
	runCases(t, detect.Default(), []ruleCase{
		{"root password changed", passwordChanged, []string{"root-activity:critical"}},
		{"root password change failed", failedChange, []string{"root-activity:medium"}},
	})
}

func TestAssumeRoot(t *testing.T) {
	assume := func(task string) *cloudtrail.Record {
		return synthetic("sts.amazonaws.com", "AssumeRoot", iamUser("alice"),
			`{"targetPrincipal":"210987654321","taskPolicyArn":{"arn":"arn:aws:iam::aws:policy/root-task/`+task+`"}}`, "")
	}
	runCases(t, detect.Default(), []ruleCase{
		{"restore a root password", assume("IAMCreateRootUserPassword"), []string{"root-session-assumed:critical"}},
		{"unlock a bucket", assume("S3UnlockBucketPolicy"), []string{"root-session-assumed:high"}},
		{"audit root credentials", assume("IAMAuditRootUserCredentials"), []string{"root-session-assumed:medium"}},
		{"refused", with(assume("S3UnlockBucketPolicy"), denied), []string{"root-session-assumed:medium"}},
	})
	f := detect.Default().Detect(assume("SQSUnlockQueuePolicy"))[0]
	if f.Target != "arn:aws:iam::210987654321:root" || !strings.Contains(f.Why, "210987654321") || !strings.Contains(f.Why, "SQSUnlockQueuePolicy") {
		t.Errorf("AssumeRoot must say whose root and which task policy: target %q, %q", f.Target, f.Why)
	}
}

// TestUnauthorizedGrouping holds CIS 4.1 grouped as intended: the exclusions apply to both error
// codes, which the published filter's precedence does not do.
func TestUnauthorizedGrouping(t *testing.T) {
	call := func(source, name, code string, readOnly bool, vs ...variant) *cloudtrail.Record {
		rec := synthetic(source, name, iamUser("erin"), "", "")
		rec.ErrorCode, rec.ReadOnly = code, &readOnly
		return with(rec, vs...)
	}
	fromLogDelivery := func(r *cloudtrail.Record) { r.SourceIPAddress = "delivery.logs.amazonaws.com" }
	cases := []ruleCase{
		{"EC2 UnauthorizedOperation", call("ec2.amazonaws.com", "DescribeInstances", "Client.UnauthorizedOperation", true), []string{"unauthorized-api-calls:low"}},
		{"AccessDeniedException", call("secretsmanager.amazonaws.com", "GetSecretValue", "AccessDeniedException", true), []string{"unauthorized-api-calls:low"}},
		{"denied IAM write", call("iam.amazonaws.com", "CreateUser", "AccessDenied", false), []string{"unauthorized-api-calls:medium"}},
		{"denied IAM read", call("iam.amazonaws.com", "GetUser", "AccessDenied", true), []string{"unauthorized-api-calls:low"}},
		{"UnauthorizedOperation from log delivery", call("ec2.amazonaws.com", "DescribeInstances", "Client.UnauthorizedOperation", true, fromLogDelivery), nil},
		{"AccessDenied from log delivery", call("s3.amazonaws.com", "PutObject", "AccessDenied", false, fromLogDelivery), nil},
		{"HeadBucket", call("s3.amazonaws.com", "HeadBucket", "AccessDenied", true), nil},
		{"another error", call("iam.amazonaws.com", "GetUser", "NoSuchEntity", true), nil},
		{"not CIS's code", call("ec2.amazonaws.com", "DescribeInstances", "UnauthorizedAccess", true), nil},
		{"invoked by a service", call("s3.amazonaws.com", "GetBucketAcl", "AccessDenied", true, func(r *cloudtrail.Record) { r.UserIdentity.InvokedBy = "config.amazonaws.com" }), nil},
		{"an AWS service itself", call("s3.amazonaws.com", "GetBucketAcl", "AccessDenied", true, func(r *cloudtrail.Record) {
			r.UserIdentity = cloudtrail.UserIdentity{Type: "AWSService", InvokedBy: "cloudtrail.amazonaws.com"}
		}), nil},
	}
	runCases(t, detect.Default(), cases)
}

func TestSecurityGroupOpenings(t *testing.T) {
	ingress := func(params string) *cloudtrail.Record {
		return synthetic("ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", iamUser("alice"), params, "")
	}
	cases := []ruleCase{
		{"SSH from anywhere", ingress(sgIngress("tcp", 22, 22, "0.0.0.0/0")), []string{"security-group-changed:high"}},
		{"RDP from anywhere over IPv6", ingress(sgIngress("tcp", 3389, 3389, "::/0")), []string{"security-group-changed:high"}},
		{"a range holding WinRM", ingress(sgIngress("tcp", 5000, 6000, "0.0.0.0/0")), []string{"security-group-changed:high"}},
		{"every TCP port", ingress(sgIngress("tcp", 0, 65535, "0.0.0.0/0")), []string{"security-group-changed:high"}},
		{"all traffic", ingress(sgIngress("-1", -1, -1, "0.0.0.0/0")), []string{"security-group-changed:high"}},
		{"a /0 written with host bits", ingress(sgIngress("tcp", 22, 22, "203.0.113.9/0")), []string{"security-group-changed:high"}},
		{"HTTPS from anywhere", ingress(sgIngress("tcp", 443, 443, "0.0.0.0/0")), []string{"security-group-changed:medium"}},
		{"all ICMP from anywhere", ingress(sgIngress("icmp", -1, -1, "0.0.0.0/0")), []string{"security-group-changed:medium"}},
		{"SSH from a private range", ingress(sgIngress("tcp", 22, 22, "10.0.0.0/8")), []string{"security-group-changed:low"}},
		{"flat form", ingress(`{"groupId":"sg-1","ipPermissions":{},"ipProtocol":"tcp","fromPort":22,"toPort":22,"cidrIp":"0.0.0.0/0"}`), []string{"security-group-changed:high"}},
		{"egress to anywhere", synthetic("ec2.amazonaws.com", "AuthorizeSecurityGroupEgress", iamUser("alice"), sgIngress("-1", -1, -1, "0.0.0.0/0"), ""), []string{"security-group-changed:low"}},
		{"revoked", synthetic("ec2.amazonaws.com", "RevokeSecurityGroupIngress", iamUser("alice"), sgIngress("tcp", 22, 22, "0.0.0.0/0"), ""), []string{"security-group-changed:low"}},
	}
	runCases(t, detect.Default(), cases)
}

func TestNetworkACLOpenings(t *testing.T) {
	entry := func(action string, egress bool, proto, cidr, ports string) *cloudtrail.Record {
		return synthetic("ec2.amazonaws.com", "ReplaceNetworkAclEntry", iamUser("alice"),
			`{"networkAclId":"acl-1","ruleNumber":100,"ruleAction":"`+action+`","egress":`+map[bool]string{true: "true", false: "false"}[egress]+
				`,"aclProtocol":"`+proto+`","cidrBlock":"`+cidr+`","portRange":`+ports+`}`, "")
	}
	runCases(t, detect.Default(), []ruleCase{
		{"allow all from anywhere", entry("allow", false, "-1", "0.0.0.0/0", `{}`), []string{"nacl-changed:medium"}},
		{"allow SSH from anywhere", entry("allow", false, "6", "0.0.0.0/0", `{"from":22,"to":22}`), []string{"nacl-changed:medium"}},
		{"allow HTTPS from anywhere", entry("allow", false, "6", "0.0.0.0/0", `{"from":443,"to":443}`), []string{"nacl-changed:low"}},
		{"deny from anywhere", entry("deny", false, "-1", "0.0.0.0/0", `{}`), []string{"nacl-changed:low"}},
		{"allow all outbound", entry("allow", true, "-1", "0.0.0.0/0", `{}`), []string{"nacl-changed:low"}},
	})
}

func TestAdminGroups(t *testing.T) {
	add := func(group string) *cloudtrail.Record {
		return synthetic("iam.amazonaws.com", "AddUserToGroup", iamUser("alice"), `{"groupName":"`+group+`","userName":"bob"}`, "")
	}
	configured := detect.DefaultWith(detect.Settings{AdminGroups: []string{"platform-oncall"}})
	runCases(t, detect.Default(), []ruleCase{
		{"Admins", add("Admins"), []string{"admin-group-membership:high"}},
		{"name containing admin", add("SecurityAdministrators"), []string{"admin-group-membership:high"}},
		{"unlisted group", add("platform-oncall"), nil},
		{"developers", add("developers"), nil},
	})
	runCases(t, configured, []ruleCase{
		{"listed group", add("platform-oncall"), []string{"admin-group-membership:high"}},
		{"listed group, other case", add("Platform-OnCall"), []string{"admin-group-membership:high"}},
		{"heuristic still applies", add("Admins"), []string{"admin-group-membership:high"}},
		{"developers", add("developers"), nil},
	})
	self := detect.Default().Detect(with(add("Admins"), func(r *cloudtrail.Record) {
		r.RequestParameters = json.RawMessage(`{"groupName":"Admins","userName":"alice"}`)
	}))
	if len(self) != 1 || !strings.Contains(self[0].Why, "themselves") {
		t.Errorf("adding oneself must say so: %+v", self)
	}
}

func TestPasswordPolicy(t *testing.T) {
	update := func(params string) *cloudtrail.Record {
		return synthetic("iam.amazonaws.com", "UpdateAccountPasswordPolicy", iamUser("alice"), params, "")
	}
	runCases(t, detect.Default(), []ruleCase{
		{"CIS baseline", update(`{"minimumPasswordLength":14,"passwordReusePrevention":24}`), nil},
		{"stronger", update(`{"minimumPasswordLength":20,"passwordReusePrevention":24,"requireSymbols":true}`), nil},
		{"too short", update(`{"minimumPasswordLength":13,"passwordReusePrevention":24}`), []string{"password-policy-changed:medium"}},
		{"too little reuse prevention", update(`{"minimumPasswordLength":14,"passwordReusePrevention":23}`), []string{"password-policy-changed:medium"}},
		// Parameters not given revert to IAM's defaults: 8 characters, no reuse prevention.
		{"nothing given", update(`{}`), []string{"password-policy-changed:medium"}},
		{"deleted", synthetic("iam.amazonaws.com", "DeleteAccountPasswordPolicy", iamUser("alice"), "", ""), []string{"password-policy-changed:medium"}},
	})
}

func TestLoginProfiles(t *testing.T) {
	profile := func(event string, id cloudtrail.UserIdentity, params string) *cloudtrail.Record {
		return synthetic("iam.amazonaws.com", event, id, params, "")
	}
	role := cloudtrail.UserIdentity{Type: "AssumedRole", ARN: "arn:aws:sts::123456789012:assumed-role/admin/alice"}
	runCases(t, detect.Default(), []ruleCase{
		{"for another user", profile("CreateLoginProfile", iamUser("alice"), `{"userName":"bob"}`), []string{"login-profile-created:high"}},
		{"reset with a forced change", profile("UpdateLoginProfile", iamUser("alice"), `{"userName":"bob","passwordResetRequired":true}`), []string{"login-profile-created:medium"}},
		{"by a role", profile("UpdateLoginProfile", role, `{"userName":"alice","passwordResetRequired":false}`), []string{"login-profile-created:high"}},
		{"own, named", profile("UpdateLoginProfile", iamUser("alice"), `{"userName":"Alice"}`), nil},
		{"own, unnamed", profile("CreateLoginProfile", iamUser("alice"), `{}`), nil},
	})
}

func TestTrailChanges(t *testing.T) {
	update := func(params string) *cloudtrail.Record {
		return synthetic("cloudtrail.amazonaws.com", "UpdateTrail", iamUser("alice"), params, "")
	}
	selectors := func(params string) *cloudtrail.Record {
		return synthetic("cloudtrail.amazonaws.com", "PutEventSelectors", iamUser("alice"), params, "")
	}
	runCases(t, detect.Default(), []ruleCase{
		{"encryption removed", update(`{"name":"t","kmsKeyId":""}`), []string{"cloudtrail-trail-updated:high"}},
		{"logs sent elsewhere", update(`{"name":"t","s3BucketName":"someone-elses-bucket"}`), []string{"cloudtrail-trail-updated:high"}},
		{"CloudWatch Logs delivery stopped", update(`{"name":"t","cloudWatchLogsLogGroupArn":"","cloudWatchLogsRoleArn":""}`), []string{"cloudtrail-trail-updated:high"}},
		{"validation off", update(`{"name":"t","enableLogFileValidation":false}`), []string{"cloudtrail-trail-updated:high"}},
		{"SNS topic only", update(`{"name":"t","snsTopicName":"trail-deliveries"}`), []string{"cloudtrail-trail-updated:low"}},
		{"basic: management off", selectors(`{"trailName":"t","eventSelectors":[{"readWriteType":"All","includeManagementEvents":false}]}`), []string{"cloudtrail-selectors-changed:high"}},
		{"basic: reads only", selectors(`{"trailName":"t","eventSelectors":[{"readWriteType":"ReadOnly","includeManagementEvents":true}]}`), []string{"cloudtrail-selectors-changed:high"}},
		{"basic: writes only", selectors(`{"trailName":"t","eventSelectors":[{"readWriteType":"WriteOnly","includeManagementEvents":true}]}`), nil},
		{"basic: management by default", selectors(`{"trailName":"t","eventSelectors":[{"readWriteType":"All"}]}`), nil},
		{"advanced: management", selectors(`{"trailName":"t","advancedEventSelectors":[{"name":"m","fieldSelectors":[{"field":"eventCategory","equals":["Management"]}]}]}`), nil},
		{"advanced: management reads only", selectors(`{"trailName":"t","advancedEventSelectors":[{"name":"m","fieldSelectors":[{"field":"eventCategory","equals":["Management"]},{"field":"readOnly","equals":["true"]}]}]}`),
			[]string{"cloudtrail-selectors-changed:high"}},
		{"advanced: data events only", selectors(`{"trailName":"t","advancedEventSelectors":[{"name":"d","fieldSelectors":[{"field":"eventCategory","equals":["Data"]},{"field":"resources.type","equals":["AWS::S3::Object"]}]}]}`),
			[]string{"cloudtrail-selectors-changed:high"}},
	})
}

func TestBucketExposure(t *testing.T) {
	policy := func(stmt string) *cloudtrail.Record {
		return synthetic("s3.amazonaws.com", "PutBucketPolicy", iamUser("alice"), `{"bucketName":"b","bucketPolicy":{"Version":"2012-10-17","Statement":[`+stmt+`]}}`, "")
	}
	acl := func(params string) *cloudtrail.Record {
		return synthetic("s3.amazonaws.com", "PutBucketAcl", iamUser("alice"), `{"bucketName":"b",`+params+`}`, "")
	}
	grant := func(uri string) string {
		return `"AccessControlPolicy":{"AccessControlList":{"Grant":[{"Grantee":{"xsi:type":"Group","URI":"` + uri + `"},"Permission":"READ"}]}}`
	}
	runCases(t, detect.Default(), []ruleCase{
		{"Principal *", policy(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}`), []string{"s3-bucket-policy-changed:high"}},
		{"Principal AWS *", policy(`{"Effect":"Allow","Principal":{"AWS":["*"]},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}`), []string{"s3-bucket-policy-changed:high"}},
		{"Principal * with a condition", policy(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","Condition":{"StringEquals":{"aws:SourceVpce":"vpce-1"}}}`),
			[]string{"s3-bucket-policy-changed:medium"}},
		{"deny everyone", policy(`{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}`),
			[]string{"s3-bucket-policy-changed:medium"}},
		{"policy as a string", synthetic("s3.amazonaws.com", "PutBucketPolicy", iamUser("alice"),
			`{"bucketName":"b","bucketPolicy":"{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"s3:GetObject\",\"Resource\":\"*\"}]}"}`, ""),
			[]string{"s3-bucket-policy-changed:high"}},
		{"ACL to AllUsers", acl(grant("http://acs.amazonaws.com/groups/global/AllUsers")), []string{"s3-bucket-policy-changed:high"}},
		{"ACL to AuthenticatedUsers", acl(grant("http://acs.amazonaws.com/groups/global/AuthenticatedUsers")), []string{"s3-bucket-policy-changed:high"}},
		{"ACL to log delivery", acl(grant("http://acs.amazonaws.com/groups/s3/LogDelivery")), []string{"s3-bucket-policy-changed:medium"}},
		{"canned private", acl(`"x-amz-acl":["private"]`), []string{"s3-bucket-policy-changed:medium"}},
	})
}

func TestTrustPolicies(t *testing.T) {
	trust := func(principal string) *cloudtrail.Record {
		doc, _ := json.Marshal(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":` + principal + `,"Action":"sts:AssumeRole"}]}`)
		return synthetic("iam.amazonaws.com", "UpdateAssumeRolePolicy", iamUser("alice"), `{"roleName":"app","policyDocument":`+string(doc)+`}`, "")
	}
	runCases(t, detect.Default(), []ruleCase{
		{"another account", trust(`{"AWS":"arn:aws:iam::444455556666:root"}`), []string{"iam-policy-changed:high"}},
		{"another account by ID", trust(`{"AWS":["444455556666"]}`), []string{"iam-policy-changed:high"}},
		{"anyone", trust(`{"AWS":"*"}`), []string{"iam-policy-changed:high"}},
		{"this account", trust(`{"AWS":"arn:aws:iam::123456789012:role/ci"}`), []string{"iam-policy-changed:medium"}},
		{"a service", trust(`{"Service":"lambda.amazonaws.com"}`), []string{"iam-policy-changed:medium"}},
	})
}

// TestUnwatchedEventsCostNothing holds Detect to a map lookup for the common event: no JSON is
// decoded, so no memory is allocated, for a record no rule reports.
func TestUnwatchedEventsCostNothing(t *testing.T) {
	d := detect.Default()
	rec := synthetic("s3.amazonaws.com", "GetObject", iamUser("alice"), `{"bucketName":"b","key":"k"}`, "")
	if n := testing.AllocsPerRun(100, func() { d.Detect(rec) }); n != 0 {
		t.Errorf("Detect allocated %v times on an unwatched event", n)
	}
}

func BenchmarkDetect(b *testing.B) {
	d := detect.Default()
	for _, bc := range []struct {
		name string
		rec  *cloudtrail.Record
	}{
		{"unwatched", synthetic("s3.amazonaws.com", "GetObject", iamUser("alice"), `{"bucketName":"b","key":"k"}`, "")},
		{"denied", with(synthetic("s3.amazonaws.com", "GetObject", iamUser("alice"), `{"bucketName":"b","key":"k"}`, ""), denied)},
		{"security group", synthetic("ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", iamUser("alice"), sgIngress("tcp", 22, 22, "0.0.0.0/0"), "")},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				d.Detect(bc.rec)
			}
		})
	}
}

// TestRuleTable checks the table's own promises: unique IDs, every CIS v3.0 monitoring control
// implemented, AnyEvent rules last and without events, indexed rules with both.
func TestRuleTable(t *testing.T) {
	seen := map[string]bool{}
	cis := map[string]bool{}
	sawAny := false
	for _, r := range detect.Rules() {
		if seen[r.ID] {
			t.Errorf("rule ID %s twice", r.ID)
		}
		seen[r.ID] = true
		for _, c := range r.CIS {
			cis[c] = true
		}
		switch {
		case r.AnyEvent:
			sawAny = true
			if r.Source != detect.AnyEventSource || !slices.Equal(r.Events, []string{detect.AnyEventSource}) || r.Scope == "" {
				t.Errorf("%s: an AnyEvent rule has source and events %q, and a scope", r.ID, detect.AnyEventSource)
			}
		case sawAny:
			t.Errorf("%s comes after an AnyEvent rule: indexed rules first", r.ID)
		case !strings.HasSuffix(r.Source, ".amazonaws.com") || len(r.Events) == 0 || slices.Contains(r.Events, detect.AnyEventSource):
			t.Errorf("%s: an indexed rule needs an event source and event names", r.ID)
		}
	}
	for i := 1; i <= 15; i++ {
		if c := "4." + strconv.Itoa(i); !cis[c] {
			t.Errorf("no rule implements CIS %s", c)
		}
	}
}

package detect_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/iam-watchdog/iam-watchdog/pkg/cloudtrail"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/policy"
)

// The grading principles of DESIGN.md, checked on synthetic records through Detect: root above
// non-root, a change an AWS service made on someone's behalf one step lower, a failed call at
// most medium and below its successful twin, admin-equivalent policies above narrow ones, and a
// root sign-in without MFA above one with it.

func iamUser(name string) cloudtrail.UserIdentity {
	return cloudtrail.UserIdentity{
		Type: "IAMUser", PrincipalID: "AIDA5" + strings.ToUpper(name) + "EXAMPLE",
		ARN: userARN(name), AccountID: account, AccessKeyID: "AKIA5EXAMPLEKEY00001", UserName: name,
	}
}

func rootUser() cloudtrail.UserIdentity {
	return cloudtrail.UserIdentity{Type: "Root", PrincipalID: account, ARN: rootARN, AccountID: account}
}

// synthetic builds a successful record of an API call; params is requestParameters as JSON.
func synthetic(source, name string, id cloudtrail.UserIdentity, params, response string) *cloudtrail.Record {
	rec := &cloudtrail.Record{
		EventVersion: "1.10", EventID: "0f6c1d2e-3a4b-4c5d-8e9f-0a1b2c3d4e5f",
		EventTime:   time.Date(2024, 5, 2, 12, 0, 0, 0, time.UTC),
		EventSource: source, EventName: name, EventType: "AwsApiCall", AWSRegion: "us-east-1",
		SourceIPAddress: "198.51.100.7", UserAgent: "aws-cli/2.15.30", RecipientAccountID: account,
		UserIdentity: id,
	}
	if params != "" {
		rec.RequestParameters = json.RawMessage(params)
	}
	if response != "" {
		rec.ResponseElements = json.RawMessage(response)
	}
	return rec
}

// variant changes one record the way a principle talks about.
type variant func(*cloudtrail.Record)

func asRoot(r *cloudtrail.Record) { r.UserIdentity = rootUser() }

func byCloudFormation(r *cloudtrail.Record) {
	r.UserIdentity.InvokedBy = "cloudformation.amazonaws.com"
	r.SourceIPAddress, r.UserAgent = "cloudformation.amazonaws.com", "cloudformation.amazonaws.com"
}

func denied(r *cloudtrail.Record) {
	r.ErrorCode, r.ErrorMessage = "AccessDenied", "User is not authorized to perform this action"
	r.ResponseElements = nil
}

// apiCase is a successful call by an IAM user that one rule reports.
type apiCase struct {
	name string
	rule string
	rec  func() *cloudtrail.Record
}

func apiCases() []apiCase {
	iam := "iam.amazonaws.com"
	return []apiCase{
		{"access key for self", "access-key-created", func() *cloudtrail.Record {
			return synthetic(iam, "CreateAccessKey", iamUser("alice"), `{"userName":"alice"}`,
				`{"accessKey":{"userName":"alice","accessKeyId":"AKIA5EXAMPLENEWKEY01","status":"Active"}}`)
		}},
		{"access key for self, no userName", "access-key-created", func() *cloudtrail.Record {
			return synthetic(iam, "CreateAccessKey", iamUser("alice"), "",
				`{"accessKey":{"userName":"alice","accessKeyId":"AKIA5EXAMPLENEWKEY02","status":"Active"}}`)
		}},
		{"access key for another user", "access-key-created", func() *cloudtrail.Record {
			return synthetic(iam, "CreateAccessKey", iamUser("alice"), `{"userName":"bob"}`,
				`{"accessKey":{"userName":"bob","accessKeyId":"AKIA5EXAMPLENEWKEY03","status":"Active"}}`)
		}},
		{"narrow managed policy", "user-managed-policy-attached", func() *cloudtrail.Record {
			return synthetic(iam, "AttachUserPolicy", iamUser("alice"),
				`{"userName":"bob","policyArn":"arn:aws:iam::aws:policy/ReadOnlyAccess"}`, "")
		}},
		{"admin managed policy", "user-managed-policy-attached", func() *cloudtrail.Record {
			return synthetic(iam, "AttachUserPolicy", iamUser("alice"),
				`{"userName":"bob","policyArn":"arn:aws:iam::aws:policy/AdministratorAccess"}`, "")
		}},
		{"narrow inline policy", "user-inline-policy-put", func() *cloudtrail.Record {
			return putUserPolicy(iamUser("alice"), narrowDoc)
		}},
		{"admin inline policy", "user-inline-policy-put", func() *cloudtrail.Record {
			return putUserPolicy(iamUser("alice"), `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)
		}},
		{"own MFA", "mfa-deactivated", func() *cloudtrail.Record {
			return synthetic(iam, "DeactivateMFADevice", iamUser("alice"),
				`{"userName":"alice","serialNumber":"arn:aws:iam::123456789012:mfa/alice-phone"}`, "")
		}},
		{"own MFA, no userName", "mfa-deactivated", func() *cloudtrail.Record {
			return synthetic(iam, "DeactivateMFADevice", iamUser("alice"),
				`{"serialNumber":"arn:aws:iam::123456789012:mfa/alice-phone"}`, "")
		}},
		{"another user's MFA", "mfa-deactivated", func() *cloudtrail.Record {
			return synthetic(iam, "DeactivateMFADevice", iamUser("alice"),
				`{"userName":"bob","serialNumber":"arn:aws:iam::123456789012:mfa/bob-phone"}`, "")
		}},
		{"virtual MFA deleted", "virtual-mfa-deleted", func() *cloudtrail.Record {
			return synthetic(iam, "DeleteVirtualMFADevice", iamUser("alice"),
				`{"serialNumber":"arn:aws:iam::123456789012:mfa/bob-phone"}`, "")
		}},
		{"logging stopped", "cloudtrail-logging-stopped", func() *cloudtrail.Record {
			return synthetic("cloudtrail.amazonaws.com", "StopLogging", iamUser("alice"),
				`{"name":"arn:aws:cloudtrail:us-east-1:123456789012:trail/management-events"}`, "")
		}},
		// The rules graded medium or above; those that start low cannot show a service call and
		// a failure both one step lower, since nothing is below info.
		{"trail deleted", "cloudtrail-trail-deleted", func() *cloudtrail.Record {
			return synthetic("cloudtrail.amazonaws.com", "DeleteTrail", iamUser("alice"), `{"name":"management-events"}`, "")
		}},
		{"trail limited to one Region", "cloudtrail-trail-updated", func() *cloudtrail.Record {
			return synthetic("cloudtrail.amazonaws.com", "UpdateTrail", iamUser("alice"), `{"name":"management-events","isMultiRegionTrail":false}`, "")
		}},
		{"management events off", "cloudtrail-selectors-changed", func() *cloudtrail.Record {
			return synthetic("cloudtrail.amazonaws.com", "PutEventSelectors", iamUser("alice"),
				`{"trailName":"management-events","eventSelectors":[{"readWriteType":"All","includeManagementEvents":false}]}`, "")
		}},
		{"admin policy on a role", "iam-policy-changed", func() *cloudtrail.Record {
			return synthetic(iam, "AttachRolePolicy", iamUser("alice"), `{"roleName":"app","policyArn":"arn:aws:iam::aws:policy/AdministratorAccess"}`, "")
		}},
		{"role trusts another account", "iam-policy-changed", func() *cloudtrail.Record {
			return synthetic(iam, "UpdateAssumeRolePolicy", iamUser("alice"),
				`{"roleName":"app","policyDocument":"{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"444455556666\"},\"Action\":\"sts:AssumeRole\"}}"}`, "")
		}},
		{"weak password policy", "password-policy-changed", func() *cloudtrail.Record {
			return synthetic(iam, "UpdateAccountPasswordPolicy", iamUser("alice"), `{"minimumPasswordLength":6,"passwordReusePrevention":24}`, "")
		}},
		{"password policy deleted", "password-policy-changed", func() *cloudtrail.Record {
			return synthetic(iam, "DeleteAccountPasswordPolicy", iamUser("alice"), "", "")
		}},
		{"console password for another user", "login-profile-created", func() *cloudtrail.Record {
			return synthetic(iam, "CreateLoginProfile", iamUser("alice"), `{"userName":"bob","passwordResetRequired":false}`, "")
		}},
		{"user added to admins", "admin-group-membership", func() *cloudtrail.Record {
			return synthetic(iam, "AddUserToGroup", iamUser("alice"), `{"groupName":"Admins","userName":"bob"}`, "")
		}},
		{"key deletion scheduled", "kms-key-disabled", func() *cloudtrail.Record {
			return synthetic("kms.amazonaws.com", "ScheduleKeyDeletion", iamUser("alice"), `{"keyId":"1234abcd-12ab-34cd-56ef-1234567890ab","pendingWindowInDays":7}`, "")
		}},
		{"key disabled", "kms-key-disabled", func() *cloudtrail.Record {
			return synthetic("kms.amazonaws.com", "DisableKey", iamUser("alice"), `{"keyId":"1234abcd-12ab-34cd-56ef-1234567890ab"}`, "")
		}},
		{"public bucket policy", "s3-bucket-policy-changed", func() *cloudtrail.Record {
			return synthetic("s3.amazonaws.com", "PutBucketPolicy", iamUser("alice"),
				`{"bucketName":"b","bucketPolicy":{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}}`, "")
		}},
		{"Config recorder stopped", "config-changed", func() *cloudtrail.Record {
			return synthetic("config.amazonaws.com", "StopConfigurationRecorder", iamUser("alice"), `{"configurationRecorderName":"default"}`, "")
		}},
		{"SSH open to the internet", "security-group-changed", func() *cloudtrail.Record {
			return synthetic("ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", iamUser("alice"), sgIngress("tcp", 22, 22, "0.0.0.0/0"), "")
		}},
		{"network ACL open to the internet", "nacl-changed", func() *cloudtrail.Record {
			return synthetic("ec2.amazonaws.com", "CreateNetworkAclEntry", iamUser("alice"),
				`{"networkAclId":"acl-1","ruleAction":"allow","egress":false,"aclProtocol":"-1","cidrBlock":"0.0.0.0/0","portRange":{}}`, "")
		}},
		{"internet gateway attached", "network-gateway-changed", func() *cloudtrail.Record {
			return synthetic("ec2.amazonaws.com", "AttachInternetGateway", iamUser("alice"), `{"internetGatewayId":"igw-1","vpcId":"vpc-1"}`, "")
		}},
		{"default route replaced", "route-table-changed", func() *cloudtrail.Record {
			return synthetic("ec2.amazonaws.com", "ReplaceRoute", iamUser("alice"), `{"routeTableId":"rtb-1","destinationCidrBlock":"0.0.0.0/0","gatewayId":"igw-1"}`, "")
		}},
		{"VPC peering accepted", "vpc-changed", func() *cloudtrail.Record {
			return synthetic("ec2.amazonaws.com", "AcceptVpcPeeringConnection", iamUser("alice"), `{"vpcPeeringConnectionId":"pcx-1"}`, "")
		}},
		{"account left the organization", "organizations-changed", func() *cloudtrail.Record {
			return synthetic("organizations.amazonaws.com", "LeaveOrganization", iamUser("alice"), "", "")
		}},
	}
}

// sgIngress is AuthorizeSecurityGroupIngress's requestParameters for one rule.
func sgIngress(protocol string, from, to int, cidr string) string {
	ranges := `"ipRanges":{"items":[{"cidrIp":"` + cidr + `"}]},"ipv6Ranges":{}`
	if strings.Contains(cidr, ":") {
		ranges = `"ipRanges":{},"ipv6Ranges":{"items":[{"cidrIpv6":"` + cidr + `"}]}`
	}
	return fmt.Sprintf(`{"groupId":"sg-1","ipPermissions":{"items":[{"ipProtocol":%q,"fromPort":%d,"toPort":%d,"groups":{},%s,"prefixListIds":{}}]}}`,
		protocol, from, to, ranges)
}

const narrowDoc = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:ListBucket"],"Resource":"arn:aws:s3:::example-bucket/*"}]}`

func putUserPolicy(id cloudtrail.UserIdentity, doc string) *cloudtrail.Record {
	params, _ := json.Marshal(map[string]string{"userName": "bob", "policyName": "inline", "policyDocument": doc})
	return synthetic("iam.amazonaws.com", "PutUserPolicy", id, string(params), "")
}

// grade runs the default detector on rec after applying vs, and returns the one finding of
// rule it must produce.
func grade(t *testing.T, rule string, rec *cloudtrail.Record, vs ...variant) detect.Finding {
	t.Helper()
	for _, v := range vs {
		v(rec)
	}
	var found []detect.Finding
	for _, f := range detect.Default().Detect(rec) {
		if f.Rule == rule {
			found = append(found, f)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%s %s: got %d findings of %s, want 1", rec.UserIdentity.Type, rec.EventName, len(found), rule)
	}
	return found[0]
}

func TestRootAboveNonRoot(t *testing.T) {
	for _, c := range apiCases() {
		t.Run(c.name, func(t *testing.T) {
			user := grade(t, c.rule, c.rec())
			root := grade(t, c.rule, c.rec(), asRoot)
			if root.Severity <= user.Severity {
				t.Errorf("root %s is not above IAM user %s", root.Severity, user.Severity)
			}
			if root.Severity != detect.Critical {
				t.Errorf("a successful change by root is %s, want critical", root.Severity)
			}
			if root.Manual == "" {
				t.Error("a root finding must give the manual steps")
			}
		})
	}
}

func TestInvokedByServiceOneLower(t *testing.T) {
	for _, c := range apiCases() {
		for _, who := range []struct {
			name string
			vs   []variant
		}{{"IAM user", nil}, {"root", []variant{asRoot}}} {
			t.Run(c.name+"/"+who.name, func(t *testing.T) {
				direct := grade(t, c.rule, c.rec(), who.vs...)
				viaService := grade(t, c.rule, c.rec(), append(who.vs, byCloudFormation)...)
				if viaService.Severity != direct.Severity-1 {
					t.Errorf("via CloudFormation %s, want one below %s", viaService.Severity, direct.Severity)
				}
				// Root's own keys and MFA cannot come from a service (CloudFormation's
				// AWS::IAM::AccessKey needs a UserName), so only a user's sentence is checked.
				if who.vs == nil && !strings.Contains(viaService.Why, "cloudformation.amazonaws.com") {
					t.Errorf("Why does not say which service made the change: %q", viaService.Why)
				}
			})
		}
	}
}

func TestFailedAtMostMediumAndBelowSuccess(t *testing.T) {
	for _, c := range apiCases() {
		for _, who := range []struct {
			name string
			vs   []variant
		}{
			{"IAM user", nil},
			{"root", []variant{asRoot}},
			{"IAM user via CloudFormation", []variant{byCloudFormation}},
			{"root via CloudFormation", []variant{asRoot, byCloudFormation}},
		} {
			t.Run(c.name+"/"+who.name, func(t *testing.T) {
				ok := grade(t, c.rule, c.rec(), who.vs...)
				failed := grade(t, c.rule, c.rec(), append(who.vs, denied)...)
				if failed.Severity > detect.Medium {
					t.Errorf("failed call is %s, want at most medium", failed.Severity)
				}
				if failed.Severity >= ok.Severity {
					t.Errorf("failed call %s is not below the successful one %s", failed.Severity, ok.Severity)
				}
				// A failed call changed nothing: even in auto mode it must never be acted on.
				auto := policy.Config{Mode: policy.Auto, QuarantinePolicyARN: "arn:aws:iam::123456789012:policy/q"}
				if dec := auto.Decide(&failed); dec.Act {
					t.Errorf("a failed call changed nothing, yet auto mode would act: %+v", failed.Action)
				}
				if !strings.Contains(failed.Why, "AccessDenied") {
					t.Errorf("Why does not say the call failed: %q", failed.Why)
				}
			})
		}
	}
}

func rootSignin(mfa, result string) *cloudtrail.Record {
	rec := synthetic("signin.amazonaws.com", "ConsoleLogin", rootUser(), "", `{"ConsoleLogin":"`+result+`"}`)
	rec.EventType = "AwsConsoleSignIn"
	rec.AdditionalEventData = json.RawMessage(`{"LoginTo":"https://console.aws.amazon.com/console/home","MobileVersion":"No","MFAUsed":"` + mfa + `"}`)
	if result == "Failure" {
		rec.ErrorMessage = "Failed authentication"
	}
	return rec
}

func TestRootSigninGrading(t *testing.T) {
	const rule = "root-console-signin"
	noMFA := grade(t, rule, rootSignin("No", "Success"))
	withMFA := grade(t, rule, rootSignin("Yes", "Success"))
	failed := grade(t, rule, rootSignin("No", "Failure"))
	if noMFA.Severity != detect.Critical || withMFA.Severity != detect.High || failed.Severity != detect.Medium {
		t.Errorf("root sign-in without MFA %s, with MFA %s, failed %s; want critical, high, medium", noMFA.Severity, withMFA.Severity, failed.Severity)
	}
	// A failure recorded with an errorCode, as other failed calls are, is still a failure.
	coded := rootSignin("Yes", "Success")
	coded.ErrorCode = "AccessDenied"
	if f := grade(t, rule, coded); f.Severity != detect.Medium {
		t.Errorf("root sign-in with errorCode is %s, want medium", f.Severity)
	}
	for _, id := range []cloudtrail.UserIdentity{iamUser("alice"), {Type: "AssumedRole", ARN: "arn:aws:sts::123456789012:assumed-role/r/s"}} {
		rec := rootSignin("No", "Success")
		rec.UserIdentity = id
		for _, f := range detect.Default().Detect(rec) {
			if f.Rule == rule {
				t.Errorf("%s sign-in gave a %s finding; only root sign-ins are this rule's", id.Type, rule)
			}
		}
	}
}

func TestManagedPolicyAdminAboveNarrow(t *testing.T) {
	attach := func(arn string) *cloudtrail.Record {
		return synthetic("iam.amazonaws.com", "AttachUserPolicy", iamUser("alice"), `{"userName":"bob","policyArn":"`+arn+`"}`, "")
	}
	admin := []string{
		"arn:aws:iam::aws:policy/AdministratorAccess",
		"arn:aws:iam::aws:policy/IAMFullAccess",
		"arn:aws-us-gov:iam::aws:policy/AdministratorAccess",
		"arn:aws-cn:iam::aws:policy/IAMFullAccess",
	}
	narrow := []string{
		"arn:aws:iam::aws:policy/ReadOnlyAccess",
		"arn:aws:iam::aws:policy/AmazonS3FullAccess",
		"arn:aws:iam::aws:policy/IAMReadOnlyAccess",
		"arn:aws:iam::aws:policy/job-function/ViewOnlyAccess",
		"arn:aws:iam::123456789012:policy/deploy-artifacts",
	}
	compareAdminNarrow(t, "user-managed-policy-attached", admin, narrow, attach)
}

func TestInlinePolicyAdminAboveNarrow(t *testing.T) {
	admin := map[string]string{
		`Action "*"`:               `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`,
		`Action "iam:*"`:           `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:*","Resource":"*"}]}`,
		`Action "IAM:*"`:           `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"IAM:*","Resource":"*"}]}`,
		`list containing "*"`:      `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","*"],"Resource":"*"}]}`,
		`NotAction with Allow`:     `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":["iam:*","organizations:*"],"Resource":"*"}]}`,
		`Statement single object`:  `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`,
		`admin after a narrow one`: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"},{"Effect":"Allow","Action":"*","Resource":"*"}]}`,
		`pretty-printed`:           "{\n    \"Version\": \"2012-10-17\",\n    \"Statement\": [\n        {\n            \"Effect\": \"Allow\",\n            \"Action\": \"*\",\n            \"Resource\": \"*\"\n        }\n    ]\n}",
		`URL-encoded`:              percentEncode("{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [{\"Effect\": \"Allow\", \"Action\": \"*\", \"Resource\": \"*\"}]\n}"),
		`form-encoded`:             url.QueryEscape(`{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "iam:*", "Resource": "*"}}`),
	}
	narrow := map[string]string{
		`narrow actions`:        narrowDoc,
		`Deny "*"`:              `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}`,
		`Deny "*" and narrow`:   `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"false"}}},{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`,
		`Deny NotAction`:        `{"Version":"2012-10-17","Statement":{"Effect":"Deny","NotAction":"iam:ChangePassword","Resource":"*"}}`,
		`service wildcard`:      `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`,
		`IAM read wildcard`:     `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:Get*","iam:List*"],"Resource":"*"}]}`,
		`URL-encoded Deny "*"`:  percentEncode(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}`),
		`not JSON`:              `Statement: Allow *`,
		`empty`:                 ``,
		`no Statement`:          `{"Version":"2012-10-17"}`,
		`Statement of a string`: `{"Version":"2012-10-17","Statement":"Allow *"}`,
	}
	var adminDocs, narrowDocs []string
	names := map[string]string{}
	for name, doc := range admin {
		adminDocs, names[doc] = append(adminDocs, doc), name
	}
	for name, doc := range narrow {
		narrowDocs, names[doc] = append(narrowDocs, doc), name
	}
	compareAdminNarrow(t, "user-inline-policy-put", adminDocs, narrowDocs, func(doc string) *cloudtrail.Record {
		return putUserPolicy(iamUser("alice"), doc)
	}, names)
}

// compareAdminNarrow checks, for an IAM user acting directly, through CloudFormation and with
// a failed call, that every admin-equivalent policy grades above every narrow one and that the
// sentence says which it is.
func compareAdminNarrow(t *testing.T, rule string, admin, narrow []string, build func(string) *cloudtrail.Record, names ...map[string]string) {
	t.Helper()
	label := func(p string) string {
		if len(names) > 0 && names[0][p] != "" {
			return names[0][p]
		}
		return p
	}
	for _, how := range []struct {
		name string
		vs   []variant
	}{{"direct", nil}, {"via CloudFormation", []variant{byCloudFormation}}, {"failed", []variant{denied}}} {
		for _, a := range admin {
			fa := grade(t, rule, build(a), how.vs...)
			if how.vs == nil && (fa.Severity != detect.High || !strings.Contains(fa.Why, "admin-equivalent")) {
				t.Errorf("%s: admin-equivalent %s graded %s: %q", how.name, label(a), fa.Severity, fa.Why)
			}
			for _, n := range narrow {
				fn := grade(t, rule, build(n), how.vs...)
				if fa.Severity <= fn.Severity {
					t.Errorf("%s: admin-equivalent %s (%s) is not above narrow %s (%s)", how.name, label(a), fa.Severity, label(n), fn.Severity)
				}
				if how.vs == nil && (fn.Severity != detect.Medium || !strings.Contains(fn.Why, "narrow")) {
					t.Errorf("%s: narrow %s graded %s: %q", how.name, label(n), fn.Severity, fn.Why)
				}
			}
		}
	}
}

// percentEncode escapes every byte outside the unreserved set, as the URL-encoded documents in
// CloudTrail's IAM examples are (%7B, %22, %20, …).
func percentEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-_.~", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func TestSeverityBounds(t *testing.T) {
	for s := detect.Info; s <= detect.Critical; s++ {
		back, err := detect.ParseSeverity(s.String())
		if err != nil || back != s {
			t.Errorf("ParseSeverity(%q) = %v, %v", s.String(), back, err)
		}
	}
	if _, err := detect.ParseSeverity("severe"); err == nil {
		t.Error("ParseSeverity accepted an unknown name")
	}
}

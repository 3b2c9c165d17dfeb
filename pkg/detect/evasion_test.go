package detect_test

import (
	"strings"
	"testing"

	"github.com/iam-watchdog/iam-watchdog/pkg/cloudtrail"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
)

// TestDefenseEvasion: services that would see an attacker, switched off, graded by how much the
// account goes blind (issue 16). Parameters are in the shapes the services' API references and
// CloudTrail pages give.
func TestDefenseEvasion(t *testing.T) {
	gd := func(event, params string) *cloudtrail.Record {
		return synthetic("guardduty.amazonaws.com", event, iamUser("alice"), params, "")
	}
	s3 := func(event, params string) *cloudtrail.Record {
		return synthetic("s3.amazonaws.com", event, iamUser("alice"), params, "")
	}
	const det = `"detectorId":"12abc34d567e8fa901bc2d34e56789f0"`
	bpa := func(acls, ignore, policy, restrict string) string {
		return `"PublicAccessBlockConfiguration":{"BlockPublicAcls":` + acls + `,"IgnorePublicAcls":` + ignore + `,"BlockPublicPolicy":` + policy + `,"RestrictPublicBuckets":` + restrict + `}`
	}
	runCases(t, detect.Default(), []ruleCase{
		{"GuardDuty detector deleted", gd("DeleteDetector", `{`+det+`}`), []string{"guardduty-disabled:high"}},
		{"GuardDuty detector suspended", gd("UpdateDetector", `{`+det+`,"enable":false}`), []string{"guardduty-disabled:high"}},
		{"GuardDuty feature off", gd("UpdateDetector", `{`+det+`,"features":[{"name":"RUNTIME_MONITORING","status":"DISABLED"}]}`), []string{"guardduty-disabled:medium"}},
		{"GuardDuty data source off", gd("UpdateDetector", `{`+det+`,"dataSources":{"s3Logs":{"enable":false}}}`), []string{"guardduty-disabled:medium"}},
		{"GuardDuty feature on", gd("UpdateDetector", `{`+det+`,"features":[{"name":"S3_DATA_EVENTS","status":"ENABLED"}]}`), nil},
		{"GuardDuty enabled", gd("UpdateDetector", `{`+det+`,"enable":true}`), nil},
		{"GuardDuty exports deleted", gd("DeletePublishingDestination", `{`+det+`,"destinationId":"a1b2c3d4e5f6"}`), []string{"guardduty-disabled:medium"}},
		{"GuardDuty left its administrator", gd("DisassociateFromAdministratorAccount", `{`+det+`}`), []string{"guardduty-disabled:medium"}},
		{"GuardDuty deleted by root", with(gd("DeleteDetector", `{`+det+`}`), asRoot), []string{"guardduty-disabled:critical"}},
		{"GuardDuty delete denied", with(gd("DeleteDetector", `{`+det+`}`), denied), []string{"guardduty-disabled:medium"}},
		{"Security Hub disabled", synthetic("securityhub.amazonaws.com", "DisableSecurityHub", iamUser("alice"), "", ""), []string{"securityhub-disabled:medium"}},
		{"analyzer deleted", synthetic("access-analyzer.amazonaws.com", "DeleteAnalyzer", iamUser("alice"), `{"analyzerName":"org"}`, ""), []string{"access-analyzer-deleted:medium"}},
		{"flow logs deleted", synthetic("ec2.amazonaws.com", "DeleteFlowLogs", iamUser("alice"),
			`{"DeleteFlowLogsRequest":{"FlowLogId":[{"content":"fl-1","tag":1},{"content":"fl-2","tag":2}]}}`, ""), []string{"flow-logs-deleted:medium"}},
		{"account block public access deleted", s3("DeleteAccountPublicAccessBlock", `{"Host":"123456789012.s3-control.us-east-1.amazonaws.com"}`), []string{"s3-public-access-block-removed:high"}},
		{"account block public access weakened", s3("PutAccountPublicAccessBlock", `{`+bpa("true", "true", "false", "true")+`}`), []string{"s3-public-access-block-removed:high"}},
		{"account block public access all on", s3("PutAccountPublicAccessBlock", `{`+bpa("true", "true", "true", "true")+`}`), nil},
		{"account block public access, flags as strings", s3("PutAccountPublicAccessBlock", `{`+bpa(`"true"`, `"true"`, `"true"`, `"false"`)+`}`), []string{"s3-public-access-block-removed:high"}},
		{"bucket block public access deleted", s3("DeleteBucketPublicAccessBlock", `{"bucketName":"b","publicAccessBlock":""}`), []string{"s3-public-access-block-removed:medium"}},
		{"bucket block public access weakened", s3("PutBucketPublicAccessBlock", `{"bucketName":"b",`+bpa("false", "true", "true", "true")+`}`), []string{"s3-public-access-block-removed:medium"}},
		{"bucket block public access, a flag left out", s3("PutBucketPublicAccessBlock", `{"bucketName":"b","PublicAccessBlockConfiguration":{"BlockPublicAcls":true,"IgnorePublicAcls":true,"BlockPublicPolicy":true}}`),
			[]string{"s3-public-access-block-removed:medium"}},
		{"bucket block public access all on", s3("PutBucketPublicAccessBlock", `{"bucketName":"b",`+bpa("true", "true", "true", "true")+`}`), nil},
	})
	f := detect.Default().Detect(synthetic("ec2.amazonaws.com", "DeleteFlowLogs", iamUser("alice"), `{"DeleteFlowLogsRequest":{"FlowLogId":[{"content":"fl-1","tag":1},{"content":"fl-2","tag":2}]}}`, ""))[0]
	if !strings.Contains(f.Why, "fl-1, fl-2") {
		t.Errorf("why %q does not name both flow logs", f.Why)
	}
	f = detect.Default().Detect(s3("PutBucketPublicAccessBlock", `{"bucketName":"b",`+bpa("false", "true", "true", "false")+`}`))[0]
	if !strings.Contains(f.Why, "BlockPublicAcls, RestrictPublicBuckets") {
		t.Errorf("why %q does not name the settings turned off", f.Why)
	}
}

// TestTrailLogsExpiring: a lifecycle rule that expires a trail bucket's objects within days
// (trail_buckets, or a name containing "cloudtrail") is cloudtrail-logs-expiring; any other
// lifecycle change stays CIS 4.8's low finding. S3 records the rule as one object or a list.
// Reference: https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketLifecycleConfiguration.html
func TestTrailLogsExpiring(t *testing.T) {
	lifecycle := func(bucket, rules string) *cloudtrail.Record {
		return synthetic("s3.amazonaws.com", "PutBucketLifecycle", iamUser("alice"),
			`{"bucketName":"`+bucket+`","lifecycle":[""],"LifecycleConfiguration":{"xmlns":"http://s3.amazonaws.com/doc/2006-03-01/","Rule":`+rules+`}}`, "")
	}
	expire := func(days string) string {
		return `{"ID":"r","Status":"Enabled","Filter":{"Prefix":""},"Expiration":{"Days":` + days + `}}`
	}
	listed := detect.DefaultWith(detect.Settings{TrailBuckets: []string{"audit-archive"}})
	runCases(t, listed, []ruleCase{
		{"listed bucket, one day", lifecycle("audit-archive", expire("1")), []string{"cloudtrail-logs-expiring:high"}},
		{"listed bucket, a week", lifecycle("audit-archive", expire("7")), []string{"cloudtrail-logs-expiring:high"}},
		{"listed bucket, 30 days", lifecycle("audit-archive", expire("30")), []string{"cloudtrail-logs-expiring:medium"}},
		{"listed bucket, days as a string", lifecycle("audit-archive", expire(`"3"`)), []string{"cloudtrail-logs-expiring:high"}},
		{"listed bucket, a year", lifecycle("audit-archive", expire("365")), []string{"s3-bucket-policy-changed:low"}},
		{"listed bucket, the soonest of two rules", lifecycle("audit-archive", `[`+expire("365")+`,`+expire("2")+`]`), []string{"cloudtrail-logs-expiring:high"}},
		{"listed bucket, rule disabled", lifecycle("audit-archive", `{"ID":"r","Status":"Disabled","Expiration":{"Days":1}}`), []string{"s3-bucket-policy-changed:low"}},
		{"listed bucket, transition only", lifecycle("audit-archive", `{"ID":"r","Status":"Enabled","Transition":{"Days":1,"StorageClass":"GLACIER"}}`), []string{"s3-bucket-policy-changed:low"}},
		{"listed bucket, by date", with(lifecycle("audit-archive", `{"ID":"r","Status":"Enabled","Expiration":{"Date":"2024-05-04T00:00:00.000Z"}}`)), []string{"cloudtrail-logs-expiring:high"}},
		{"listed bucket, by root", with(lifecycle("audit-archive", expire("1")), asRoot), []string{"cloudtrail-logs-expiring:critical"}},
		{"a name with cloudtrail in it", lifecycle("Example-CloudTrail-Logs", expire("1")), []string{"cloudtrail-logs-expiring:high"}},
		{"another bucket", lifecycle("example-build-cache", expire("1")), []string{"s3-bucket-policy-changed:low"}},
	})
	runCases(t, detect.Default(), []ruleCase{
		{"unlisted without the settings", lifecycle("audit-archive", expire("1")), []string{"s3-bucket-policy-changed:low"}},
	})
}

// TestEveryCIS45EventReported: CIS 4.5 lists CreateTrail, UpdateTrail, DeleteTrail,
// StartLogging and StopLogging; each is reported, those that add logging at info or low, and a
// failed one that adds nothing is left to the denied-call rule.
func TestEveryCIS45EventReported(t *testing.T) {
	trail := func(event, params string) *cloudtrail.Record {
		return synthetic("cloudtrail.amazonaws.com", event, iamUser("alice"), params, "")
	}
	runCases(t, detect.Default(), []ruleCase{
		{"CreateTrail", trail("CreateTrail", `{"name":"t","s3BucketName":"b"}`), []string{"cloudtrail-trail-created:low"}},
		{"UpdateTrail", trail("UpdateTrail", `{"name":"t","snsTopicName":"s"}`), []string{"cloudtrail-trail-updated:low"}},
		{"DeleteTrail", trail("DeleteTrail", `{"name":"t"}`), []string{"cloudtrail-trail-deleted:high"}},
		{"StartLogging", trail("StartLogging", `{"name":"t"}`), []string{"cloudtrail-logging-started:info"}},
		{"StopLogging", trail("StopLogging", `{"name":"t"}`), []string{"cloudtrail-logging-stopped:high"}},
		{"StartLogging denied", with(trail("StartLogging", `{"name":"t"}`), denied), []string{"unauthorized-api-calls:medium"}},
		{"CreateTrail denied", with(trail("CreateTrail", `{"name":"t"}`), denied), []string{"unauthorized-api-calls:medium"}},
	})
	cis := map[string][]string{}
	for _, r := range detect.Rules() {
		for _, c := range r.CIS {
			cis[c] = append(cis[c], r.Events...)
		}
	}
	for _, event := range []string{"CreateTrail", "UpdateTrail", "DeleteTrail", "StartLogging", "StopLogging"} {
		if !strings.Contains(strings.Join(cis["4.5"], " "), event) {
			t.Errorf("no rule marked CIS 4.5 watches %s", event)
		}
	}
}

// TestIAMUserCreated: a new IAM user is low, says what to check, and a failed CreateUser is
// left to the denied-call rule (which grades a denied IAM write medium).
func TestIAMUserCreated(t *testing.T) {
	create := func(vs ...variant) *cloudtrail.Record {
		return with(synthetic("iam.amazonaws.com", "CreateUser", iamUser("alice"), `{"userName":"maria","path":"/staff/"}`,
			`{"user":{"path":"/staff/","userName":"maria","userId":"AIDA5MARIAQ7T2EXAMPLE","arn":"arn:aws:iam::123456789012:user/staff/maria"}}`), vs...)
	}
	runCases(t, detect.Default(), []ruleCase{
		{"by a user", create(), []string{"iam-user-created:low"}},
		{"by root", create(asRoot), []string{"iam-user-created:critical"}},
		{"denied", create(denied), []string{"unauthorized-api-calls:medium"}},
		{"failed otherwise", create(func(r *cloudtrail.Record) { r.ErrorCode, r.ResponseElements = "EntityAlreadyExists", nil }), nil},
	})
	f := detect.Default().Detect(create())[0]
	for _, want := range []string{"maria", "one person", "group", "MFA"} {
		if !strings.Contains(f.Why, want) {
			t.Errorf("why %q does not say %q", f.Why, want)
		}
	}
	if f.Target != userARN("maria") {
		t.Errorf("target %q, want the path-less %q that allow and protect lists use", f.Target, userARN("maria"))
	}
}

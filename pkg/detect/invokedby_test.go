package detect_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/iam-watchdog/iam-watchdog/pkg/cloudtrail"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/policy"
)

// consoleInvokers are the invokedBy values of a person working in the console: AWS documents
// signin.amazonaws.com for an IAM user's console calls and console.amazonaws.com for the root
// user's, and AWS's own front ends appear as "AWS Internal".
// Reference: https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html
var consoleInvokers = []string{"signin.amazonaws.com", "console.amazonaws.com", "AWS Internal", "aws-internal/3"}

func TestActingService(t *testing.T) {
	for in, want := range map[string]string{
		"":                                "",
		"signin.amazonaws.com":            "",
		"Signin.AmazonAWS.com":            "",
		"console.amazonaws.com":           "",
		"AWS Internal":                    "",
		"aws-internal/3":                  "",
		"cloudformation.amazonaws.com":    "cloudformation.amazonaws.com",
		"config.amazonaws.com":            "config.amazonaws.com",
		"organizations.amazonaws.com":     "organizations.amazonaws.com",
		"sso.amazonaws.com":               "sso.amazonaws.com",
		"cloudformation.amazonaws.com.cn": "cloudformation.amazonaws.com.cn",
		".amazonaws.com":                  "",
		"my-laptop":                       "",
	} {
		if got := detect.ActingService(in); got != want {
			t.Errorf("ActingService(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestConsoleUsersAreNotServices holds issue 13, point 4: a record that says a person in the
// console made the call (invokedBy signin.amazonaws.com, console.amazonaws.com, AWS Internal)
// is graded and remediated exactly as the same record without the field, for every rule the
// grading principles cover, by an IAM user and by root; only a service acting for a caller
// counts as one.
func TestConsoleUsersAreNotServices(t *testing.T) {
	decide := policy.Config{Mode: policy.Auto, QuarantinePolicyARN: "arn:aws:iam::123456789012:policy/q"}
	for _, c := range apiCases() {
		for _, who := range []struct {
			name string
			vs   []variant
		}{{"IAM user", nil}, {"root", []variant{asRoot}}} {
			without := grade(t, c.rule, c.rec(), who.vs...)
			dWithout := decide.Decide(&without)
			for _, invoker := range consoleInvokers {
				t.Run(c.name+"/"+who.name+"/"+invoker, func(t *testing.T) {
					with := grade(t, c.rule, c.rec(), append(who.vs, func(r *cloudtrail.Record) {
						r.UserIdentity.InvokedBy, r.SourceIPAddress, r.UserAgent = invoker, "198.51.100.7", invoker
					})...)
					without.Record, with.Record = nil, nil
					without.Actor.UserAgent, with.Actor.UserAgent = "", ""
					if !reflect.DeepEqual(with, without) {
						t.Errorf("with invokedBy %s:\n%+v\nwithout:\n%+v", invoker, with, without)
					}
					if d := decide.Decide(&with); d != dWithout {
						t.Errorf("decision with invokedBy %s %+v, without %+v", invoker, d, dWithout)
					}
				})
			}
		}
	}
}

// TestConsoleRootCallsAreRootActivity: root's console calls are root activity (CIS 4.3 without
// the console counted as a service), its console CreateUser a critical finding, and a console
// user's denied call a denied call; a service acting for root or a user stays left out.
func TestConsoleRootCallsAreRootActivity(t *testing.T) {
	invoked := func(by string) variant { return func(r *cloudtrail.Record) { r.UserIdentity.InvokedBy = by } }
	bucket := func(vs ...variant) *cloudtrail.Record {
		rec := synthetic("s3.amazonaws.com", "PutBucketVersioning", rootUser(), `{"bucketName":"b"}`, "")
		return with(rec, vs...)
	}
	createUser := func(vs ...variant) *cloudtrail.Record {
		rec := synthetic("iam.amazonaws.com", "CreateUser", rootUser(), `{"userName":"temp-admin"}`,
			`{"user":{"path":"/","userName":"temp-admin","userId":"AIDA5TEMPADMINEXAMPL2","arn":"arn:aws:iam::123456789012:user/temp-admin"}}`)
		return with(rec, vs...)
	}
	deniedRead := func(vs ...variant) *cloudtrail.Record {
		rec := synthetic("ec2.amazonaws.com", "DescribeInstances", iamUser("erin"), `{}`, "")
		rec.ErrorCode = "Client.UnauthorizedOperation"
		return with(rec, vs...)
	}
	var cases []ruleCase
	for _, by := range consoleInvokers {
		cases = append(cases,
			ruleCase{"root in the console via " + by, bucket(invoked(by)), []string{"root-activity:critical"}},
			ruleCase{"root CreateUser via " + by, createUser(invoked(by)), []string{"iam-user-created:critical"}},
			ruleCase{"denied console read via " + by, deniedRead(invoked(by)), []string{"unauthorized-api-calls:low"}},
		)
	}
	cases = append(cases,
		ruleCase{"root via CloudFormation", bucket(invoked("cloudformation.amazonaws.com")), nil},
		ruleCase{"denied read via Config", deniedRead(invoked("config.amazonaws.com")), nil},
		ruleCase{"root CreateUser via CloudFormation", createUser(invoked("cloudformation.amazonaws.com")), []string{"iam-user-created:high"}},
	)
	runCases(t, detect.Default(), cases)
	for _, f := range detect.Default().Detect(bucket(invoked("signin.amazonaws.com"))) {
		if f.Actor.InvokedBy != "" {
			t.Errorf("a console user's Actor.InvokedBy is %q, want none: no service acted", f.Actor.InvokedBy)
		}
	}
}

// TestCreateUserInTheConsoleFromTheDocs runs a root CreateUser in the shape of AWS's IAM
// CloudTrail example, recorded from the console with invokedBy signin.amazonaws.com, through
// the detector and the default policy: a critical finding, alerted.
// Reference: https://docs.aws.amazon.com/IAM/latest/UserGuide/cloudtrail-integration.html
func TestCreateUserInTheConsoleFromTheDocs(t *testing.T) {
	const record = `{"eventVersion":"1.08","userIdentity":{"type":"Root","principalId":"123456789012","arn":"arn:aws:iam::123456789012:root",
"accountId":"123456789012","accessKeyId":"ASIAIOSFODNN7EXAMPLE","sessionContext":{"sessionIssuer":{},"webIdFederationData":{},
"attributes":{"creationDate":"2024-05-06T15:30:02Z","mfaAuthenticated":"true"}},"invokedBy":"signin.amazonaws.com"},
"eventTime":"2024-05-06T15:31:47Z","eventSource":"iam.amazonaws.com","eventName":"CreateUser","awsRegion":"us-east-1",
"sourceIPAddress":"192.0.2.1","userAgent":"signin.amazonaws.com","requestParameters":{"userName":"Bob"},
"responseElements":{"user":{"path":"/","userName":"Bob","userId":"AIDACKCEVSQ6C2EXAMPLE","arn":"arn:aws:iam::123456789012:user/Bob",
"createDate":"May 6, 2024 3:31:47 PM"}},"requestID":"1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d","eventID":"6e7f8a9b-0c1d-4e2f-8a3b-4c5d6e7f8a9b",
"readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"123456789012","eventCategory":"Management"}`
	recs, errs := cloudtrail.Decode("doc", json.RawMessage(record))
	if len(errs) > 0 || len(recs) != 1 {
		t.Fatalf("decode: %v", errs)
	}
	fs := detect.Default().Detect(recs[0])
	if len(fs) != 1 || fs[0].Rule != "iam-user-created" || fs[0].Severity != detect.Critical || fs[0].Target != userARN("Bob") {
		t.Fatalf("findings %+v, want one critical iam-user-created on user Bob", fs)
	}
	cfg := policy.Default()
	if d := cfg.Decide(&fs[0]); !d.Alert {
		t.Fatalf("Decide = %+v, want alerted", d)
	}
}

package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	eventstestdata "github.com/iam-watchdog/iam-watchdog/events-testdata"
	"github.com/iam-watchdog/iam-watchdog/internal/lambdatest"
	"github.com/iam-watchdog/iam-watchdog/internal/slackserver"
)

// TestBootstrapEveryAction sends one event per remediation action through the real bootstrap
// under aws-lambda-rie in auto mode, with the state each acts on created in moto first, and
// reads the result back from moto.
func TestBootstrapEveryAction(t *testing.T) {
	ctx := context.Background()
	bootstrap := lambdatest.Build(t, "./functions/watchdog")
	d := deploy(t)
	slack := slackserver.Start(t)
	iamc := iam.NewFromConfig(d.cfg)
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []string{"contractor-jo", "ci-deployer", "frank"} {
		must(iamc.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(u)}))
	}
	// The managed policy of the attach event, and the stack's quarantine policy.
	admin, err := iamc.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("demo-admin"), PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	adminARN := aws.ToString(admin.Policy.Arn)
	quarantineName := eventstestdata.QuarantinePolicyARN[strings.LastIndexByte(eventstestdata.QuarantinePolicyARN, '/')+1:]
	must(iamc.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String(quarantineName), PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","NotAction":"iam:ListMFADevices","Resource":"*"}]}`)}))
	must(iamc.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("contractor-jo"), PolicyArn: aws.String(adminARN)}))
	must(iamc.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("ci-deployer"), PolicyName: aws.String("ci-full-access"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)}))
	// moto finds trails by name only, so the event names the trail.
	s3c := s3.NewFromConfig(d.cfg, func(o *s3.Options) { o.UsePathStyle = true })
	must(s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("trail-logs")}))
	ct := cloudtrail.NewFromConfig(d.cfg)
	must(ct.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("management-events"), S3BucketName: aws.String("trail-logs")}))
	must(ct.StopLogging(ctx, &cloudtrail.StopLoggingInput{Name: aws.String("management-events")}))

	fn := d.start(t, bootstrap, slack, "auto")
	for _, tc := range []struct {
		file   string
		params map[string]any
		done   func(t *testing.T) bool
		undo   bool
	}{
		{"user_policy_attached/alert-attach-admin.json", map[string]any{"userName": "contractor-jo", "policyArn": adminARN}, func(t *testing.T) bool {
			out, err := iamc.ListAttachedUserPolicies(ctx, &iam.ListAttachedUserPoliciesInput{UserName: aws.String("contractor-jo")})
			return err == nil && len(out.AttachedPolicies) == 0
		}, true},
		{"user_policy_attached/alert-put-inline-admin.json", nil, func(t *testing.T) bool {
			_, err := iamc.GetUserPolicy(ctx, &iam.GetUserPolicyInput{UserName: aws.String("ci-deployer"), PolicyName: aws.String("ci-full-access")})
			var ae smithy.APIError
			return errors.As(err, &ae) && ae.ErrorCode() == "NoSuchEntity"
		}, true},
		{"mfa_deactivated/alert-deactivate-other-user.json", nil, func(t *testing.T) bool {
			out, err := iamc.ListAttachedUserPolicies(ctx, &iam.ListAttachedUserPoliciesInput{UserName: aws.String("frank")})
			return err == nil && len(out.AttachedPolicies) == 1 && aws.ToString(out.AttachedPolicies[0].PolicyArn) == eventstestdata.QuarantinePolicyARN
		}, true},
		{"cloudtrail_tampering/alert-stop-logging.json", map[string]any{"name": "management-events"}, func(t *testing.T) bool {
			out, err := ct.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String("management-events")})
			return err == nil && aws.ToBool(out.IsLogging)
		}, false},
	} {
		t.Run(tc.file, func(t *testing.T) {
			before := len(slack.Messages())
			if body := fn.Invoke(t, withParams(t, tc.file, tc.params)); bytes.Contains(body, []byte(`"errorMessage"`)) {
				t.Fatalf("function error: %s", body)
			}
			if !tc.done(t) {
				t.Fatal("moto's state does not show the remediation")
			}
			got := slack.Messages()[before:]
			if len(got) != 1 || !strings.Contains(string(got[0].Blocks), "Reverted") {
				t.Fatalf("want one alert saying Reverted, got %+v", got)
			}
			if hasUndo := strings.Contains(string(got[0].Blocks), "watchdog undo"); hasUndo != tc.undo {
				t.Errorf("alert offers undo: %v, want %v", hasUndo, tc.undo)
			}
		})
	}
}

// withParams is an example event with its requestParameters replaced where params says.
func withParams(t *testing.T, name string, params map[string]any) []byte {
	t.Helper()
	ev, err := eventstestdata.Event(name, func(detail map[string]any) {
		if params != nil {
			detail["requestParameters"] = params
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

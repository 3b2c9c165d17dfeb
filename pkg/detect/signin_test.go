package detect_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/iam-watchdog/iam-watchdog/pkg/cloudtrail"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
)

// TestSigninOutcomeUnknown holds issue 13, point 8: a ConsoleLogin whose responseElements does
// not say Success or Failure is never graded a success. An IAM user's is reported low as a
// sign-in of unknown outcome, never as "signed in without MFA"; the root user's is still
// reported, at medium, never below.
// Reference: https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-aws-console-sign-in-events.html
func TestSigninOutcomeUnknown(t *testing.T) {
	response := func(raw string) variant {
		return func(r *cloudtrail.Record) {
			r.ResponseElements = nil
			if raw != "" {
				r.ResponseElements = json.RawMessage(raw)
			}
		}
	}
	user := func(vs ...variant) *cloudtrail.Record { return with(signin(iamUser("bob"), "Success", "No"), vs...) }
	root := func(vs ...variant) *cloudtrail.Record { return with(rootSignin("No", "Success"), vs...) }
	for _, unknown := range []struct {
		name string
		raw  string
	}{
		{"responseElements missing", ""},
		{"responseElements null", "null"},
		{"ConsoleLogin missing", `{}`},
		{"ConsoleLogin empty", `{"ConsoleLogin":""}`},
		{"ConsoleLogin unexpected", `{"ConsoleLogin":"Pending"}`},
		{"ConsoleLogin not a string", `{"ConsoleLogin":true}`},
		{"ConsoleLogin in another case", `{"ConsoleLogin":"success"}`},
	} {
		runCases(t, detect.Default(), []ruleCase{
			{"IAM user, " + unknown.name, user(response(unknown.raw)), []string{"console-login-no-mfa:low"}},
			{"root, " + unknown.name, root(response(unknown.raw)), []string{"root-console-signin:medium"}},
			{"IAM user with MFA, " + unknown.name, with(user(response(unknown.raw)), func(r *cloudtrail.Record) {
				r.AdditionalEventData = json.RawMessage(`{"MFAUsed":"Yes"}`)
			}), nil},
		})
		for _, rec := range []*cloudtrail.Record{user(response(unknown.raw)), root(response(unknown.raw))} {
			for _, f := range detect.Default().Detect(rec) {
				if !strings.Contains(f.Title, "outcome unknown") || !strings.Contains(f.Why, "unknown") || strings.Contains(f.Why, "signed in to the console") {
					t.Errorf("%s: %q / %q: an unknown outcome must say so, never that someone signed in", unknown.name, f.Title, f.Why)
				}
			}
		}
	}
	// The outcomes AWS records are read as they are.
	runCases(t, detect.Default(), []ruleCase{
		{"IAM user, Success", user(), []string{"console-login-no-mfa:medium"}},
		{"IAM user, Failure", user(response(`{"ConsoleLogin":"Failure"}`)), []string{"console-auth-failure:low"}},
		{"IAM user, error message without an outcome", user(response(""), func(r *cloudtrail.Record) { r.ErrorMessage = "Failed authentication" }), []string{"console-auth-failure:low"}},
		{"root, Success", root(), []string{"root-console-signin:critical"}},
		{"root, Failure", root(response(`{"ConsoleLogin":"Failure"}`)), []string{"root-console-signin:medium"}},
	})
}

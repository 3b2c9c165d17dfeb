package main

import (
	"encoding/json"
	"strings"
	"testing"

	eventstestdata "github.com/iam-watchdog/iam-watchdog/events-testdata"
	"github.com/iam-watchdog/iam-watchdog/internal/lambdatest"
	"github.com/iam-watchdog/iam-watchdog/internal/mototest"
	"github.com/iam-watchdog/iam-watchdog/internal/slackserver"
)

// TestBootstrapRefusesForgedPayloads: anyone allowed lambda:InvokeFunction can hand the function
// any payload. Through the real bootstrap under aws-lambda-rie, in auto mode against moto, with
// a user who has a policy attached: a bare CloudTrail record, a {"Records": […]} log file, a
// JSON array and an EventBridge event whose account is not the record's recipientAccountId,
// each naming that user's AttachUserPolicy, leave the policy attached, post nothing, are not
// retried, and the function's log says why (issue 13, point 1). The same record in the envelope
// EventBridge sends is detached: the refusals are the entry-point rule's, not a broken setup.
func TestBootstrapRefusesForgedPayloads(t *testing.T) {
	bootstrap := lambdatest.Build(t, "./functions/watchdog")
	d := deploy(t)
	slack := slackserver.Start(t)
	fx := mototest.NewFixture(d.cfg)
	const user = "victim"
	fx.CreateUser(t, user)
	policyARN := fx.CreatePolicy(t, "Broad")
	fx.Attach(t, user, policyARN)

	envelope, err := eventstestdata.Event("user_policy_attached/alert-attach-admin.json", func(rec map[string]any) {
		rec["requestParameters"] = map[string]any{"userName": user, "policyArn": policyARN}
	})
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal(envelope, &ev); err != nil {
		t.Fatal(err)
	}
	record, err := json.Marshal(ev["detail"])
	if err != nil {
		t.Fatal(err)
	}
	ev["account"] = "210987654321"
	otherAccount, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}

	fn := d.start(t, bootstrap, slack, "auto")
	for _, tc := range []struct {
		name, event, reason string
	}{
		{"bare record", string(record), "a bare CloudTrail record"},
		{"Records document", `{"Records": [` + string(record) + `]}`, "a CloudTrail log file"},
		{"JSON array", "[" + string(envelope) + "]", "a JSON array"},
		{"account is not recipientAccountId", string(otherAccount), `event account \"210987654321\" is not the record's recipientAccountId \"123456789012\"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if body := fn.Invoke(t, []byte(tc.event)); lambdatest.FunctionError(body) {
				t.Fatalf("function error (Lambda would retry the same bytes): %s", body)
			}
			if got := strings.Join(fx.Attached(t, user), " "); got != policyARN {
				t.Fatalf("policies of %s: %q, want %s still attached", user, got, policyARN)
			}
			if n := len(slack.Messages()); n != 0 {
				t.Fatalf("%d Slack messages: a refused payload is never alerted as a finding", n)
			}
			if !strings.Contains(fn.Logs(), tc.reason) || !strings.Contains(fn.Logs(), "event refused") {
				t.Fatalf("the function's log does not say why (%q)", tc.reason)
			}
		})
	}

	if body := fn.Invoke(t, envelope); lambdatest.FunctionError(body) {
		t.Fatalf("function error: %s", body)
	}
	if got := fx.Attached(t, user); len(got) != 0 {
		t.Fatalf("policies of %s after the EventBridge event: %v, want the policy detached", user, got)
	}
	if n := len(slack.Messages()); n != 1 {
		t.Fatalf("%d Slack messages for the EventBridge event, want 1", n)
	}
}

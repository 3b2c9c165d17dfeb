package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	eventstestdata "github.com/iam-watchdog/iam-watchdog/events-testdata"
	"github.com/iam-watchdog/iam-watchdog/internal/lambdatest"
	"github.com/iam-watchdog/iam-watchdog/internal/tampertest"
)

// TestBootstrapRefusesTamperedRecord: through both real bootstraps under aws-lambda-rie, each
// tampering of a pending alert's record in moto's table (tampertest.Cases) makes the signed
// Revert now refuse: the key stays active, the clicker is told and the alert's thread says so,
// naming the record and the state key, and slack-actions logs it at error level.
func TestBootstrapRefusesTamperedRecord(t *testing.T) {
	d := deploy(t)
	tg := tampertest.DynamoDB(t, dynamodb.NewFromConfig(d.cfg), "iam-watchdog-state")
	// alertOn posts the alert of a key made for user by actor, and returns its key and message.
	alertOn := func(eventID, actor, user string) (keyID, stateKey, ts string) {
		t.Helper()
		if _, err := d.iam.CreateUser(t.Context(), &iam.CreateUserInput{UserName: aws.String(user)}); err != nil {
			t.Fatal(err)
		}
		key, err := d.iam.CreateAccessKey(t.Context(), &iam.CreateAccessKeyInput{UserName: aws.String(user)})
		if err != nil {
			t.Fatal(err)
		}
		keyID = aws.ToString(key.AccessKey.AccessKeyId)
		// A different actor each time: a burst of one actor's findings would share one message.
		ev, err := eventstestdata.Event("access_key_created/alert-other-user.json", func(detail map[string]any) {
			eventstestdata.AccessKeyCreated(user, keyID)(detail)
			detail["eventID"] = eventID
			detail["userIdentity"].(map[string]any)["arn"] = "arn:aws:iam::123456789012:user/" + actor
		})
		if err != nil {
			t.Fatal(err)
		}
		before := len(d.slack.Posts())
		if body := d.watchdogFn.Invoke(t, ev); lambdatest.FunctionError(body) {
			t.Fatalf("watchdog: %s", body)
		}
		posts := d.slack.Posts()
		if len(posts) != before+1 {
			t.Fatalf("%d alerts posted for %s, want 1", len(posts)-before, eventID)
		}
		return keyID, buttonValue(t, posts[len(posts)-1].Blocks, "revert"), posts[len(posts)-1].TS
	}
	for i, tc := range tampertest.Cases() {
		t.Run(tc.Name, func(t *testing.T) {
			victimKey, victim, ts := alertOn(fmt.Sprintf("ev-victim-%d", i), fmt.Sprintf("mallory%d", i), fmt.Sprintf("victim%d", i))
			_, other, _ := alertOn(fmt.Sprintf("ev-other-%d", i), fmt.Sprintf("trent%d", i), fmt.Sprintf("other%d", i))
			tc.Apply(t, tg, victim, other)

			var resp events.LambdaFunctionURLResponse
			out := d.actions.Invoke(t, clickEvent(t, victim, ts, signingSecret))
			if err := json.Unmarshal(out, &resp); err != nil || lambdatest.FunctionError(out) || resp.StatusCode != 200 {
				t.Fatalf("slack-actions answered %s (%v)", out, err)
			}
			if got := keyStatus(t, d.iam, fmt.Sprintf("victim%d", i), victimKey); got != iamtypes.StatusTypeActive {
				t.Errorf("the key is %s after Revert now on a tampered record; want it untouched", got)
			}
			var told bool
			for _, e := range d.slack.Ephemerals() {
				told = told || e.User == approver && strings.Contains(e.Text, victim) && strings.Contains(e.Text, "refused") && strings.Contains(e.Text, d.stateKey)
			}
			if !told {
				t.Errorf("the clicker was not told the record %s was refused: %+v", victim, d.slack.Ephemerals())
			}
			if r := d.slack.Replies(ts); len(r) != 1 || !strings.Contains(r[0].Text, "refused") || !strings.Contains(r[0].Text, victim) {
				t.Errorf("the alert's thread: %+v; want the refusal", r)
			}
			// The runtime's logger writes text here (Lambda's JSON log format is a deployment setting).
			if logs := d.actions.Logs(); !strings.Contains(logs, "level=ERROR message=\"state record refused") || !strings.Contains(logs, victim) {
				t.Errorf("slack-actions logged no error naming %s", victim)
			}
		})
	}
}

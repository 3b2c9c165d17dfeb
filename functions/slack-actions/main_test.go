package main

import (
	"context"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	eventstestdata "github.com/iam-watchdog/iam-watchdog/events-testdata"
	"github.com/iam-watchdog/iam-watchdog/internal/lambdatest"
	"github.com/iam-watchdog/iam-watchdog/internal/mototest"
	"github.com/iam-watchdog/iam-watchdog/internal/slackserver"
	"github.com/iam-watchdog/iam-watchdog/pkg/slackaction"
)

const (
	slackToken    = "xoxb-0000-test-token-never-logged"
	signingSecret = "8f742231b10e8888abcd99yyyzzz85a5"
	approver      = "U0SECLEAD"
)

// deployment is both real bootstraps under aws-lambda-rie against moto and a local Slack, as
// template.yaml configures them (the state table authenticated with the stack's HMAC key), the
// watchdog in approve mode, and carol with an active access key.
type deployment struct {
	cfg                 aws.Config
	iam                 *iam.Client
	slack               *slackserver.Server
	watchdogFn, actions *lambdatest.Function
	keyID, stateKey     string
}

func deploy(t *testing.T) *deployment {
	t.Helper()
	ctx := context.Background()
	watchdogBin := lambdatest.Build(t, "./functions/watchdog")
	actionsBin := lambdatest.Build(t, "./functions/slack-actions")
	moto := mototest.Start(t)
	cfg := moto.Config(t)
	sec, err := secretsmanager.NewFromConfig(cfg).CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name:         aws.String("iam-watchdog/slack"),
		SecretString: aws.String(`{"token":"` + slackToken + `","signing_secret":"` + signingSecret + `"}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	mototest.CreateStateTable(t, dynamodb.NewFromConfig(cfg), "iam-watchdog-state")
	stateKey := mototest.CreateStateKey(t, kms.NewFromConfig(cfg))
	iamc := iam.NewFromConfig(cfg)
	if _, err := iamc.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("carol")}); err != nil {
		t.Fatal(err)
	}
	key, err := iamc.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("carol")})
	if err != nil {
		t.Fatal(err)
	}
	slack := slackserver.Start(t)
	common := []string{
		"AWS_ENDPOINT_URL=" + moto.Endpoint,
		"SLACK_SECRET_ARN=" + aws.ToString(sec.ARN),
		"SLACK_API_URL=" + slack.APIURL(),
		"STATE_TABLE=iam-watchdog-state",
		"STATE_KEY_ARN=" + stateKey,
		// The same mode for both, as template.yaml passes it: Revert now re-derives the action
		// under it.
		"REMEDIATION_MODE=approve",
		"WATCHDOG_ROLE_ARN=" + eventstestdata.WatchdogRoleARN,
		"QUARANTINE_POLICY_ARN=" + eventstestdata.QuarantinePolicyARN,
	}
	return &deployment{
		cfg: cfg, iam: iamc, slack: slack, keyID: aws.ToString(key.AccessKey.AccessKeyId), stateKey: stateKey,
		watchdogFn: lambdatest.Start(t, watchdogBin, append(common, "SLACK_CHANNEL=C0SECURITY")...),
		actions:    lambdatest.Start(t, actionsBin, append(common, "SLACK_APPROVERS="+approver)...),
	}
}

// TestBootstrapUnderRIE runs both real bootstraps under aws-lambda-rie against moto and a local
// Slack: the watchdog posts an approve-mode alert, and Slack's click reaches slack-actions as a
// Function URL event: unsigned it is refused with 401; signed, the key is deactivated in moto,
// the alert is updated and the thread says who did it; delivered again, nothing more happens.
func TestBootstrapUnderRIE(t *testing.T) {
	d := deploy(t)
	watchdogFn, actionsFn, slack, iamc, keyID := d.watchdogFn, d.actions, d.slack, d.iam, d.keyID

	if body := watchdogFn.Invoke(t, eventWithKey(t, "access_key_created/alert-other-user.json", "carol", keyID)); lambdatest.FunctionError(body) {
		t.Fatalf("watchdog: %s", body)
	}
	posts := slack.Posts()
	if len(posts) != 1 {
		t.Fatalf("%d alerts posted, want 1", len(posts))
	}
	stateKey := buttonValue(t, posts[0].Blocks, "revert")

	click := func(signed bool) events.LambdaFunctionURLResponse {
		t.Helper()
		secret := signingSecret
		if !signed {
			secret = "not-the-signing-secret"
		}
		var resp events.LambdaFunctionURLResponse
		out := actionsFn.Invoke(t, clickEvent(t, stateKey, "", secret))
		if err := json.Unmarshal(out, &resp); err != nil || lambdatest.FunctionError(out) {
			t.Fatalf("slack-actions answered %s (%v)", out, err)
		}
		return resp
	}

	if resp := click(false); resp.StatusCode != 401 {
		t.Fatalf("badly signed click: HTTP %d, want 401", resp.StatusCode)
	}
	if len(slack.Messages()) != 1 || keyStatus(t, iamc, "carol", keyID) != iamtypes.StatusTypeActive {
		t.Fatal("a badly signed click had an effect")
	}

	if resp := click(true); resp.StatusCode != 200 {
		t.Fatalf("signed click: HTTP %d: %s", resp.StatusCode, resp.Body)
	}
	if keyStatus(t, iamc, "carol", keyID) != iamtypes.StatusTypeInactive {
		t.Fatal("Revert now did not deactivate the key")
	}
	cur, _ := slack.Current(posts[0].TS)
	if !strings.Contains(string(cur.Blocks), `Status: Reverted by \u003c@U0SECLEAD\u003e`) {
		t.Errorf("alert not updated: %s", cur.Blocks)
	}
	if r := slack.Replies(posts[0].TS); len(r) != 1 || !strings.Contains(r[0].Text, "<@U0SECLEAD> pressed *Revert now*") {
		t.Errorf("thread: %+v", r)
	}

	if resp := click(true); resp.StatusCode != 200 {
		t.Fatalf("redelivered click: HTTP %d", resp.StatusCode)
	}
	if r := slack.Replies(posts[0].TS); len(r) != 1 {
		t.Errorf("a redelivered click posted again: %+v", r)
	}
	if e := slack.Ephemerals(); len(e) != 1 || !strings.Contains(e[0].Text, "Nothing done") {
		t.Errorf("ephemerals %+v", e)
	}
	for _, fn := range []*lambdatest.Function{watchdogFn, actionsFn} {
		if logs := fn.Logs(); strings.Contains(logs, slackToken) || strings.Contains(logs, signingSecret) {
			t.Error("a Slack secret appears in a function's logs")
		}
	}
}

// clickEvent is the Function URL event for a click on Revert now, signed with secret, on the
// message at ts when given.
func clickEvent(t *testing.T, stateKey, messageTS, secret string) []byte {
	t.Helper()
	cb := map[string]any{
		"type": "block_actions", "user": map[string]any{"id": approver},
		"channel": map[string]any{"id": "C0SECURITY"},
		"actions": []map[string]any{{"type": "button", "action_id": "revert", "block_id": "iam_watchdog_actions", "value": stateKey}},
	}
	if messageTS != "" {
		cb["container"] = map[string]any{"type": "message", "channel_id": "C0SECURITY", "message_ts": messageTS}
	}
	payload, _ := json.Marshal(cb)
	body := "payload=" + url.QueryEscape(string(payload))
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	ev := events.LambdaFunctionURLRequest{
		Version: "2.0", RawPath: "/",
		Headers: map[string]string{
			"content-type":              "application/x-www-form-urlencoded",
			"x-slack-request-timestamp": ts,
			"x-slack-signature":         slackaction.SignatureHeader(secret, ts, []byte(body)),
		},
		Body: body,
		RequestContext: events.LambdaFunctionURLRequestContext{
			HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{Method: "POST", Path: "/", SourceIP: "127.0.0.1"},
		},
	}
	raw, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// buttonValue is the value of the button with actionID in a message's blocks.
func buttonValue(t *testing.T, blocks json.RawMessage, actionID string) string {
	t.Helper()
	var bs []struct {
		Elements []struct {
			ActionID string `json:"action_id"`
			Value    string `json:"value"`
		} `json:"elements"`
	}
	if err := json.Unmarshal(blocks, &bs); err != nil {
		t.Fatal(err)
	}
	for _, b := range bs {
		for _, e := range b.Elements {
			if e.ActionID == actionID {
				return e.Value
			}
		}
	}
	t.Fatalf("no %s button in %s", actionID, blocks)
	return ""
}

func keyStatus(t *testing.T, c *iam.Client, user, keyID string) iamtypes.StatusType {
	t.Helper()
	out, err := c.ListAccessKeys(context.Background(), &iam.ListAccessKeysInput{UserName: aws.String(user)})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range out.AccessKeyMetadata {
		if aws.ToString(k.AccessKeyId) == keyID {
			return k.Status
		}
	}
	t.Fatalf("no key %s", keyID)
	return ""
}

// eventWithKey is an example event rewritten to name a user and key that exist in moto.
func eventWithKey(t *testing.T, name, user, keyID string) []byte {
	t.Helper()
	ev, err := eventstestdata.Event(name, eventstestdata.AccessKeyCreated(user, keyID))
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

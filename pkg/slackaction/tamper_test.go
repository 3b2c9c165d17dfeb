package slackaction_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/iam-watchdog/iam-watchdog/internal/mototest"
	"github.com/iam-watchdog/iam-watchdog/internal/tampertest"
	"github.com/iam-watchdog/iam-watchdog/internal/watchdogtest"
	"github.com/iam-watchdog/iam-watchdog/pkg/alert"
	"github.com/iam-watchdog/iam-watchdog/pkg/cloudtrail"
	"github.com/iam-watchdog/iam-watchdog/pkg/policy"
	"github.com/iam-watchdog/iam-watchdog/pkg/slackaction"
)

// alone turns flood control off, so that each alert has its own message and record.
func (w *world) alone() *watchdogtest.LogBuffer {
	off := time.Duration(0)
	w.p.Config.Slack.FloodWindow = &off
	logs := &watchdogtest.LogBuffer{}
	w.h.Log = slog.New(slog.NewJSONHandler(logs, nil))
	return logs
}

// clickOn is Slack's request for a press of verb on the message at ts, which holds key.
func clickOn(verb alert.Verb, key, ts string) events.LambdaFunctionURLRequest {
	payload, _ := json.Marshal(map[string]any{
		"type": "block_actions", "user": map[string]any{"id": approver},
		"channel":   map[string]any{"id": "C0SECURITY"},
		"container": map[string]any{"type": "message", "channel_id": "C0SECURITY", "message_ts": ts},
		"actions":   []map[string]any{{"type": "button", "action_id": string(verb), "block_id": "iam_watchdog_actions", "value": key}},
	})
	body := "payload=" + url.QueryEscape(string(payload))
	at := strconv.FormatInt(time.Now().Unix(), 10)
	return events.LambdaFunctionURLRequest{
		Headers: map[string]string{"x-slack-request-timestamp": at, "x-slack-signature": slackaction.SignatureHeader(signingSecret, at, []byte(body))},
		Body:    body, RequestContext: events.LambdaFunctionURLRequestContext{HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{Method: "POST"}},
	}
}

// refusedEverywhere checks that a click on key was refused as a tampered record is: the
// clicker told, the thread of the message at ts told, an error logged, each naming the record.
func (w *world) refusedEverywhere(t *testing.T, key, ts string, logs *watchdogtest.LogBuffer, says ...string) {
	t.Helper()
	says = append(says, key)
	var told bool
	for _, e := range w.slack.Ephemerals() {
		if e.User == approver && strings.Contains(e.Text, key) {
			told = true
			for _, want := range says {
				if !strings.Contains(e.Text, want) {
					t.Errorf("the clicker was told %q, without %q", e.Text, want)
				}
			}
		}
	}
	if !told {
		t.Errorf("the clicker was not told about %s: %+v", key, w.slack.Ephemerals())
	}
	replies := w.slack.Replies(ts)
	if len(replies) == 0 || !strings.Contains(replies[len(replies)-1].Text, "refused") || !strings.Contains(replies[len(replies)-1].Text, key) {
		t.Errorf("the alert's thread does not say the click was refused: %+v", replies)
	}
	if l := logs.String(); !strings.Contains(l, `"level":"ERROR"`) || !strings.Contains(l, key) {
		t.Errorf("no error logged naming %s:\n%s", key, l)
	}
}

// TestTamperedRecordRefusedBySlack: each tampering of a state record (tampertest.Cases, written
// straight to moto's table) makes Revert now (on a pending alert) and Undo (on a reverted one)
// refuse: nothing changes in IAM, the clicker and the thread are told why, naming the record
// and the state key, and an error is logged.
func TestTamperedRecordRefusedBySlack(t *testing.T) {
	for _, verb := range []alert.Verb{alert.Revert, alert.Undo} {
		t.Run(string(verb), func(t *testing.T) {
			mode, standing := policy.Approve, iamtypes.StatusTypeActive
			if verb == alert.Undo {
				mode, standing = policy.Auto, iamtypes.StatusTypeInactive // the watchdog reverted it
			}
			w := newWorld(t, mode)
			logs := w.alone()
			tg := tampertest.DynamoDB(t, w.db, "state")
			counts := w.h.Remediator.(countingRemediator)
			for i, tc := range tampertest.Cases() {
				t.Run(tc.Name, func(t *testing.T) {
					victimUser, otherUser := fmt.Sprintf("victim%d", i), fmt.Sprintf("other%d", i)
					victimKey, otherKey := w.newKey(victimUser), w.newKey(otherUser)
					victim := w.alert(fmt.Sprintf("tamper-%s-%d-victim", verb, i), victimUser, victimKey)
					other := w.alert(fmt.Sprintf("tamper-%s-%d-other", verb, i), otherUser, otherKey)
					ts := w.entry(victim).TS
					applied, reverted := counts.applied.Load(), counts.reverted.Load()

					tc.Apply(t, tg, victim, other)
					if code := w.serve(clickOn(verb, victim, ts)); code != 200 {
						t.Fatalf("HTTP %d", code)
					}
					if w.keyStatus(victimUser, victimKey) != standing || w.keyStatus(otherUser, otherKey) != standing {
						t.Errorf("keys are %s and %s after a refused %s; want both left %s", w.keyStatus(victimUser, victimKey), w.keyStatus(otherUser, otherKey), verb, standing)
					}
					if counts.applied.Load() != applied || counts.reverted.Load() != reverted {
						t.Errorf("%d actions and %d undos ran on a tampered record", counts.applied.Load()-applied, counts.reverted.Load()-reverted)
					}
					w.refusedEverywhere(t, victim, ts, logs, "refused", w.codec.KeyARN, "nothing was done")
				})
			}
		})
	}
}

// TestRevertNowRederivesTheAction: Revert now acts only on what the rules derive from the stored
// CloudTrail event under today's configuration. Each case below keeps the record's MAC valid
// (resealed with the state key, as a bug or a stolen key could), and the click is refused in the
// thread, with nothing done; an untouched alert in the same world is still reverted.
func TestRevertNowRederivesTheAction(t *testing.T) {
	w := newWorld(t, policy.Approve)
	w.alone()
	reseal := func(t *testing.T, key string, change func(*alert.Pieces)) {
		t.Helper()
		if _, err := (alert.Records{Store: w.store, Codec: w.codec}).Update(t.Context(), key, func(e *alert.Entry) error {
			return w.codec.Amend(t.Context(), e, change)
		}); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name string
		// tamper changes the record or the handler's configuration after the alert.
		tamper func(t *testing.T, key, user string)
		says   string
	}{
		{"the stored action names another user", func(t *testing.T, key, _ string) {
			reseal(t, key, func(p *alert.Pieces) { p.Action.UserName = "administrator" })
		}, "the rules derive"},
		{"the stored action names another key", func(t *testing.T, key, user string) {
			other := w.newKey(user)
			reseal(t, key, func(p *alert.Pieces) { p.Action.AccessKeyID = other })
		}, "the rules derive"},
		{"the stored event is another event's", func(t *testing.T, key, user string) {
			reseal(t, key, func(p *alert.Pieces) {
				raw := strings.Replace(string(p.Alert.Finding.Record.Raw), `"eventID": "`, `"eventID": "x-`, 1)
				p.Alert.Finding.Record.Raw = json.RawMessage(raw)
			})
		}, "not this record's"},
		{"the stored event is another kind", func(t *testing.T, key, _ string) {
			reseal(t, key, func(p *alert.Pieces) {
				p.Alert.Finding.Record.Raw = json.RawMessage(strings.Replace(string(p.Alert.Finding.Record.Raw), "CreateAccessKey", "ListAccessKeys", 1))
			})
		}, "findings of rule access-key-created"},
		{"no event is stored", func(t *testing.T, key, _ string) {
			reseal(t, key, func(p *alert.Pieces) { p.Alert.Finding.Record = nil })
		}, "no CloudTrail event"},
		{"the target is protected now", func(t *testing.T, _, user string) {
			w.h.Config.Protect.Targets = []string{"arn:aws:iam::123456789012:user/" + user}
		}, "is protected"},
		{"the rule is disabled now", func(t *testing.T, _, _ string) {
			off := false
			w.h.Config.Rules = map[string]policy.RuleConfig{rule: {Enabled: &off}}
		}, "disabled"},
		{"the rule is in dry-run now", func(t *testing.T, _, _ string) {
			w.h.Config.Rules = map[string]policy.RuleConfig{rule: {Mode: policy.DryRun}}
		}, "now dry-run"},
		{"the actor is allowlisted now", func(t *testing.T, _, _ string) {
			w.h.Config.Allow.Actors = []string{"arn:aws:iam::123456789012:user/alice"}
		}, "allowlisted"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			saved := w.h.Config
			defer func() { w.h.Config = saved }()
			user := fmt.Sprintf("rederive%d", i)
			keyID := w.newKey(user)
			key := w.alert(fmt.Sprintf("rederive-event-%d", i), user, keyID)
			ts := w.entry(key).TS
			tc.tamper(t, key, user)
			w.serve(clickOn(alert.Revert, key, ts))
			if w.keyStatus(user, keyID) != iamtypes.StatusTypeActive {
				t.Error("Revert now acted although the rules do not derive the stored action")
			}
			replies := w.slack.Replies(ts)
			if len(replies) != 1 || !strings.Contains(replies[0].Text, "Revert now refused") || !strings.Contains(replies[0].Text, tc.says) {
				t.Errorf("thread %+v: want the refusal, saying %q", replies, tc.says)
			}
			if e := w.entry(key); e.Status != alert.Pending {
				t.Errorf("status %s after a refused Revert now, want still pending", e.Status)
			}
		})
	}
	t.Run("untouched", func(t *testing.T) {
		keyID := w.newKey("plain")
		key := w.alert("rederive-event-plain", "plain", keyID)
		w.serve(clickOn(alert.Revert, key, w.entry(key).TS))
		if w.keyStatus("plain", keyID) != iamtypes.StatusTypeInactive {
			t.Error("Revert now did not act on an alert whose stored event derives its action")
		}
	})
}

// TestUndoQuarantineDetachesOnlyTheQuarantinePolicy: a quarantine's undo record that names
// AdministratorAccess is refused even with a valid MAC (resealed with the state key): the
// administrator keeps AdministratorAccess, the quarantine stays, and the thread says why. The
// same alert, untouched, is undone by detaching the quarantine policy alone.
func TestUndoQuarantineDetachesOnlyTheQuarantinePolicy(t *testing.T) {
	w := newWorldOn(t, mototest.StartManaged(t), policy.Auto)
	w.alone()
	ctx := t.Context()
	quarantine, err := w.iam.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("iam-watchdog-DenyUnlessMFA"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}}}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	quarantineARN := aws.ToString(quarantine.Policy.Arn)
	w.p.Config.QuarantinePolicyARN = quarantineARN
	w.h.Config.QuarantinePolicyARN = quarantineARN
	w.h.Remediator.(countingRemediator).Remediator.QuarantinePolicyARN = quarantineARN
	const admin = "arn:aws:iam::aws:policy/AdministratorAccess"
	attached := func(user string) []string {
		t.Helper()
		out, err := w.iam.ListAttachedUserPolicies(ctx, &iam.ListAttachedUserPoliciesInput{UserName: aws.String(user)})
		if err != nil {
			t.Fatal(err)
		}
		var arns []string
		for _, p := range out.AttachedPolicies {
			arns = append(arns, aws.ToString(p.PolicyArn))
		}
		return arns
	}
	mfaOff := func(eventID, user string) string {
		t.Helper()
		if _, err := w.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(user)}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.iam.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String(user), PolicyArn: aws.String(admin)}); err != nil {
			t.Fatal(err)
		}
		recs, errs := cloudtrail.Decode("test", []byte(fmt.Sprintf(`{"eventVersion": "1.10",
			"userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::123456789012:user/%[2]s", "accountId": "123456789012", "userName": %[2]q},
			"eventTime": "2024-05-02T11:58:02Z", "eventSource": "iam.amazonaws.com", "eventName": "DeactivateMFADevice", "awsRegion": "us-east-1",
			"requestParameters": {"userName": %[2]q, "serialNumber": "arn:aws:iam::123456789012:mfa/%[2]s"},
			"eventID": %[1]q, "eventType": "AwsApiCall", "recipientAccountId": "123456789012"}`, eventID, user)))
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		if _, err := w.p.Handle(ctx, recs[0]); err != nil {
			t.Fatal(err)
		}
		if got := attached(user); len(got) != 2 {
			t.Fatalf("%s has %v; want AdministratorAccess and the quarantine policy", user, got)
		}
		return alert.Key(eventID, "mfa-deactivated")
	}

	key := mfaOff("quarantine-forged", "root-admin")
	if _, err := (alert.Records{Store: w.store, Codec: w.codec}).Update(ctx, key, func(e *alert.Entry) error {
		return w.codec.Amend(ctx, e, func(p *alert.Pieces) { p.Plan.PolicyARN = admin })
	}); err != nil {
		t.Fatal(err)
	}
	ts := w.entry(key).TS
	w.serve(clickOn(alert.Undo, key, ts))
	if got := attached("root-admin"); len(got) != 2 {
		t.Fatalf("after Undo of a record naming AdministratorAccess, root-admin has %v; want both policies still attached", got)
	}
	if r := w.slack.Replies(ts); len(r) == 0 || !strings.Contains(r[len(r)-1].Text, "only ever detaches the watchdog") {
		t.Errorf("thread %+v: want the refusal", r)
	}

	key = mfaOff("quarantine-plain", "ops-admin")
	w.serve(clickOn(alert.Undo, key, w.entry(key).TS))
	if got := attached("ops-admin"); len(got) != 1 || got[0] != admin {
		t.Errorf("after Undo, ops-admin has %v; want AdministratorAccess alone (the quarantine lifted)", got)
	}
}

// TestKMSCallsPerClick measures what docs/deploy.md states: the MAC calls of an alert stored
// in approve mode, and of each button on it. Nothing is cached, so each read of a record is a
// VerifyMac and each change to its pieces a GenerateMac.
func TestKMSCallsPerClick(t *testing.T) {
	w := newWorld(t, policy.Approve)
	w.alone()
	counted := &mototest.MACCounter{Client: w.codec.KMS.(*kms.Client)}
	w.codec.KMS = counted
	w.p.Codec, w.h.Codec = w.codec, w.codec
	step := func(name string, wantGenerate, wantVerify int64, do func()) {
		t.Helper()
		g, v := counted.Generate.Load(), counted.Verify.Load()
		do()
		if dg, dv := counted.Generate.Load()-g, counted.Verify.Load()-v; dg != wantGenerate || dv != wantVerify {
			t.Errorf("%s: %d GenerateMac and %d VerifyMac calls; want %d and %d", name, dg, dv, wantGenerate, wantVerify)
		}
	}
	keyID := w.newKey("counted")
	var key string
	step("alert stored (approve mode)", 1, 0, func() { key = w.alert("kms-count-1", "counted", keyID) })
	ts := w.entry(key).TS
	step("Revert now", 3, 7, func() { w.serve(clickOn(alert.Revert, key, ts)) })
	step("Undo", 0, 4, func() { w.serve(clickOn(alert.Undo, key, ts)) })
	key = w.alert("kms-count-2", "counted", w.newKey("counted"))
	step("Acknowledge", 0, 3, func() { w.serve(clickOn(alert.Acknowledge, key, w.entry(key).TS)) })
}

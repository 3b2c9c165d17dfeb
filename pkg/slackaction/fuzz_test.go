package slackaction_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/url"
	"path/filepath"
	"reflect"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/iam-watchdog/iam-watchdog/internal/slackserver"
	"github.com/iam-watchdog/iam-watchdog/pkg/alert"
	"github.com/iam-watchdog/iam-watchdog/pkg/cloudtrail"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/notify"
	"github.com/iam-watchdog/iam-watchdog/pkg/policy"
	"github.com/iam-watchdog/iam-watchdog/pkg/remediate"
	"github.com/iam-watchdog/iam-watchdog/pkg/slackaction"
	"github.com/iam-watchdog/iam-watchdog/pkg/state"
	"github.com/iam-watchdog/iam-watchdog/pkg/watchdog"
)

// FuzzVerify feeds arbitrary timestamps, signatures and bodies to Verify: nothing panics, every
// refusal wraps ErrUnauthorized, and nothing passes but the v0 HMAC of that body and timestamp
// with the signing secret, within MaxSkew of now.
func FuzzVerify(f *testing.F) {
	now := time.Unix(1714640631, 0)
	ts := strconv.FormatInt(now.Unix(), 10)
	body := "payload=%7B%22type%22%3A%22block_actions%22%7D"
	f.Add(ts, slackaction.SignatureHeader(signingSecret, ts, []byte(body)), body)
	f.Add(ts, slackaction.SignatureHeader("guessed", ts, []byte(body)), body)
	f.Add("1714640000", "v0=", "")
	f.Add("-1", "v1=00", "x")
	f.Add("99999999999999999999", "v0=zz", body)
	f.Add(ts+" ", "V0="+hex.EncodeToString(slackaction.Sign(signingSecret, ts, []byte(body))), body)
	f.Fuzz(func(t *testing.T, stamp, sig, body string) {
		h := map[string][]string{"X-Slack-Request-Timestamp": {stamp}, "X-Slack-Signature": {sig}}
		err := slackaction.Verify(h, []byte(body), signingSecret, now)
		if err != nil {
			if !errors.Is(err, slackaction.ErrUnauthorized) {
				t.Fatalf("refusal %v does not wrap ErrUnauthorized", err)
			}
			return
		}
		secs, perr := strconv.ParseInt(stamp, 10, 64)
		if perr != nil || now.Sub(time.Unix(secs, 0)).Abs() > slackaction.MaxSkew {
			t.Fatalf("accepted timestamp %q, %s from now", stamp, now.Sub(time.Unix(secs, 0)))
		}
		got, derr := hex.DecodeString(sig[len("v0="):])
		if sig[:3] != "v0=" || derr != nil || !reflect.DeepEqual(got, slackaction.Sign(signingSecret, stamp, []byte(body))) {
			t.Fatalf("accepted signature %q for body %q", sig, body)
		}
	})
}

// recordingRemediator succeeds at everything and records what it was asked to do.
type recordingRemediator struct {
	mu       sync.Mutex
	applied  []detect.Action
	reverted []remediate.Undo
}

func (r *recordingRemediator) Describe(a detect.Action) string { return a.Kind + " " + a.AccessKeyID }

func (r *recordingRemediator) Apply(_ context.Context, a detect.Action) (remediate.Undo, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.applied = append(r.applied, a)
	return remediate.Undo{Action: a.Kind, Account: a.Account, UserName: a.UserName, AccessKeyID: a.AccessKeyID}, nil
}

func (r *recordingRemediator) Plan(_ context.Context, a detect.Action) (remediate.Undo, error) {
	return remediate.Undo{Action: a.Kind, Account: a.Account, UserName: a.UserName, AccessKeyID: a.AccessKeyID}, nil
}

func (r *recordingRemediator) Do(ctx context.Context, u remediate.Undo) error {
	// The undo record carries the account, as remediate.Remediator's plans do.
	_, err := r.Apply(ctx, detect.Action{Kind: u.Action, Account: u.Account, UserName: u.UserName, AccessKeyID: u.AccessKeyID})
	return err
}

func (r *recordingRemediator) Revert(_ context.Context, u remediate.Undo) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reverted = append(r.reverted, u)
	return nil
}

// FuzzServeURL sends arbitrary request bodies to the interactivity endpoint, both as they come
// (unsigned or forged: always 401, no effect) and signed with the app's secret, so that the form,
// the payload JSON and the clicks in it are all reached. Whatever the body, nothing panics, the
// answer is one of the documented statuses, and the only action ever applied is the one the
// state table holds for the alert: nothing about what to do, or to what, comes from a request.
func FuzzServeURL(f *testing.F) {
	slack := slackserver.Start(f)
	slack.SetGroup("S0SECOPS", "U0GROUPIE")
	bot, err := notify.NewBot(notify.BotConfig{Token: "xoxb-fuzz", Channel: "C0SECURITY", APIURL: slack.APIURL()})
	if err != nil {
		f.Fatal(err)
	}
	client, err := notify.NewBotClient(notify.BotConfig{Token: "xoxb-fuzz", APIURL: slack.APIURL()})
	if err != nil {
		f.Fatal(err)
	}
	store, err := state.OpenFile(filepath.Join(f.TempDir(), "state.json"))
	if err != nil {
		f.Fatal(err)
	}
	rem := &recordingRemediator{}
	// One pending alert, as the pipeline leaves it in approve mode.
	p := &watchdog.Pipeline{Detector: detect.Default(), Config: policy.Config{Mode: policy.Approve}, Remediator: rem, Store: store, Sink: bot, Owner: "watchdog"}
	recs, errs := cloudtrail.Decode("fuzz", []byte(`{"eventVersion": "1.10",
		"userIdentity": {"type": "IAMUser", "principalId": "AIDA5ALICE", "arn": "arn:aws:iam::123456789012:user/alice", "accountId": "123456789012", "userName": "alice"},
		"eventTime": "2024-05-02T09:03:51Z", "eventSource": "iam.amazonaws.com", "eventName": "CreateAccessKey", "awsRegion": "us-east-1",
		"requestParameters": {"userName": "bob"}, "responseElements": {"accessKey": {"userName": "bob", "accessKeyId": "AKIA5BOBFUZZKEY00001", "status": "Active"}},
		"eventID": "fuzz-event-1", "eventType": "AwsApiCall", "recipientAccountId": "123456789012"}`))
	if len(errs) > 0 || len(recs) != 1 {
		f.Fatal(errs)
	}
	if _, err := p.Handle(context.Background(), recs[0]); err != nil {
		f.Fatal(err)
	}
	key := alert.Key("fuzz-event-1", rule)
	entry, err := (alert.Records{Store: store}).Get(context.Background(), key)
	if err != nil {
		f.Fatal(err)
	}
	pieces, err := alert.Codec{}.Open(context.Background(), entry)
	if err != nil || pieces.Action == nil {
		f.Fatalf("stored action: %+v, %v", pieces.Action, err)
	}
	stored := *pieces.Action

	h := &slackaction.Handler{Store: store, Detector: p.Detector, Config: p.Config, Slack: client, Remediator: rem, SigningSecret: signingSecret,
		Approvers: policy.SlackConfig{Approvers: []string{approver}, ApproverGroups: []string{"S0SECOPS"}}, Window: 10 * time.Minute}
	click := func(verb, value, user string) string {
		payload, _ := json.Marshal(map[string]any{
			"type": "block_actions", "user": map[string]any{"id": user}, "channel": map[string]any{"id": "C0SECURITY"},
			"actions": []map[string]any{{"type": "button", "action_id": verb, "value": value}},
		})
		return "payload=" + url.QueryEscape(string(payload))
	}
	for _, s := range []string{
		click("revert", key, approver), click("undo", key, approver), click("acknowledge", key, "U0GROUPIE"),
		click("revert", key, "U0ATTACKER"), click("revert", "fuzz-event-1#access-key-created#report", approver),
		click("revert", `{"kind":"detach_user_policy","policy_arn":"arn:aws:iam::aws:policy/AdministratorAccess"}`, approver),
		click("delete_everything", key, approver), click("revert", alert.FloodKey(rule, "arn:aws:iam::123456789012:user/alice"), approver),
		"", "payload=", "payload=null", "payload=%7B%7D", "payload=%5B%5D", "payload=%7B%22type%22%3A7%7D", "a=%zz", "payload=" + url.QueryEscape(`{"type":"block_actions","actions":null}`),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		now := time.Now()
		ts := strconv.FormatInt(now.Unix(), 10)
		forged := events.LambdaFunctionURLRequest{
			Headers: map[string]string{"x-slack-request-timestamp": ts, "x-slack-signature": slackaction.SignatureHeader("not-the-secret", ts, []byte(body))},
			Body:    body, RequestContext: events.LambdaFunctionURLRequestContext{HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{Method: "POST"}},
		}
		before := len(slack.Messages())
		rem.mu.Lock()
		applied, reverted := len(rem.applied), len(rem.reverted)
		rem.mu.Unlock()
		resp, err := h.ServeURL(context.Background(), forged, "fuzz")
		rem.mu.Lock()
		changed := len(rem.applied) != applied || len(rem.reverted) != reverted
		rem.mu.Unlock()
		if err != nil || resp.StatusCode != 401 || changed || len(slack.Messages()) != before {
			t.Fatalf("forged request: HTTP %d, %v, remediation changed %t, %d Slack messages", resp.StatusCode, err, changed, len(slack.Messages())-before)
		}

		signed := forged
		signed.Headers = map[string]string{"x-slack-request-timestamp": ts, "x-slack-signature": slackaction.SignatureHeader(signingSecret, ts, []byte(body))}
		resp, err = h.ServeURL(context.Background(), signed, "fuzz")
		switch resp.StatusCode {
		case 200, 400:
			if err != nil {
				t.Fatalf("HTTP %d with error %v", resp.StatusCode, err)
			}
		case 500:
			if err == nil {
				t.Fatal("HTTP 500 without an error")
			}
		default:
			t.Fatalf("signed request: HTTP %d (%v)", resp.StatusCode, err)
		}
		rem.mu.Lock()
		defer rem.mu.Unlock()
		for _, a := range rem.applied {
			if !reflect.DeepEqual(a, stored) {
				t.Fatalf("applied %+v; only the stored action %+v may ever be applied", a, stored)
			}
		}
		for _, u := range rem.reverted {
			if u.AccessKeyID != stored.AccessKeyID || u.UserName != stored.UserName {
				t.Fatalf("reverted %+v; only the stored action's undo may be", u)
			}
		}
	})
}

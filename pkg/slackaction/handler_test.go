package slackaction_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/iam-watchdog/iam-watchdog/internal/mototest"
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

const (
	signingSecret = "0123456789abcdef0123456789abcdef"
	approver      = "U0SECLEAD"
	rule          = "access-key-created"
)

// world is a deployed watchdog in miniature: moto's IAM and DynamoDB, a local Slack, the
// pipeline in approve mode posting alerts, and the slack-actions handler.
type world struct {
	t       *testing.T
	iam     *iam.Client
	store   *state.DynamoDB
	slack   *slackserver.Server
	p       *watchdog.Pipeline
	h       *slackaction.Handler
	applied *atomic.Int64
	codec   alert.Codec
	db      *dynamodb.Client // the table, straight, as someone who can write it
}

// countingRemediator counts the actions it applies and reverts for real.
type countingRemediator struct {
	*remediate.Remediator
	applied, reverted *atomic.Int64
}

func (r countingRemediator) Do(ctx context.Context, u remediate.Undo) error {
	r.applied.Add(1)
	return r.Remediator.Do(ctx, u)
}

func (r countingRemediator) Revert(ctx context.Context, u remediate.Undo) error {
	r.reverted.Add(1)
	return r.Remediator.Revert(ctx, u)
}

func newWorld(t *testing.T, mode policy.Mode) *world {
	t.Helper()
	return newWorldOn(t, mototest.Start(t), mode)
}

// newWorldOn is newWorld on srv (mototest.StartManaged's, for a test that needs AWS managed
// policies).
func newWorldOn(t *testing.T, srv *mototest.Server, mode policy.Mode) *world {
	t.Helper()
	cfg := srv.Config(t)
	db := dynamodb.NewFromConfig(cfg)
	mototest.CreateStateTable(t, db, "state")
	store := &state.DynamoDB{API: &mototest.Serialized{API: db}, Table: "state"}
	slack := slackserver.Start(t)
	sink, err := notify.NewBot(notify.BotConfig{Token: "xoxb-test", Channel: "C0SECURITY", APIURL: slack.APIURL()})
	if err != nil {
		t.Fatal(err)
	}
	client, err := notify.NewBotClient(notify.BotConfig{Token: "xoxb-test", APIURL: slack.APIURL()})
	if err != nil {
		t.Fatal(err)
	}
	applied, reverted := &atomic.Int64{}, &atomic.Int64{}
	rem := countingRemediator{Remediator: &remediate.Remediator{Clients: remediate.NewStatic(cfg, "")}, applied: applied, reverted: reverted}
	// Both functions authenticate the records with the stack's key, here moto's.
	codec := alert.Codec{KeyARN: mototest.CreateStateKey(t, kms.NewFromConfig(cfg)), KMS: kms.NewFromConfig(cfg)}
	pc := policy.Config{Mode: mode}
	return &world{
		t: t, iam: iam.NewFromConfig(cfg), store: store, slack: slack, applied: applied, codec: codec, db: db,
		p: &watchdog.Pipeline{Detector: detect.Default(), Config: pc, Remediator: rem, Store: store, Codec: codec, Sink: sink, Owner: "watchdog-invocation"},
		h: &slackaction.Handler{Store: store, Codec: codec, Detector: detect.Default(), Config: pc, Slack: client, Remediator: rem, SigningSecret: signingSecret,
			Approvers: policy.SlackConfig{Approvers: []string{approver}, ApproverGroups: []string{"S0SECOPS"}}, Window: 10 * time.Minute},
	}
}

// newKey creates user (once) and an access key for them in moto, and returns the key's ID.
func (w *world) newKey(user string) string {
	w.t.Helper()
	ctx := context.Background()
	_, _ = w.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(user)})
	out, err := w.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(user)})
	if err != nil {
		w.t.Fatal(err)
	}
	return aws.ToString(out.AccessKey.AccessKeyId)
}

func (w *world) keyStatus(user, keyID string) iamtypes.StatusType {
	w.t.Helper()
	out, err := w.iam.ListAccessKeys(context.Background(), &iam.ListAccessKeysInput{UserName: aws.String(user)})
	if err != nil {
		w.t.Fatal(err)
	}
	for _, k := range out.AccessKeyMetadata {
		if aws.ToString(k.AccessKeyId) == keyID {
			return k.Status
		}
	}
	w.t.Fatalf("no key %s for %s", keyID, user)
	return ""
}

// alert runs alice's creation of keyID for user through the pipeline and returns its state key.
func (w *world) alert(eventID, user, keyID string) string {
	w.t.Helper()
	raw := fmt.Sprintf(`{"eventVersion": "1.10",
		"userIdentity": {"type": "IAMUser", "principalId": "AIDA5ALICEQ7EXAMPLE01", "arn": "arn:aws:iam::123456789012:user/alice", "accountId": "123456789012", "userName": "alice"},
		"eventTime": "2024-05-02T09:03:51Z", "eventSource": "iam.amazonaws.com", "eventName": "CreateAccessKey", "awsRegion": "us-east-1",
		"sourceIPAddress": "198.51.100.40", "userAgent": "aws-cli/2.15.30",
		"requestParameters": {"userName": %q},
		"responseElements": {"accessKey": {"userName": %q, "accessKeyId": %q, "status": "Active"}},
		"eventID": %q, "readOnly": false, "eventType": "AwsApiCall", "recipientAccountId": "123456789012"}`, user, user, keyID, eventID)
	recs, errs := cloudtrail.Decode("test", []byte(raw))
	if len(errs) > 0 {
		w.t.Fatal(errs)
	}
	if _, err := w.p.Handle(context.Background(), recs[0]); err != nil {
		w.t.Fatal(err)
	}
	return alert.Key(eventID, rule)
}

// request is the Function URL event Slack's click on a button makes, signed at time at.
func request(verb alert.Verb, key, user string, at time.Time, secret string) events.LambdaFunctionURLRequest {
	payload, _ := json.Marshal(map[string]any{
		"type": "block_actions", "user": map[string]any{"id": user, "username": "someone"},
		"channel": map[string]any{"id": "C0SECURITY"}, "container": map[string]any{"type": "message", "channel_id": "C0SECURITY"},
		"actions": []map[string]any{{"type": "button", "action_id": string(verb), "block_id": "iam_watchdog_actions", "value": key, "action_ts": "1714640631.000200"}},
	})
	body := "payload=" + url.QueryEscape(string(payload))
	ts := strconv.FormatInt(at.Unix(), 10)
	return events.LambdaFunctionURLRequest{
		Headers: map[string]string{
			"content-type":              "application/x-www-form-urlencoded",
			"x-slack-request-timestamp": ts,
			"x-slack-signature":         slackaction.SignatureHeader(secret, ts, []byte(body)),
		},
		Body:           body,
		RequestContext: events.LambdaFunctionURLRequestContext{HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{Method: "POST"}},
	}
}

func (w *world) serve(req events.LambdaFunctionURLRequest) int {
	w.t.Helper()
	resp, err := w.h.ServeURL(context.Background(), req, "slack-actions-invocation")
	if err != nil {
		w.t.Fatalf("ServeURL: %v", err)
	}
	return resp.StatusCode
}

func (w *world) entry(key string) alert.Entry {
	w.t.Helper()
	e, err := (alert.Records{Store: w.store}).Get(context.Background(), key)
	if err != nil {
		w.t.Fatal(err)
	}
	return e
}

// pieces are the pieces of authority an entry holds, as the codec reads them.
func (w *world) pieces(e alert.Entry) alert.Pieces {
	w.t.Helper()
	p, err := alert.Codec{}.Open(context.Background(), e)
	if err != nil {
		w.t.Fatal(err)
	}
	return p
}

// undoText is an entry's undo record as stored (JSON), "" when it holds none.
func (w *world) undoText(e alert.Entry) string {
	w.t.Helper()
	u := w.pieces(e).Plan
	if u == nil {
		return ""
	}
	data, err := json.Marshal(u)
	if err != nil {
		w.t.Fatal(err)
	}
	return string(data)
}

// current is the alert's message as it reads now, blocks and fallback together.
func (w *world) current(key string) string {
	w.t.Helper()
	m, ok := w.slack.Current(w.entry(key).TS)
	if !ok {
		w.t.Fatalf("no message for %s", key)
	}
	var blocks any
	_ = json.Unmarshal(m.Blocks, &blocks)
	b, _ := json.Marshal(blocks)
	return strings.ReplaceAll(strings.ReplaceAll(string(b), `\u003c`, "<"), `\u003e`, ">") + "\n" + m.Text
}

func TestSignedRequestsOnly(t *testing.T) {
	w := newWorld(t, policy.Approve)
	keyID := w.newKey("bob")
	key := w.alert("sig-event-1", "bob", keyID)
	before := w.entry(key)
	messages := len(w.slack.Messages())
	now := time.Now()

	unsigned := request(alert.Revert, key, approver, now, signingSecret)
	delete(unsigned.Headers, "x-slack-signature")
	stale := request(alert.Revert, key, approver, now.Add(-6*time.Minute), signingSecret)
	ahead := request(alert.Revert, key, approver, now.Add(6*time.Minute), signingSecret)
	forged := request(alert.Revert, key, approver, now, "guessed-secret")
	tampered := request(alert.Revert, key, approver, now, signingSecret)
	tampered.Body = strings.Replace(tampered.Body, approver, "U0ATTACKER", 1)
	for name, req := range map[string]events.LambdaFunctionURLRequest{
		"missing signature": unsigned, "stale timestamp": stale, "timestamp ahead": ahead,
		"wrong signature": forged, "tampered body": tampered,
	} {
		if code := w.serve(req); code != 401 {
			t.Errorf("%s: HTTP %d, want 401", name, code)
		}
	}
	if after := w.entry(key); after.Version != before.Version || after.Status != alert.Pending {
		t.Errorf("refused requests changed the entry: version %d → %d, status %s", before.Version, after.Version, after.Status)
	}
	if n := len(w.slack.Messages()); n != messages || w.applied.Load() != 0 || w.keyStatus("bob", keyID) != iamtypes.StatusTypeActive {
		t.Fatalf("refused requests had effects: %d new Slack messages, %d remediations", n-messages, w.applied.Load())
	}

	// The same click, signed, base64-encoded as Function URLs may deliver it: accepted.
	ok := request(alert.Revert, key, approver, now, signingSecret)
	ok.Body, ok.IsBase64Encoded = base64.StdEncoding.EncodeToString([]byte(ok.Body)), true
	if code := w.serve(ok); code != 200 {
		t.Fatalf("signed request: HTTP %d", code)
	}
	if w.keyStatus("bob", keyID) != iamtypes.StatusTypeInactive {
		t.Fatal("signed Revert now did not deactivate the key")
	}
}

func TestOnlyApproversAct(t *testing.T) {
	w := newWorld(t, policy.Approve)
	w.slack.SetGroup("S0SECOPS", "U0ONCALL")
	keyID := w.newKey("bob")
	key := w.alert("approver-event-1", "bob", keyID)

	if code := w.serve(request(alert.Revert, key, "U0STRANGER", time.Now(), signingSecret)); code != 200 {
		t.Fatalf("HTTP %d", code)
	}
	eph := w.slack.Ephemerals()
	if len(eph) != 1 || eph[0].User != "U0STRANGER" || !strings.Contains(eph[0].Text, "Only the watchdog's approvers") {
		t.Fatalf("ephemerals %+v, want one refusal to U0STRANGER", eph)
	}
	if w.applied.Load() != 0 || w.entry(key).Status != alert.Pending || len(w.slack.Updates()) != 0 {
		t.Fatal("an unlisted user's click had an effect")
	}

	// A member of an approver group may act.
	if code := w.serve(request(alert.Acknowledge, key, "U0ONCALL", time.Now(), signingSecret)); code != 200 {
		t.Fatalf("HTTP %d", code)
	}
	if e := w.entry(key); e.Status != alert.Acknowledged || e.StatusBy != "U0ONCALL" {
		t.Fatalf("after the group member's Acknowledge: %s by %s", e.Status, e.StatusBy)
	}
	if !strings.Contains(w.current(key), "Status: Acknowledged by <@U0ONCALL>") {
		t.Errorf("message not updated:\n%s", w.current(key))
	}
	// Acknowledged means declined: Revert now no longer applies, and is not offered.
	if strings.Contains(w.current(key), `"action_id":"revert"`) {
		t.Error("an acknowledged alert still offers Revert now")
	}
	w.serve(request(alert.Revert, key, approver, time.Now(), signingSecret))
	if w.applied.Load() != 0 {
		t.Error("Revert now acted on an acknowledged alert")
	}
}

// The alert's life: pending → Revert now (the key is deactivated in moto, the message says
// so, the thread says who) → Undo revert (the key is active again).
func TestRevertNowThenUndo(t *testing.T) {
	w := newWorld(t, policy.Approve)
	keyID := w.newKey("bob")
	key := w.alert("life-event-1", "bob", keyID)
	ts := w.entry(key).TS
	if msg := w.current(key); !strings.Contains(msg, `"action_id":"revert"`) || !strings.Contains(msg, `"value":"life-event-1#access-key-created"`) {
		t.Fatalf("the alert offers no Revert now:\n%s", w.current(key))
	}

	if code := w.serve(request(alert.Revert, key, approver, time.Now(), signingSecret)); code != 200 {
		t.Fatalf("HTTP %d", code)
	}
	if w.keyStatus("bob", keyID) != iamtypes.StatusTypeInactive {
		t.Fatal("Revert now did not deactivate the key")
	}
	msg := w.current(key)
	for _, want := range []string{"Status: Reverted by <@U0SECLEAD>", `"action_id":"undo"`, "*Reverted:* deactivated access key"} {
		if !strings.Contains(msg, want) {
			t.Errorf("after Revert now the message lacks %q:\n%s", want, msg)
		}
	}
	replies := w.slack.Replies(ts)
	if len(replies) != 1 || !strings.Contains(replies[0].Text, "<@U0SECLEAD> pressed *Revert now* at ") || !strings.Contains(replies[0].Text, "deactivated access key `"+keyID+"` of user `bob`") {
		t.Fatalf("thread after Revert now: %+v", replies)
	}
	if e := w.entry(key); w.undoText(e) == "" || e.Status != alert.Reverted || len(e.Events) != 2 {
		t.Fatalf("entry after Revert now: %+v", e)
	}

	if code := w.serve(request(alert.Undo, key, approver, time.Now(), signingSecret)); code != 200 {
		t.Fatalf("HTTP %d", code)
	}
	if w.keyStatus("bob", keyID) != iamtypes.StatusTypeActive {
		t.Fatal("Undo revert did not re-activate the key")
	}
	if msg := w.current(key); !strings.Contains(msg, "Status: Undone by <@U0SECLEAD>") || strings.Contains(msg, `"type":"actions"`) {
		t.Errorf("after Undo the message should say undone and offer no buttons:\n%s", msg)
	}
	replies = w.slack.Replies(ts)
	if len(replies) != 2 || !strings.Contains(replies[1].Text, "re-activated access key `"+keyID+"`") {
		t.Fatalf("thread after Undo: %+v", replies)
	}
	if e := w.entry(key); e.UndoneAt.IsZero() || e.Status != alert.Undone {
		t.Fatalf("entry after Undo: %+v", e)
	}
}

// failingUpdate is a store whose nth Update fails.
type failingUpdate struct {
	state.Store
	n, calls atomic.Int64
}

// failUpdate makes the handler's store fail its nth Update from now on.
func (w *world) failUpdate(n int64) *failingUpdate {
	s := &failingUpdate{Store: w.store}
	s.n.Store(n)
	w.h.Store = s
	return s
}

func (s *failingUpdate) Update(ctx context.Context, key string, change func(*state.Entry) error) (state.Entry, error) {
	if s.calls.Add(1) == s.n.Load() {
		return state.Entry{}, errors.New("table unavailable")
	}
	return s.Store.Update(ctx, key, change)
}

// Revert now stores the undo record before it acts: when that write fails, nothing is done
// (the click's first Update marks it begun, the second stores the undo record).
func TestRevertNowStoresUndoFirst(t *testing.T) {
	w := newWorld(t, policy.Approve)
	keyID := w.newKey("bob")
	key := w.alert("undo-first-1", "bob", keyID)
	store := w.failUpdate(2)
	w.serve(request(alert.Revert, key, approver, time.Now(), signingSecret))
	if store.calls.Load() < 2 {
		t.Fatalf("%d Updates: the click never came to store the undo record", store.calls.Load())
	}
	if w.applied.Load() != 0 || w.keyStatus("bob", keyID) != iamtypes.StatusTypeActive {
		t.Errorf("%d remediations, key %s: want nothing done when the undo record cannot be stored", w.applied.Load(), w.keyStatus("bob", keyID))
	}
	if e := w.entry(key); w.undoText(e) != "" {
		t.Errorf("undo record %s stored for an action not taken", w.undoText(e))
	}
}

// A Revert now that acted but could not record its outcome (the click's third Update) is
// resumed by the next click once its run's lease is over. The key is deleted meanwhile, so the
// resumed UpdateAccessKey meets NoSuchEntity: that answers the first click's own change, and the
// undo record stored before acting is kept with the outcome done (a fresh plan would have said
// "already reverted" and dropped it).
func TestRevertNowResumesAPlanLeftByAnEarlierClick(t *testing.T) {
	w := newWorld(t, policy.Approve)
	keyID := w.newKey("bob")
	key := w.alert("resume-event-1", "bob", keyID)
	w.failUpdate(3)
	w.serve(request(alert.Revert, key, approver, time.Now(), signingSecret))
	if w.keyStatus("bob", keyID) != iamtypes.StatusTypeInactive || w.undoText(w.entry(key)) == "" {
		t.Fatalf("first click: key %s, undo %s; want deactivated with the undo record stored first", w.keyStatus("bob", keyID), w.undoText(w.entry(key)))
	}

	if _, err := w.iam.DeleteAccessKey(t.Context(), &iam.DeleteAccessKeyInput{UserName: aws.String("bob"), AccessKeyId: aws.String(keyID)}); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(3 * time.Minute)
	w.h.Now = func() time.Time { return later }
	w.serve(request(alert.Revert, key, approver, later, signingSecret))
	e := w.entry(key)
	stored := w.pieces(e).Outcome
	if stored == nil {
		t.Fatal("no outcome stored")
	}
	o := *stored
	if o.Status != remediate.Done || !strings.Contains(w.undoText(e), keyID) || e.Status != alert.Reverted {
		t.Errorf("after the second click: outcome %s (%q), status %s, undo %s; want done and reverted, keeping the undo record", o.Status, o.Reason, e.Status, w.undoText(e))
	}
}

// Slack redelivers a request (X-Slack-Retry-Num) or a person clicks twice: the second does
// nothing but say who did it first.
func TestRedeliveredClickActsOnce(t *testing.T) {
	w := newWorld(t, policy.Approve)
	keyID := w.newKey("bob")
	key := w.alert("retry-event-1", "bob", keyID)
	ts := w.entry(key).TS
	req := request(alert.Revert, key, approver, time.Now(), signingSecret)
	if code := w.serve(req); code != 200 {
		t.Fatalf("HTTP %d", code)
	}
	req.Headers["x-slack-retry-num"] = "1"
	req.Headers["x-slack-retry-reason"] = "http_timeout"
	if code := w.serve(req); code != 200 {
		t.Fatalf("redelivery: HTTP %d", code)
	}
	if n := w.applied.Load(); n != 1 {
		t.Errorf("%d remediations, want 1", n)
	}
	if r := w.slack.Replies(ts); len(r) != 1 {
		t.Errorf("%d thread replies, want 1", len(r))
	}
	eph := w.slack.Ephemerals()
	if len(eph) != 1 || !strings.Contains(eph[0].Text, "Nothing done") || !strings.Contains(eph[0].Text, "<@U0SECLEAD> at ") {
		t.Errorf("the repeat should be told who did it and when: %+v", eph)
	}
}

// Revert now on a burst's message reverts every finding in it.
func TestRevertNowOnBurst(t *testing.T) {
	w := newWorld(t, policy.Approve)
	users := []string{"carol", "dave", "erin"}
	var keys, ids []string
	for i, u := range users {
		id := w.newKey(u)
		ids = append(ids, id)
		keys = append(keys, w.alert(fmt.Sprintf("burst-event-%d", i), u, id))
	}
	if n := len(w.slack.Posts()); n != 1 {
		t.Fatalf("%d posts for a burst of 3, want 1", n)
	}
	if code := w.serve(request(alert.Revert, keys[0], approver, time.Now(), signingSecret)); code != 200 {
		t.Fatalf("HTTP %d", code)
	}
	for i, u := range users {
		if w.keyStatus(u, ids[i]) != iamtypes.StatusTypeInactive {
			t.Errorf("%s's key is still active", u)
		}
	}
	msg := w.current(keys[0])
	if !strings.Contains(msg, "3 findings") || !strings.Contains(msg, "Remediation: 3 done") {
		t.Errorf("burst message after Revert now:\n%s", msg)
	}
	if r := w.slack.Replies(w.entry(keys[0]).TS); len(r) != 1 || !strings.Contains(r[0].Text, "(3 of 3 findings)") {
		t.Errorf("thread: %+v", r)
	}
}

// A click on a key the state table does not hold, or on a flood index, changes nothing.
func TestUnknownKey(t *testing.T) {
	w := newWorld(t, policy.Approve)
	for _, key := range []string{"no-such-event#access-key-created", alert.FloodKey(rule, "arn:aws:iam::123456789012:user/alice")} {
		if code := w.serve(request(alert.Revert, key, approver, time.Now(), signingSecret)); code != 200 {
			t.Fatalf("HTTP %d", code)
		}
	}
	if w.applied.Load() != 0 || len(w.slack.Ephemerals()) != 2 {
		t.Errorf("%d remediations, ephemerals %+v", w.applied.Load(), w.slack.Ephemerals())
	}
}

// REMEDIATION_MODE off or dry-run is the deployment's kill switch: Revert now is refused and
// nothing changes, and the clicker is told why.
func TestRevertNowHalted(t *testing.T) {
	w := newWorld(t, policy.Approve)
	w.h.HaltReason = "remediation is switched off in this deployment (REMEDIATION_MODE=dry-run), so nothing was reverted"
	keyID := w.newKey("bob")
	key := w.alert("halted-event-1", "bob", keyID)
	if code := w.serve(request(alert.Revert, key, approver, time.Now(), signingSecret)); code != 200 {
		t.Fatalf("HTTP %d", code)
	}
	if w.keyStatus("bob", keyID) != iamtypes.StatusTypeActive || w.applied.Load() != 0 {
		t.Fatal("Revert now acted although remediation is switched off")
	}
	if e := w.entry(key); e.Status != alert.Pending {
		t.Errorf("entry status %s, want still pending", e.Status)
	}
	eph := w.slack.Ephemerals()
	if len(eph) != 1 || !strings.Contains(eph[0].Text, "REMEDIATION_MODE=dry-run") {
		t.Errorf("the clicker should be told remediation is off: %+v", eph)
	}
}

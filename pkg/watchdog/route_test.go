package watchdog_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iam-watchdog/iam-watchdog/internal/slackserver"
	"github.com/iam-watchdog/iam-watchdog/internal/watchdogtest"
	"github.com/iam-watchdog/iam-watchdog/pkg/alert"
	"github.com/iam-watchdog/iam-watchdog/pkg/cloudtrail"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/notify"
	"github.com/iam-watchdog/iam-watchdog/pkg/policy"
	"github.com/iam-watchdog/iam-watchdog/pkg/state"
	"github.com/iam-watchdog/iam-watchdog/pkg/watchdog"
)

// example is an example event's CloudTrail record with its ID, time and source IP set.
func example(t *testing.T, name, eventID string, at time.Time, ip string, edit func(detail map[string]any)) *cloudtrail.Record {
	t.Helper()
	return watchdogtest.Example(t, name, eventID, at, func(d map[string]any) {
		if ip != "" {
			d["sourceIPAddress"] = ip
		}
		if edit != nil {
			edit(d)
		}
	})
}

func parseConfig(t *testing.T, yaml string) policy.Config {
	t.Helper()
	c, err := policy.Parse([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// routedPipeline is a pipeline over an in-memory store and the local Slack, whose clock is
// the time of the event it handles, as if each arrived when it happened.
type routedPipeline struct {
	*watchdog.Pipeline
	now time.Time
}

func newRouted(t *testing.T, cfg policy.Config, slack *slackserver.Server, store state.Store) *routedPipeline {
	rp := &routedPipeline{}
	rp.Pipeline = &watchdog.Pipeline{Detector: detect.Default(), Config: cfg, Remediator: &countingRemediator{}, Store: store,
		Sink: bot(t, slack), Owner: "invocation-1", Now: func() time.Time { return rp.now }}
	return rp
}

func (rp *routedPipeline) handle(t *testing.T, rec *cloudtrail.Record) watchdog.Result {
	t.Helper()
	rp.now = rec.EventTime
	results, err := rp.Handle(context.Background(), rec)
	if err != nil || len(results) != 1 {
		t.Fatalf("%s: %d results, %v", rec.EventID, len(results), err)
	}
	return results[0]
}

// namedIn says in which of the accepted messages (posts and their updates, by ts) each event ID
// appears.
func namedIn(slack *slackserver.Server, ids ...string) map[string][]string {
	out := map[string][]string{}
	for _, m := range append(slack.Posts(), slack.Updates()...) {
		for _, id := range ids {
			if strings.Contains(m.Shown(), id) && !slices.Contains(out[id], m.TS) {
				out[id] = append(out[id], m.TS)
			}
		}
	}
	return out
}

// Findings are posted at once or kept for the digest by severity, in the channel of their
// category or severity; what remediation did is posted whatever its severity.
func TestRoutingBySeverityAndChannel(t *testing.T) {
	ctx := context.Background()
	slack := slackserver.Start(t)
	store := &state.Memory{}
	cfg := parseConfig(t, `
slack:
  channels: {critical: C0ALERTS, high: C0ALERTS, iam_user_created: C0ADMIN}
rules:
  access-key-created: {mode: auto, severity: low}
`)
	rp := newRouted(t, cfg, slack, store)
	t0 := time.Date(2024, 5, 2, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		file    string
		kind    policy.RouteKind
		channel string // of the post, or of the digest entry
	}{
		{"root_signin/alert-root-success-no-mfa.json", policy.Immediate, "C0ALERTS"},
		{"password_policy_changed/alert-weak-policy.json", policy.Immediate, "C0SECURITY"},
		{"iam_user_created/alert-create-user.json", policy.Digest, "C0ADMIN"},
		{"route_table_changed/alert-delete-route.json", policy.Digest, ""},
		{"unauthorized_api_calls/alert-ec2-describe-unauthorized.json", policy.Digest, ""},           // below its threshold
		{"unauthorized_api_calls/alert-iam-create-user-denied.json", policy.Immediate, "C0SECURITY"}, // a sensitive API
		{"access_key_created/alert-self.json", policy.Immediate, "C0SECURITY"},                       // low, but reverted
	} {
		t.Run(tc.file, func(t *testing.T) {
			before := len(slack.Posts())
			r := rp.handle(t, example(t, tc.file, "ev-"+strings.ReplaceAll(tc.file, "/", "-"), t0, "", nil))
			if r.Route.Kind != tc.kind || !r.Alerted {
				t.Fatalf("routed %+v (alerted %t), want %s", r.Route, r.Alerted, tc.kind)
			}
			posts := slack.Posts()[before:]
			if tc.kind == policy.Digest {
				if len(posts) != 0 {
					t.Fatalf("a digest finding was posted: %q", posts[0].Text)
				}
				d, err := alert.Digests{Store: store}.Read(ctx, t0.Truncate(24*time.Hour), tc.channel)
				if err != nil || !slices.ContainsFunc(d.Groups, func(g alert.DigestGroup) bool { return g.Category == r.Finding.Category }) {
					t.Fatalf("digest of %q: %+v %v; want the finding's category", tc.channel, d, err)
				}
				return
			}
			if len(posts) != 1 || posts[0].Channel != tc.channel {
				t.Fatalf("posts %+v, want one in %s", posts, tc.channel)
			}
		})
	}
}

// Flood control never buries a worse finding: a root sign-in without MFA minutes after one with
// MFA is posted anew, and the failed sign-in after it joins that message, listed with what sets
// it apart. A second inline policy on a user is listed beside the first.
func TestFloodNeverBuriesAWorseFinding(t *testing.T) {
	slack := slackserver.Start(t)
	rp := newRouted(t, policy.Default(), slack, &state.Memory{})
	t0 := time.Date(2024, 5, 2, 9, 0, 0, 0, time.UTC)
	mfa := rp.handle(t, example(t, "root_signin/alert-root-success-mfa.json", "root-mfa-1", t0, "198.51.100.10", nil))
	noMFA := rp.handle(t, example(t, "root_signin/alert-root-success-no-mfa.json", "root-nomfa-2", t0.Add(3*time.Minute), "203.0.113.66", nil))
	failed := rp.handle(t, example(t, "root_signin/alert-root-failure.json", "root-failed-3", t0.Add(4*time.Minute), "203.0.113.67", nil))
	if mfa.Finding.Severity != detect.High || noMFA.Finding.Severity != detect.Critical || failed.Finding.Severity != detect.Medium {
		t.Fatalf("severities %s %s %s", mfa.Finding.Severity, noMFA.Finding.Severity, failed.Finding.Severity)
	}
	posts := slack.Posts()
	if len(posts) != 2 {
		t.Fatalf("%d posts, want 2: the sign-in with MFA, and the one without posted anew", len(posts))
	}
	if !strings.HasPrefix(posts[1].Text, "CRITICAL") || noMFA.Delivery.TS != posts[1].TS || failed.Delivery.TS != posts[1].TS {
		t.Errorf("second post %q (%s); the critical one and the failure after it belong there", posts[1].Text, posts[1].TS)
	}
	named := namedIn(slack, "root-mfa-1", "root-nomfa-2", "root-failed-3")
	for id, want := range map[string]string{"root-mfa-1": posts[0].TS, "root-nomfa-2": posts[1].TS, "root-failed-3": posts[1].TS} {
		if len(named[id]) != 1 || named[id][0] != want {
			t.Errorf("%s named in messages %v, want only %s", id, named[id], want)
		}
	}
	cur, _ := slack.Current(posts[1].TS)
	for _, want := range []string{
		"2 findings by the same actor",
		"root-nomfa-2|root-nomfa-2> 2024-05-02T09:03:00Z · from 203.0.113.66 · CRITICAL · ConsoleLogin success no MFA",
		"root-failed-3|root-failed-3> 2024-05-02T09:04:00Z · from 203.0.113.67 · MEDIUM · ConsoleLogin failure no MFA",
	} {
		if !strings.Contains(cur.Shown(), want) {
			t.Errorf("the critical message lacks %q:\n%s", want, cur.Shown())
		}
	}

	before := len(slack.Posts())
	rp.handle(t, example(t, "user_policy_attached/alert-put-inline-narrow.json", "inline-1", t0.Add(10*time.Minute), "", nil))
	rp.handle(t, example(t, "user_policy_attached/alert-put-inline-narrow.json", "inline-2", t0.Add(12*time.Minute), "", func(d map[string]any) {
		d["requestParameters"].(map[string]any)["policyName"] = "second-policy"
	}))
	inline := slack.Posts()[before:]
	if len(inline) != 1 {
		t.Fatalf("%d posts for two inline policies on one user, want 1", len(inline))
	}
	cur, _ = slack.Current(inline[0].TS)
	for _, want := range []string{"inline-1|inline-1>", "inline-2|inline-2>", "inline policy second-policy"} {
		if !strings.Contains(cur.Shown(), want) {
			t.Errorf("the inline-policy message lacks %q:\n%s", want, cur.Shown())
		}
	}
}

// deniedCall is a call by caller denied by S3 (or by service, when given).
func deniedCall(t *testing.T, caller, eventID string, at time.Time, service string) *cloudtrail.Record {
	return example(t, "unauthorized_api_calls/alert-ec2-describe-unauthorized.json", eventID, at, "", func(d map[string]any) {
		watchdogtest.IAMUser(caller)(d)
		if service != "" {
			d["eventSource"], d["eventName"] = service+".amazonaws.com", "ListUsers"
		}
	})
}

// Denied calls are counted per caller by concurrent handlers against moto's DynamoDB: one
// message when the caller crosses the threshold, which ends up counting every call after it, no
// count lost; the calls before it, and another caller's below the threshold, go to the digest;
// a denied call on IAM is posted at once.
//
// moto checks condition expressions without a lock, so two concurrent conditional writes can both
// succeed there, which DynamoDB never allows; mototest.Serialized (in dynamoStore) sends one
// request at a time, giving moto DynamoDB's atomicity per request while the handlers still race
// between reading the index and writing it back, which is what the conditional writes decide.
func TestThresholdUnderConcurrentHandlers(t *testing.T) {
	ctx := context.Background()
	store := dynamoStore(t)
	slack := slackserver.Start(t)
	t0 := time.Date(2024, 5, 2, 9, 0, 0, 0, time.UTC)
	const noisy, quiet, workers = 40, 5, 8
	var recs []*cloudtrail.Record
	for i := range noisy {
		recs = append(recs, deniedCall(t, "mallory", fmt.Sprintf("mallory-%03d", i), t0.Add(time.Duration(i)*time.Second), ""))
	}
	for i := range quiet {
		recs = append(recs, deniedCall(t, "erin", fmt.Sprintf("erin-%03d", i), t0.Add(time.Duration(i)*time.Second), ""))
	}
	recs = append(recs, deniedCall(t, "erin", "erin-iam", t0, "iam"))

	work := make(chan *cloudtrail.Record)
	var wg sync.WaitGroup
	var mu sync.Mutex
	digested := map[string]int{}
	for w := range workers {
		wg.Go(func() {
			for rec := range work {
				p := &watchdog.Pipeline{Detector: detect.Default(), Config: policy.Default(), Store: store, Sink: bot(t, slack),
					Owner: fmt.Sprintf("invocation-%d-%s", w, rec.EventID), Now: func() time.Time { return t0.Add(time.Minute) }}
				var results []watchdog.Result
				var err error
				for range 5 { // Lambda retries a failed invocation
					if results, err = p.Handle(ctx, rec); err == nil {
						break
					}
				}
				if err != nil {
					t.Error(err)
					continue
				}
				mu.Lock()
				for _, r := range results {
					if r.Route.Kind == policy.Digest {
						digested[policy.Caller(r.Finding.Actor)]++
					}
				}
				mu.Unlock()
			}
		})
	}
	for _, rec := range recs {
		work <- rec
	}
	close(work)
	wg.Wait()

	posts := slack.Posts()
	if len(posts) != 2 {
		t.Fatalf("%d posts, want 2: mallory crossing the threshold, erin's denied IAM call", len(posts))
	}
	var crossing slackserver.Message
	for _, p := range posts {
		if strings.Contains(p.Text, "mallory") {
			crossing = p
		}
	}
	cur, _ := slack.Current(crossing.TS)
	want := fmt.Sprintf("%d findings by the same caller under this rule, over its threshold of 10 in 5m", noisy-digested["arn:aws:iam::123456789012:user/mallory"]+9)
	if !strings.Contains(string(cur.Blocks), want) {
		t.Errorf("the crossing message does not count every call from the crossing on (%d went to the digest):\n%s", digested["arn:aws:iam::123456789012:user/mallory"], cur.Blocks)
	}
	if n := digested["arn:aws:iam::123456789012:user/mallory"]; n != 9 {
		t.Errorf("%d of mallory's calls went to the digest, want the 9 before the crossing", n)
	}
	if n := digested["arn:aws:iam::123456789012:user/erin"]; n != quiet {
		t.Errorf("%d of erin's calls went to the digest, want %d (below the threshold)", n, quiet)
	}
	d, err := alert.Digests{Store: store}.Read(ctx, t0.Truncate(24*time.Hour), "")
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, g := range d.Groups {
		counts[g.Caller] = g.Count
	}
	if counts["arn:aws:iam::123456789012:user/mallory"] != 9 || counts["arn:aws:iam::123456789012:user/erin"] != quiet {
		t.Errorf("digest counts %v, want 9 for mallory and %d for erin", counts, quiet)
	}
	if !strings.Contains(string(cur.Blocks), "40 findings") {
		t.Errorf("the crossing message does not read 40:\n%s", cur.Blocks)
	}
}

// The digest: one message per channel once its period has ended, grouped by category and caller
// with counts and examples linked to CloudTrail; a second run posts nothing again.
func TestPostDigest(t *testing.T) {
	ctx := context.Background()
	slack := slackserver.Start(t)
	store := &state.Memory{}
	rp := newRouted(t, parseConfig(t, "slack: {channels: {iam_user_created: C0ADMIN}}"), slack, store)
	t0 := time.Date(2024, 5, 2, 9, 0, 0, 0, time.UTC)
	for i := range 3 {
		rp.handle(t, deniedCall(t, "erin", fmt.Sprintf("erin-%d", i), t0.Add(time.Duration(i)*time.Hour), ""))
	}
	rp.handle(t, example(t, "iam_user_created/alert-create-user.json", "new-user-1", t0, "", nil))
	if len(slack.Posts()) != 0 {
		t.Fatalf("digest findings were posted: %+v", slack.Posts())
	}
	post := func(at time.Time) int {
		t.Helper()
		n, err := notify.PostDigest(ctx, notify.DigestOptions{Store: store, Poster: bot(t, slack), Owner: "schedule", Now: func() time.Time { return at }})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := post(t0.Add(12 * time.Hour)); n != 0 {
		t.Fatalf("%d digests posted before the day ended", n)
	}
	if n := post(t0.Add(15 * time.Hour)); n != 2 {
		t.Fatalf("%d digests posted after the day ended, want 2 (two channels)", n)
	}
	if n := post(t0.Add(16 * time.Hour)); n != 0 {
		t.Fatalf("%d digests posted again", n)
	}
	posts := slack.Posts()
	byChannel := map[string]string{}
	for _, p := range posts {
		byChannel[p.Channel] = p.Shown()
	}
	for channel, wants := range map[string][]string{
		"C0SECURITY": {"Digest: 3 findings, 2024-05-02 00:00 – 2024-05-03 00:00 UTC", "`unauthorized_api_calls`* — 3 findings (3 low)",
			"`arn:aws:iam::123456789012:user/erin` in `123456789012`: *3* (3 low) · 09:00–11:00",
			"<https://us-east-1.console.aws.amazon.com/cloudtrailv2/home?region=us-east-1#/events/erin-0|erin-0>"},
		"C0ADMIN": {"Digest: 1 findings", "`iam_user_created`* — 1 findings (1 low)", "new-user-1"},
	} {
		for _, want := range wants {
			if !strings.Contains(byChannel[channel], want) {
				t.Errorf("digest in %s lacks %q:\n%s", channel, want, byChannel[channel])
			}
		}
	}
}

// A finding more severe than the threshold message it would join is posted anew: a denied AWS
// Config write (medium) after a caller's denied reads (low) crossed the threshold.
func TestThresholdMessageNeverBuriesAWorseFinding(t *testing.T) {
	slack := slackserver.Start(t)
	rp := newRouted(t, policy.Default(), slack, &state.Memory{})
	t0 := time.Date(2024, 5, 2, 9, 0, 0, 0, time.UTC)
	for i := range 11 {
		rp.handle(t, deniedCall(t, "mallory", fmt.Sprintf("read-%02d", i), t0.Add(time.Duration(i)*time.Second), ""))
	}
	worse := rp.handle(t, example(t, "unauthorized_api_calls/alert-ec2-describe-unauthorized.json", "config-write", t0.Add(time.Minute), "", func(d map[string]any) {
		watchdogtest.IAMUser("mallory")(d)
		d["eventSource"], d["eventName"], d["readOnly"] = "config.amazonaws.com", "DeleteConfigRule", false
	}))
	if worse.Finding.Severity != detect.Medium || worse.Route.Kind != policy.Counted {
		t.Fatalf("the Config write: %s, routed %+v", worse.Finding.Severity, worse.Route)
	}
	posts := slack.Posts()
	if len(posts) != 2 || !strings.HasPrefix(posts[0].Text, "[10 findings] LOW") || !strings.HasPrefix(posts[1].Text, "MEDIUM") {
		t.Fatalf("posts %q: want the crossing (LOW) and the denied Config write (MEDIUM) posted anew", []string{posts[0].Text, posts[len(posts)-1].Text})
	}
	if named := namedIn(slack, "config-write", "read-10"); len(named["config-write"]) != 1 || named["config-write"][0] != posts[1].TS || named["read-10"][0] != posts[0].TS {
		t.Errorf("named in %v", named)
	}
}

// A sink that cannot update a message (an incoming webhook) gets one message per crossing; the
// findings between crossings go to the digest rather than vanish.
func TestThresholdWithAWebhook(t *testing.T) {
	ctx := context.Background()
	slack := slackserver.Start(t)
	store := &state.Memory{}
	hook, err := notify.NewWebhook(notify.WebhookConfig{URL: slack.WebhookURL()})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2024, 5, 2, 9, 0, 0, 0, time.UTC)
	var now time.Time
	p := &watchdog.Pipeline{Detector: detect.Default(), Config: policy.Default(), Store: store, Sink: hook, Owner: "invocation-1", Now: func() time.Time { return now }}
	digested := 0
	for i := range 25 {
		now = t0.Add(time.Duration(i) * time.Second)
		results, err := p.Handle(ctx, deniedCall(t, "mallory", fmt.Sprintf("denied-%02d", i), now, ""))
		if err != nil || len(results) != 1 {
			t.Fatal(err)
		}
		if results[0].Route.Kind == policy.Digest {
			digested++
		}
	}
	if n := len(slack.Messages()); n != 2 || digested != 23 {
		t.Errorf("%d webhook messages and %d digest entries for 25 denied calls; want 2 crossings and 23 entries", n, digested)
	}
}

// Once someone has acknowledged a threshold's message, the caller's next findings are counted
// afresh: the next message comes when the count is reached again, not with the next finding.
func TestThresholdCountsAfreshAfterAcknowledge(t *testing.T) {
	ctx := context.Background()
	slack := slackserver.Start(t)
	store := &state.Memory{}
	rp := newRouted(t, policy.Default(), slack, store)
	t0 := time.Date(2024, 5, 2, 9, 0, 0, 0, time.UTC)
	var leader watchdog.Result
	for i := range 10 {
		leader = rp.handle(t, deniedCall(t, "mallory", fmt.Sprintf("first-%02d", i), t0.Add(time.Duration(i)*time.Second), ""))
	}
	if _, err := (alert.Records{Store: store}).Update(ctx, alert.Key(leader.Finding.EventID, leader.Finding.Rule)+"#report", func(e *alert.Entry) error {
		return e.Begin(alert.Acknowledge, "U0SECLEAD", t0.Add(time.Minute), time.Minute)
	}); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		r := rp.handle(t, deniedCall(t, "mallory", fmt.Sprintf("again-%02d", i), t0.Add(2*time.Minute+time.Duration(i)*time.Second), ""))
		if want := policy.Digest; i < 9 && r.Route.Kind != want {
			t.Errorf("finding %d after the acknowledgement routed %s, want %s", i, r.Route.Kind, want)
		}
	}
	if posts := slack.Posts(); len(posts) != 2 || !strings.HasPrefix(posts[1].Text, "[10 findings]") {
		t.Errorf("%d posts; want the first crossing and, ten findings after the acknowledgement, the second", len(posts))
	}
}

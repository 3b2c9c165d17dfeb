package watchdog_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/iam-watchdog/iam-watchdog/internal/mototest"
	"github.com/iam-watchdog/iam-watchdog/internal/slackserver"
	"github.com/iam-watchdog/iam-watchdog/internal/watchdogtest"
	"github.com/iam-watchdog/iam-watchdog/pkg/alert"
	"github.com/iam-watchdog/iam-watchdog/pkg/cloudtrail"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/notify"
	"github.com/iam-watchdog/iam-watchdog/pkg/policy"
	"github.com/iam-watchdog/iam-watchdog/pkg/remediate"
	"github.com/iam-watchdog/iam-watchdog/pkg/state"
	"github.com/iam-watchdog/iam-watchdog/pkg/watchdog"
)

const burstRule = "access-key-created"

// burstKey is a CloudTrail record of alice creating an access key for user.
func burstKey(eventID, user string) *cloudtrail.Record {
	raw := fmt.Sprintf(`{
		"eventVersion": "1.10",
		"userIdentity": {"type": "IAMUser", "principalId": "AIDA5ALICEQ7EXAMPLE01", "arn": "arn:aws:iam::123456789012:user/alice",
			"accountId": "123456789012", "accessKeyId": "AKIA5ALICEEXAMPLE7Q2", "userName": "alice"},
		"eventTime": "2024-05-02T09:03:51Z",
		"eventSource": "iam.amazonaws.com",
		"eventName": "CreateAccessKey",
		"awsRegion": "us-east-1",
		"sourceIPAddress": "198.51.100.40",
		"userAgent": "aws-cli/2.15.30",
		"requestParameters": {"userName": %q},
		"responseElements": {"accessKey": {"userName": %q, "accessKeyId": "AKIA5%015d", "status": "Active"}},
		"eventID": %q,
		"readOnly": false,
		"eventType": "AwsApiCall",
		"recipientAccountId": "123456789012"
	}`, user, user, len(eventID)*1000+int(eventID[len(eventID)-1]), eventID)
	recs, errs := cloudtrail.Decode("test", []byte(raw))
	if len(errs) > 0 || len(recs) != 1 {
		panic(fmt.Sprintf("decode: %v", errs))
	}
	return recs[0]
}

// countingRemediator succeeds at every action and counts them; result overrides per user.
type countingRemediator struct {
	applied atomic.Int64
	fail    func(a detect.Action) error
}

func (r *countingRemediator) Describe(a detect.Action) string { return a.Kind + " of " + a.UserName }

func (r *countingRemediator) Plan(_ context.Context, a detect.Action) (remediate.Undo, error) {
	return remediate.Undo{Action: a.Kind, UserName: a.UserName, AccessKeyID: a.AccessKeyID}, nil
}

func (r *countingRemediator) Do(_ context.Context, u remediate.Undo) error {
	r.applied.Add(1)
	if r.fail != nil {
		return r.fail(detect.Action{Kind: u.Action, UserName: u.UserName, AccessKeyID: u.AccessKeyID})
	}
	return nil
}

func burstPipeline(mode policy.Mode, rem watchdog.Remediator, store state.Store, sink notify.Sink, owner string) *watchdog.Pipeline {
	return &watchdog.Pipeline{
		Detector:   detect.Default(),
		Config:     policy.Config{Mode: mode},
		Remediator: rem,
		Store:      store,
		Sink:       sink,
		Owner:      owner,
	}
}

func dynamoStore(t *testing.T) *state.DynamoDB {
	t.Helper()
	srv := mototest.Start(t)
	db := dynamodb.NewFromConfig(srv.Config(t))
	mototest.CreateStateTable(t, db, "state")
	// moto checks conditions without a lock; mototest.Serialized restores DynamoDB's atomicity.
	return &state.DynamoDB{API: &mototest.Serialized{API: db}, Table: "state"}
}

func bot(t *testing.T, slack *slackserver.Server) *notify.Bot {
	t.Helper()
	b, err := notify.NewBot(notify.BotConfig{Token: "xoxb-test", Channel: "C0SECURITY", APIURL: slack.APIURL()})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A burst of 50 keys created by one actor, handled by 8 concurrent invocations against the
// DynamoDB store: one message, updated to read 50, and 50 remediations.
func TestBurstFoldsIntoOneMessage(t *testing.T) {
	ctx := context.Background()
	store := dynamoStore(t)
	slack := slackserver.Start(t)
	sink := bot(t, slack)
	rem := &countingRemediator{}

	const findings, workers = 50, 8
	work := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []error
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				// Each finding is its own invocation; Lambda retries a failed one with the same
				// request ID, as here.
				p := burstPipeline(policy.Auto, rem, store, sink, fmt.Sprintf("invocation-%d-%d", w, i))
				rec := burstKey(fmt.Sprintf("burst-event-%03d", i), fmt.Sprintf("user%02d", i))
				var err error
				for range 5 {
					if _, err = p.Handle(ctx, rec); err == nil {
						break
					}
				}
				if err != nil {
					mu.Lock()
					failures = append(failures, err)
					mu.Unlock()
				}
			}
		}()
	}
	for i := range findings {
		work <- i
	}
	close(work)
	wg.Wait()
	for _, err := range failures {
		t.Error(err)
	}

	posts := slack.Posts()
	if len(posts) != 1 {
		t.Fatalf("%d chat.postMessage calls, want exactly 1", len(posts))
	}
	if n := rem.applied.Load(); n != findings {
		t.Errorf("%d remediations, want %d", n, findings)
	}
	updates := slack.Updates()
	if len(updates) == 0 {
		t.Fatal("the burst's message was never updated")
	}
	last := updates[len(updates)-1]
	if last.TS != posts[0].TS || !strings.HasPrefix(last.Text, "[50 findings] ") ||
		!strings.Contains(string(last.Blocks), "50 findings by the same actor") || !strings.Contains(string(last.Blocks), "Remediation: 50 done") {
		t.Errorf("last update of %s does not read 50: %s\n%s", posts[0].TS, last.Text, last.Blocks)
	}
	t.Logf("%d findings: 1 post, %d updates", findings, len(updates))

	leaders := 0
	for i := range findings {
		e, err := (alert.Records{Store: store}).Get(ctx, alert.Key(fmt.Sprintf("burst-event-%03d", i), burstRule))
		if e.Group != nil {
			leaders++
			if e.Group.Count() != findings || e.Dirty || e.Refresher != "" {
				t.Errorf("leader %s: group of %d, dirty %t, refresher %q; want %d, clean, released", e.Key, e.Group.Count(), e.Dirty, e.Refresher, findings)
			}
		}
		if err != nil || e.Stage != state.Alerted || e.TS != posts[0].TS || watchdogtest.UndoText(t, e) == "" {
			t.Errorf("finding %d: %+v %v; want alerted in the burst's message with an undo record", i, e, err)
		}
	}
	if leaders != 1 {
		t.Errorf("%d findings lead a burst, want 1", leaders)
	}
}

// A burst ends when its window closes, and when people have acted on its message.
func TestBurstWindowAndActionsStartNewMessages(t *testing.T) {
	ctx := context.Background()
	store, err := state.OpenFile(filepath.Join(t.TempDir(), "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	slack := slackserver.Start(t)
	t0 := time.Date(2024, 5, 2, 9, 0, 0, 0, time.UTC)
	now := t0
	p := burstPipeline(policy.Approve, &countingRemediator{}, store, bot(t, slack), "invocation-1")
	p.Now = func() time.Time { return now }
	handle := func(i int, at time.Duration) {
		t.Helper()
		now = t0.Add(at)
		if _, err := p.Handle(ctx, burstKey(fmt.Sprintf("window-event-%d", i), fmt.Sprintf("user%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	handle(1, 0)
	handle(2, time.Minute)
	if n := len(slack.Posts()); n != 1 {
		t.Fatalf("%d posts for two findings a minute apart, want 1", n)
	}
	handle(3, 11*time.Minute) // the default window is 10 minutes
	posts := slack.Posts()
	if len(posts) != 2 {
		t.Fatalf("%d posts after the window closed, want 2", len(posts))
	}
	// Someone acknowledges the second message: the next finding gets a message of its own.
	if _, err := (alert.Records{Store: store}).Update(ctx, alert.Key("window-event-3", burstRule), func(e *alert.Entry) error {
		return e.Begin(alert.Acknowledge, "U0SECLEAD", now, time.Minute)
	}); err != nil {
		t.Fatal(err)
	}
	handle(4, 12*time.Minute)
	if n := len(slack.Posts()); n != 3 {
		t.Fatalf("%d posts after people acted on the burst's message, want 3", n)
	}

	// Approve mode: the message waits, with Revert now carrying only the finding's key.
	first, _ := slack.Current(posts[0].TS)
	for _, want := range []string{`"action_id":"revert","value":"window-event-1#access-key-created"`, "[2 findings] ", "Awaiting approval"} {
		if !strings.Contains(string(first.Blocks)+first.Text, want) {
			t.Errorf("first message lacks %q:\n%s\n%s", want, first.Text, first.Blocks)
		}
	}
	e, err := (alert.Records{Store: store}).Get(ctx, alert.Key("window-event-1", burstRule))
	if err != nil || e.Status != alert.Pending || watchdogtest.Pieces(t, e).Action == nil || watchdogtest.Pieces(t, e).Alert == nil || e.Group.Count() != 2 {
		t.Errorf("leader entry %+v, %v: want pending with its action, alert and a group of 2", e, err)
	}
}

// A finding whose burst's leader has not posted yet waits, then fails so that Lambda retries
// it, rather than posting a second message; once the leader's lease runs out it leads.
func TestBurstWaitsForItsLeader(t *testing.T) {
	defer watchdog.SetFloodWait(100 * time.Millisecond)()
	ctx := context.Background()
	store, err := state.OpenFile(filepath.Join(t.TempDir(), "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	slack := slackserver.Start(t)
	t0 := time.Now()
	now := t0
	fkey := alert.FloodKey(burstRule, "arn:aws:iam::123456789012:user/alice")
	if _, err := (alert.Records{Store: store}).Update(ctx, fkey, func(e *alert.Entry) error {
		e.Leader, e.Owner, e.LeaseUntil, e.WindowEnds = "crashed#"+burstRule, "invocation-0", t0.Add(2*time.Minute), t0.Add(10*time.Minute)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	rem := &countingRemediator{}
	p := burstPipeline(policy.Auto, rem, store, bot(t, slack), "invocation-1")
	p.Now = func() time.Time { return now }
	if _, err := p.Handle(ctx, burstKey("waiting-event-1", "bob")); !errors.Is(err, watchdog.ErrFloodBusy) {
		t.Fatalf("Handle: %v, want ErrFloodBusy", err)
	}
	if len(slack.Messages()) != 0 || rem.applied.Load() != 1 {
		t.Fatalf("%d Slack messages and %d remediations while waiting, want 0 and 1", len(slack.Messages()), rem.applied.Load())
	}
	now = t0.Add(3 * time.Minute) // the leader's lease has run out: it died before posting
	if _, err := p.Handle(ctx, burstKey("waiting-event-1", "bob")); err != nil {
		t.Fatal(err)
	}
	if len(slack.Posts()) != 1 || rem.applied.Load() != 1 {
		t.Fatalf("%d posts and %d remediations after the retry, want 1 and 1 (the retry does not act again)", len(slack.Posts()), rem.applied.Load())
	}
}

// A failed remediation inside a burst is told in the thread, since the message only counts it.
func TestBurstFailureRepliesInThread(t *testing.T) {
	ctx := context.Background()
	store, err := state.OpenFile(filepath.Join(t.TempDir(), "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	slack := slackserver.Start(t)
	rem := &countingRemediator{fail: func(a detect.Action) error {
		if a.UserName == "user2" {
			return errors.New("AccessDenied: not authorized to perform iam:UpdateAccessKey")
		}
		return nil
	}}
	p := burstPipeline(policy.Auto, rem, store, bot(t, slack), "invocation-1")
	for i := 1; i <= 3; i++ {
		if _, err := p.Handle(ctx, burstKey(fmt.Sprintf("failing-event-%d", i), fmt.Sprintf("user%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	posts := slack.Posts()
	if len(posts) != 1 {
		t.Fatalf("%d posts, want 1", len(posts))
	}
	replies := slack.Replies(posts[0].TS)
	if len(replies) != 1 || !strings.Contains(replies[0].Text, "failing-event-2") || !strings.Contains(replies[0].Text, "AccessDenied") {
		t.Errorf("thread replies %+v, want one naming the failed event and why", replies)
	}
	cur, _ := slack.Current(posts[0].TS)
	if !strings.Contains(string(cur.Blocks), "Remediation: 2 done, 1 failed") {
		t.Errorf("message does not count the failure:\n%s", cur.Blocks)
	}
}

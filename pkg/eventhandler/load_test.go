package eventhandler_test

import (
	"context"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	eventstestdata "github.com/iam-watchdog/iam-watchdog/events-testdata"
	"github.com/iam-watchdog/iam-watchdog/internal/faultproxy"
	"github.com/iam-watchdog/iam-watchdog/internal/mototest"
	"github.com/iam-watchdog/iam-watchdog/internal/slackserver"
	"github.com/iam-watchdog/iam-watchdog/internal/watchdogtest"
	"github.com/iam-watchdog/iam-watchdog/pkg/alert"
	"github.com/iam-watchdog/iam-watchdog/pkg/cloudtrail"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/eventhandler"
	"github.com/iam-watchdog/iam-watchdog/pkg/lambdaenv"
	"github.com/iam-watchdog/iam-watchdog/pkg/notify"
	"github.com/iam-watchdog/iam-watchdog/pkg/remediate"
	"github.com/iam-watchdog/iam-watchdog/pkg/state"
	"github.com/iam-watchdog/iam-watchdog/pkg/watchdog"
)

// TestLoad's size and its report, for `make bench-load`:
//
//	go test ./pkg/eventhandler/ -run '^TestLoad$' -args -load.events=10000 -load.report=.bench/load.txt
var (
	loadEvents      = flag.Int("load.events", 10000, "events TestLoad sends")
	loadConcurrency = flag.Int("load.concurrency", 16, "concurrent invocations in TestLoad")
	loadReport      = flag.String("load.report", "", "file to write TestLoad's table to")
)

// Lambda's handling of a failed asynchronous invocation (template.yaml: MaximumRetryAttempts 2),
// with its waits of one and two minutes scaled down to seconds.
var lambdaRetryWaits = []time.Duration{time.Second, 2 * time.Second}

// delivery is one event as EventBridge hands it to Lambda.
type delivery struct {
	event     []byte
	requestID string
	kind      string // unwatched, near-miss, risky, redelivery
	eventID   string
}

// sample is the handling time of one invocation.
type sample struct {
	kind string
	took time.Duration
}

// deadLetter is an event Lambda gave up on, with the error of its last attempt.
type deadLetter struct {
	eventID, kind, reason string
}

// unwatchedCalls are calls no rule looks at (checked against the detector below): most of what
// a busy account's CloudTrail carries.
var unwatchedCalls = []struct{ source, name string }{
	{"ec2.amazonaws.com", "DescribeInstances"}, {"s3.amazonaws.com", "GetObject"}, {"sts.amazonaws.com", "GetCallerIdentity"},
	{"kms.amazonaws.com", "Decrypt"}, {"dynamodb.amazonaws.com", "DescribeTable"}, {"ssm.amazonaws.com", "GetParameter"},
	{"logs.amazonaws.com", "CreateLogStream"}, {"lambda.amazonaws.com", "ListFunctions"}, {"iam.amazonaws.com", "ListRoles"},
	{"sts.amazonaws.com", "AssumeRole"},
}

func unwatchedEvent(i int) (eventID string, event []byte) {
	c := unwatchedCalls[i%len(unwatchedCalls)]
	eventID = fmt.Sprintf("00000000-load-4000-8000-%012d", i)
	return eventID, []byte(fmt.Sprintf(`{"version": "0", "id": "u-%[1]d", "detail-type": "AWS API Call via CloudTrail",
		"source": "aws.%[2]s", "account": "123456789012", "time": "2024-05-02T09:00:00Z", "region": "us-east-1", "resources": [],
		"detail": {"eventVersion": "1.10", "userIdentity": %[3]s, "eventTime": "2024-05-02T09:00:00Z",
			"eventSource": %[4]q, "eventName": %[5]q, "awsRegion": "us-east-1", "sourceIPAddress": "198.51.100.40",
			"userAgent": "aws-sdk-go-v2/1.30.0", "requestParameters": {"n": %[1]d}, "responseElements": null,
			"eventID": %[6]q, "readOnly": true, "eventType": "AwsApiCall", "recipientAccountId": "123456789012"}}`,
		i, strings.SplitN(c.source, ".", 2)[0], faultIdentity("alice"), c.source, c.name, eventID))
}

// TestLoad sends 10,000 events, 1% of them risky, through 16 concurrent Lambda execution
// environments against moto's IAM and DynamoDB and the local Slack, as EventBridge does: at
// least once (a tenth of the risky events are delivered twice, possibly at the same time), with
// Lambda's retries of a failed invocation and a dead-letter queue after them. Every finding is
// remediated exactly once and alerted exactly once; nothing is lost or dead-lettered; events
// no rule watches cost no call to AWS or Slack. The handling times and memory are reported
// (`make bench-load`).
func TestLoad(t *testing.T) {
	n, workers := *loadEvents, *loadConcurrency
	risky := max(n/100, 2)
	risky -= risky % 2
	ctx := context.Background()

	moto := mototest.Start(t)
	direct := moto.Config(t)
	db := dynamodb.NewFromConfig(direct)
	mototest.CreateStateTable(t, db, faultTable)
	// The functions' calls go through a proxy that counts them; setup and checks go direct.
	counter := faultproxy.Start(t, moto.Endpoint)
	slack := slackserver.Start(t)
	fnCfg := faultAWSConfig(t, counter.URL)
	// moto checks a condition and writes without a lock; itemSerialized gives it DynamoDB's
	// per-item atomicity, which racing redeliveries depend on, and lets other items go on.
	store := &state.DynamoDB{API: &itemSerialized{api: dynamodb.NewFromConfig(fnCfg)}, Table: faultTable}

	// The risky events: half create an access key for a service user, half attach a managed
	// policy to an application user; each by its own actor, so each is its own Slack message.
	type riskyEvent struct {
		eventID, user, keyID, policyARN string
		event                           []byte
	}
	events := make([]riskyEvent, risky)
	iamc := iam.NewFromConfig(direct)
	var setup sync.WaitGroup
	setupErr := make(chan error, risky)
	sem := make(chan struct{}, 8)
	for i := range events {
		setup.Add(1)
		go func() {
			defer setup.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			e := &events[i]
			e.eventID = fmt.Sprintf("11111111-load-4000-8000-%012d", i)
			e.user = fmt.Sprintf("load-user-%03d", i)
			if _, err := iamc.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(e.user)}); err != nil {
				setupErr <- err
				return
			}
			actor := fmt.Sprintf("load-actor-%03d", i)
			if i%2 == 0 {
				key, err := iamc.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(e.user)})
				if err != nil {
					setupErr <- err
					return
				}
				e.keyID = aws.ToString(key.AccessKey.AccessKeyId)
				e.event = keyCreated(e.eventID, actor, e.user, e.keyID)
				return
			}
			p, err := iamc.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String(e.user + "-policy"),
				PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*"}]}`)})
			if err != nil {
				setupErr <- err
				return
			}
			e.policyARN = aws.ToString(p.Policy.Arn)
			if _, err := iamc.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String(e.user), PolicyArn: aws.String(e.policyARN)}); err != nil {
				setupErr <- err
				return
			}
			e.event = policyAttached(e.eventID, actor, e.user, e.policyARN)
		}()
	}
	setup.Wait()
	close(setupErr)
	for err := range setupErr {
		t.Fatalf("setup: %v", err)
	}

	// Near misses: the quiet example events, which rules look at and let pass.
	var nearMisses [][]byte
	names, _ := fs.Glob(eventstestdata.FS, "*/quiet-*.json")
	for _, name := range names {
		b, err := fs.ReadFile(eventstestdata.FS, name)
		if err != nil {
			t.Fatal(err)
		}
		nearMisses = append(nearMisses, b)
	}

	d := detect.Default()
	var deliveries []delivery
	for i, e := range events {
		deliveries = append(deliveries, delivery{event: e.event, requestID: "risky-" + e.eventID, kind: "risky", eventID: e.eventID})
		if i%10 == 0 { // EventBridge delivers at least once
			deliveries = append(deliveries, delivery{event: e.event, requestID: "again-" + e.eventID, kind: "redelivery", eventID: e.eventID})
		}
	}
	for i := 0; len(deliveries) < n; i++ {
		if i%100 == 0 && len(nearMisses) > 0 {
			ev := nearMisses[(i/100)%len(nearMisses)]
			deliveries = append(deliveries, delivery{event: ev, requestID: fmt.Sprintf("near-%d", i), kind: "near-miss"})
			continue
		}
		id, ev := unwatchedEvent(i)
		if i < len(unwatchedCalls) {
			recs, _ := cloudtrail.Decode("event", ev)
			if len(recs) != 1 || d.Wants(recs[0]) {
				t.Fatalf("unwatched call %v is watched (or unreadable)", unwatchedCalls[i])
			}
		}
		deliveries = append(deliveries, delivery{event: ev, requestID: "u-" + id, kind: "unwatched", eventID: id})
	}
	rng := rand.New(rand.NewPCG(1, 2))
	rng.Shuffle(len(deliveries), func(i, j int) { deliveries[i], deliveries[j] = deliveries[j], deliveries[i] })

	env := lambdaenv.Env{RemediationMode: "auto", StateTable: faultTable, RoleARN: eventstestdata.WatchdogRoleARN,
		QuarantinePolicyARN: eventstestdata.QuarantinePolicyARN}
	cfg, err := env.Config()
	if err != nil {
		t.Fatal(err)
	}
	// One handler per execution environment, built as New builds it, with the
	// serialised store and a Slack bot in place of the secret.
	var sinksBuilt atomic.Int32
	newHandler := func() *eventhandler.Handler {
		return &eventhandler.Handler{
			Pipeline: &watchdog.Pipeline{
				Detector:   detect.DefaultWith(cfg.Detection()),
				Config:     cfg,
				Remediator: &remediate.Remediator{Clients: remediate.NewStatic(fnCfg, mototest.AccountID), QuarantinePolicyARN: cfg.QuarantinePolicyARN},
				Store:      store,
				Owner:      "lambda",
				Lease:      2 * time.Minute,
			},
			Log: slog.New(slog.NewJSONHandler(io.Discard, nil)),
			Sink: func(context.Context) (notify.Sink, error) {
				sinksBuilt.Add(1)
				return notify.NewBot(notify.BotConfig{Token: "xoxb-load", Channel: faultChannel, APIURL: slack.APIURL()})
			},
		}
	}

	// Unwatched events do no I/O: a fresh environment handles a thousand without one request.
	quiet := newHandler()
	awsBefore, slackBefore := totalRequests(counter), slack.Requests()
	for i := range 1000 {
		_, ev := unwatchedEvent(n + i)
		if err := quiet.Invoke(lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{AwsRequestID: "q"}), ev); err != nil {
			t.Fatal(err)
		}
	}
	if a, s := totalRequests(counter)-awsBefore, slack.Requests()-slackBefore; a != 0 || s != 0 || sinksBuilt.Load() != 0 {
		t.Fatalf("1000 unwatched events made %d AWS and %d Slack requests and built the sink %d times; want none", a, s, sinksBuilt.Load())
	}

	// The run.
	queue := make(chan delivery)
	var (
		mu       sync.Mutex
		samples  []sample
		dlq      []deadLetter
		retried  atomic.Int32
		peakHeap atomic.Uint64
	)
	stopSampling := sampleHeap(&peakHeap)
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := newHandler()
			for del := range queue {
				var err error
				for attempt := 0; ; attempt++ {
					ictx, cancel := context.WithTimeout(ctx, 30*time.Second) // template.yaml Timeout
					ictx = lambdacontext.NewContext(ictx, &lambdacontext.LambdaContext{AwsRequestID: del.requestID})
					t0 := time.Now()
					err = h.Invoke(ictx, del.event)
					took := time.Since(t0)
					cancel()
					mu.Lock()
					samples = append(samples, sample{del.kind, took})
					mu.Unlock()
					if err == nil || attempt == len(lambdaRetryWaits) {
						break
					}
					retried.Add(1)
					time.Sleep(lambdaRetryWaits[attempt])
				}
				if err != nil {
					mu.Lock()
					dlq = append(dlq, deadLetter{del.eventID, del.kind, err.Error()})
					mu.Unlock()
				}
			}
		}()
	}
	for _, del := range deliveries {
		queue <- del
	}
	close(queue)
	wg.Wait()
	wall := time.Since(start)
	stopSampling()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)

	// Nothing lost: no event was given up on.
	for _, dl := range dlq {
		t.Errorf("dead-lettered %s event %s: %s", dl.kind, dl.eventID, dl.reason)
	}
	// Every finding alerted exactly once, and nothing else posted.
	posts := slack.Posts()
	perEvent := map[string]int{}
	for _, p := range posts {
		for _, e := range events {
			if strings.Contains(string(p.Blocks), e.eventID) {
				perEvent[e.eventID]++
			}
		}
	}
	for _, e := range events {
		if perEvent[e.eventID] != 1 {
			t.Errorf("event %s alerted %d times, want exactly once", e.eventID, perEvent[e.eventID])
		}
	}
	if len(posts) != risky {
		t.Errorf("%d Slack messages for %d findings", len(posts), risky)
	}
	// Every finding remediated exactly once.
	if got := counter.Counts(keyDeactivations).OK; got != risky/2 {
		t.Errorf("%d UpdateAccessKey calls reached IAM, want %d", got, risky/2)
	}
	if got := counter.Counts(policyDetachments).OK; got != risky/2 {
		t.Errorf("%d DetachUserPolicy calls reached IAM, want %d", got, risky/2)
	}
	for _, e := range events {
		rule := ruleKey
		if e.policyARN != "" {
			rule = rulePolicy
		}
		st, err := (alert.Records{Store: store}).Get(ctx, alert.Key(e.eventID, rule))
		if err != nil || st.Stage != state.Alerted || watchdogtest.UndoText(t, st) == "" {
			t.Errorf("state of %s: %s, undo %q, %v; want alerted with its undo", e.eventID, st.Stage, watchdogtest.UndoText(t, st), err)
		}
	}
	checkRemediated(t, iamc, events[0].user, events[0].keyID, "")
	checkRemediated(t, iamc, events[1].user, "", events[1].policyARN)

	report := loadTable(len(deliveries), risky, workers, wall, samples, int(retried.Load()), len(dlq),
		peakHeap.Load(), after.TotalAlloc-before.TotalAlloc, counter, slack.Requests()-slackBefore)
	t.Log("\n" + report)
	if *loadReport != "" {
		if err := os.MkdirAll(filepath.Dir(*loadReport), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(*loadReport, []byte(report), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// checkRemediated reads moto directly: the key is inactive, or the policy detached.
func checkRemediated(t *testing.T, c *iam.Client, user, keyID, policyARN string) {
	t.Helper()
	ctx := context.Background()
	if keyID != "" {
		out, err := c.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String(user)})
		if err != nil || len(out.AccessKeyMetadata) != 1 || out.AccessKeyMetadata[0].Status != "Inactive" {
			t.Errorf("%s's key after the run: %+v, %v; want it inactive", user, out, err)
		}
	}
	if policyARN != "" {
		out, err := c.ListAttachedUserPolicies(ctx, &iam.ListAttachedUserPoliciesInput{UserName: aws.String(user)})
		if err != nil || len(out.AttachedPolicies) != 0 {
			t.Errorf("%s's policies after the run: %+v, %v; want none attached", user, out, err)
		}
	}
}

func totalRequests(p *faultproxy.Proxy) int {
	n := 0
	for _, c := range p.All() {
		n += c.Seen
	}
	return n
}

// loadTable is TestLoad's report.
func loadTable(events, risky, workers int, wall time.Duration, samples []sample, retried, dead int,
	peakHeap, allocated uint64, aws *faultproxy.Proxy, slackRequests int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "load: %d events (%d risky, %d redelivered), %d concurrent, %s, %.0f events/s; %d Lambda retries, %d dead-lettered\n",
		events, risky, risky/10+min(risky%10, 1), workers, wall.Round(time.Millisecond), float64(events)/wall.Seconds(), retried, dead)
	fmt.Fprintf(&b, "%-11s %7s %10s %10s %10s\n", "handling", "n", "p50", "p99", "max")
	for _, kind := range []string{"unwatched", "near-miss", "risky", "redelivery", "all"} {
		var ds []time.Duration
		for _, s := range samples {
			if kind == "all" || s.kind == kind {
				ds = append(ds, s.took)
			}
		}
		if len(ds) == 0 {
			continue
		}
		slices.Sort(ds)
		q := func(p float64) time.Duration { return ds[min(len(ds)-1, int(p*float64(len(ds))))] }
		fmt.Fprintf(&b, "%-11s %7d %10s %10s %10s\n", kind, len(ds), round(q(0.50)), round(q(0.99)), round(ds[len(ds)-1]))
	}
	fmt.Fprintf(&b, "memory: peak heap in use %.1f MB; allocated %.1f MB (%.1f KB per event)\n",
		float64(peakHeap)/(1<<20), float64(allocated)/(1<<20), float64(allocated)/1024/float64(events))
	all := aws.All()
	ops := make([]string, 0, len(all))
	total, table := 0, 0
	for op, c := range all {
		ops = append(ops, fmt.Sprintf("%s %d", op, c.Seen))
		total += c.Seen
		if op == "GetItem" || op == "PutItem" || op == "UpdateItem" {
			table += c.Seen
		}
	}
	slices.Sort(ops)
	fmt.Fprintf(&b, "requests: AWS %d, %.0f/s (%s); Slack %d\n", total, float64(total)/wall.Seconds(), strings.Join(ops, ", "), slackRequests)
	fmt.Fprintf(&b, "(times include moto_server's, one Python process serving every AWS call; a risky event makes ~%.0f state-table calls)\n",
		float64(table)/float64(max(risky, 1)))
	return b.String()
}

func round(d time.Duration) time.Duration {
	switch {
	case d < time.Millisecond:
		return d.Round(time.Microsecond)
	case d < time.Second:
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Millisecond)
}

// itemSerialized sends one request at a time per item (its "pk"), as DynamoDB applies each
// conditional write atomically; requests for different items run concurrently.
// (mototest.Serialized does the same for every item at once.)
type itemSerialized struct {
	api   *dynamodb.Client
	locks sync.Map // pk → *sync.Mutex
}

func (s *itemSerialized) lock(key map[string]ddbtypes.AttributeValue) func() {
	pk, _ := key["pk"].(*ddbtypes.AttributeValueMemberS)
	if pk == nil {
		return func() {}
	}
	m, _ := s.locks.LoadOrStore(pk.Value, &sync.Mutex{})
	m.(*sync.Mutex).Lock()
	return m.(*sync.Mutex).Unlock
}

func (s *itemSerialized) PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	defer s.lock(in.Item)()
	return s.api.PutItem(ctx, in, optFns...)
}

func (s *itemSerialized) GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	defer s.lock(in.Key)()
	return s.api.GetItem(ctx, in, optFns...)
}

func (s *itemSerialized) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	defer s.lock(in.Key)()
	return s.api.UpdateItem(ctx, in, optFns...)
}

var _ state.DynamoDBAPI = (*itemSerialized)(nil)

// sampleHeap records the largest heap in use until the returned function is called.
func sampleHeap(peak *atomic.Uint64) (stop func()) {
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() { close(done); <-finished }
}

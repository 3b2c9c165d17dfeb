package eventhistory_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/smithy-go"

	"github.com/iam-watchdog/iam-watchdog/internal/cloudtrailserver"
	"github.com/iam-watchdog/iam-watchdog/pkg/cloudtrail"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/eventhistory"
)

// now is the tests' clock: testdata/history.jsonl lies in May 2024, inside the 90 days before.
var now = time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)

// The records of testdata/history.jsonl that the built-in plan keeps, oldest first: the root
// sign-in and the root CreateAccessKey come back under both their EventName and Username=root,
// yet once each; iot's CreatePolicy and the IAM user named "root" are not kept.
var wantIDs = []string{
	"7d3f0c2a-5b1e-4f7a-9c41-2e8b6a10d001", // root ConsoleLogin
	"7d3f0c2a-5b1e-4f7a-9c41-2e8b6a10d002", // alice ConsoleLogin without MFA
	"7d3f0c2a-5b1e-4f7a-9c41-2e8b6a10d003", // root CreateAccessKey
	"7d3f0c2a-5b1e-4f7a-9c41-2e8b6a10d004", // alice CreateAccessKey for bob
	"7d3f0c2a-5b1e-4f7a-9c41-2e8b6a10d005", // AttachUserPolicy AdministratorAccess
	"7d3f0c2a-5b1e-4f7a-9c41-2e8b6a10d006", // iam CreatePolicy
	"7d3f0c2a-5b1e-4f7a-9c41-2e8b6a10d008", // organizations CreatePolicy
	"7d3f0c2a-5b1e-4f7a-9c41-2e8b6a10d009", // root GetAccountSummary: found by Username=root only
	"7d3f0c2a-5b1e-4f7a-9c41-2e8b6a10d011", // StopLogging
	"7d3f0c2a-5b1e-4f7a-9c41-2e8b6a10d012", // DeleteTrail, denied
}

// startServer runs a local CloudTrail holding testdata/history.jsonl.
func startServer(t *testing.T) *cloudtrailserver.Server {
	t.Helper()
	srv := cloudtrailserver.Start(t)
	f, err := os.Open("testdata/history.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		srv.AddRecords(t, slices.Clone(sc.Bytes()))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return srv
}

// client is the real SDK client pointed at the server, as tests point clients at moto.
func client(srv *cloudtrailserver.Server, region string) eventhistory.API {
	cfg := aws.Config{
		Region:       region,
		Credentials:  credentials.NewStaticCredentialsProvider("testing", "testing", ""),
		BaseEndpoint: aws.String(srv.URL),
	}
	return eventhistory.NewClient(cfg, region)
}

// fast are options for tests: a high rate, a short backoff, the tests' clock.
func fast(o eventhistory.Options) eventhistory.Options {
	if o.Rate == 0 && o.Limiter == nil {
		o.Rate = 1000
	}
	o.Backoff = cmpOr(o.Backoff, time.Millisecond)
	if o.Now == nil {
		o.Now = func() time.Time { return now }
	}
	return o
}

func cmpOr(a, b time.Duration) time.Duration {
	if a != 0 {
		return a
	}
	return b
}

type result struct {
	recs  []*cloudtrail.Record
	bad   []error // *cloudtrail.Error, one per event that could not be read
	fatal error   // the last value, when the read stopped
	stats eventhistory.Stats
}

func read(t *testing.T, ctx context.Context, api eventhistory.API, plan *eventhistory.Plan, o eventhistory.Options) result {
	t.Helper()
	r, err := eventhistory.NewReader(api, "us-east-1", plan, o)
	if err != nil {
		t.Fatal(err)
	}
	var res result
	for rec, err := range r.Records(ctx) {
		var ce *cloudtrail.Error
		switch {
		case res.fatal != nil:
			t.Fatalf("value after the read's final error %v: %v %v", res.fatal, rec, err)
		case err == nil:
			res.recs = append(res.recs, rec)
		case errors.As(err, &ce):
			res.bad = append(res.bad, err)
		default:
			res.fatal = err
		}
	}
	res.stats = r.Stats()
	return res
}

func ids(recs []*cloudtrail.Record) []string {
	var out []string
	for _, r := range recs {
		out = append(out, r.EventID)
	}
	return out
}

func TestReadsEventHistoryInTimeOrderOnce(t *testing.T) {
	srv := startServer(t)
	plan := eventhistory.NewPlan(detect.Default().Rules())
	res := read(t, t.Context(), client(srv, "us-east-1"), plan, fast(eventhistory.Options{}))
	if res.fatal != nil || res.bad != nil {
		t.Fatalf("read failed: %v %v", res.fatal, res.bad)
	}
	if got := ids(res.recs); !slices.Equal(got, wantIDs) {
		t.Errorf("records:\n got %q\nwant %q", got, wantIDs)
	}
	if !slices.IsSortedFunc(res.recs, func(a, b *cloudtrail.Record) int { return a.EventTime.Compare(b.EventTime) }) {
		t.Error("records are not oldest first")
	}
	for _, rec := range res.recs {
		if !strings.HasPrefix(rec.Pos.Name, "cloudtrail://us-east-1 ") || !strings.HasSuffix(rec.Pos.Name, " event "+rec.EventID) || len(rec.Raw) == 0 {
			t.Errorf("record %s: position %q, %d raw bytes; want cloudtrail://us-east-1 LOOKUP event ID and the CloudTrailEvent text", rec.EventID, rec.Pos, len(rec.Raw))
		}
	}
	// Fourteen events come back: 2 ConsoleLogin, 2 CreateAccessKey, AttachUserPolicy, 3
	// CreatePolicy, StopLogging, DeleteTrail and 4 under Username=root.
	want := eventhistory.Stats{Calls: len(plan.Lookups), Pages: len(plan.Lookups), Events: 14, Kept: 12, Duplicates: 2, Unwatched: 2}
	if res.stats != want {
		t.Errorf("stats %+v, want %+v", res.stats, want)
	}
	if n := len(srv.Calls()); n != len(plan.Lookups) {
		t.Errorf("the server saw %d calls, want one per look-up (%d)", n, len(plan.Lookups))
	}
	for attr, n := range srv.CallsByAttribute() {
		if n != 1 {
			t.Errorf("%s: %d calls, want 1", attr, n)
		}
	}
	// And the findings are those of the same records read from a file.
	d := detect.Default()
	var rules []string
	for _, rec := range res.recs {
		for _, f := range d.Detect(rec) {
			rules = append(rules, f.Rule)
		}
	}
	for _, id := range []string{"root-console-signin", "console-login-no-mfa", "access-key-created", "user-managed-policy-attached",
		"iam-policy-changed", "organizations-changed", "root-activity", "cloudtrail-logging-stopped", "cloudtrail-trail-deleted"} {
		if !slices.Contains(rules, id) {
			t.Errorf("no %s finding among %q", id, rules)
		}
	}
}

// The calls are the look-ups times their pages: unwatched events cost nothing.
func TestCallsAreLookupsTimesPages(t *testing.T) {
	plan := eventhistory.NewPlan(detect.Default().Rules())
	for _, tc := range []struct {
		name                string
		keys, unwatched     int
		wantCreateAccessKey int // calls of EventName=CreateAccessKey
	}{
		{"testdata only", 0, 0, 1},
		{"5000 unwatched events", 0, 5000, 1},
		{"one full page of keys", 48, 0, 1},                   // 2 in testdata + 48 = 50
		{"a page and one", 49, 0, 2},                          // 51
		{"three pages of keys among unwatched", 120, 3000, 3}, // 122
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := startServer(t)
			base := time.Date(2024, 4, 1, 0, 0, 0, 0, time.UTC)
			for i := range tc.keys {
				srv.AddRecords(t, record(fmt.Sprintf("key-%04d", i), base.Add(time.Duration(i)*time.Minute), "iam.amazonaws.com", "CreateAccessKey", "IAMUser"))
			}
			for i := range tc.unwatched {
				srv.AddRecords(t, record(fmt.Sprintf("noise-%05d", i), base.Add(time.Duration(i)*time.Second), "ec2.amazonaws.com", "DescribeInstances", "IAMUser"))
			}
			res := read(t, t.Context(), client(srv, "us-east-1"), plan, fast(eventhistory.Options{}))
			if res.fatal != nil || res.bad != nil {
				t.Fatalf("read failed: %v %v", res.fatal, res.bad)
			}
			// A call whose answer a loaded machine lost on the way (a reset connection) is
			// retried, as against AWS: the pages are the look-ups' own, and every call beyond
			// them is a retry the reader counted.
			want := len(plan.Lookups) - 1 + tc.wantCreateAccessKey
			calls := srv.Calls()
			retries := res.stats.Retries
			if len(calls) != res.stats.Calls || res.stats.Calls != want+retries || res.stats.Pages != want || retries > 2 {
				t.Errorf("%d calls (reader counted %d, %d pages, %d retries), want %d pages and no call but a retry beyond them",
					len(calls), res.stats.Calls, res.stats.Pages, retries, want)
			}
			if n := srv.CallsByAttribute()["EventName=CreateAccessKey"]; n < tc.wantCreateAccessKey || n > tc.wantCreateAccessKey+retries {
				t.Errorf("EventName=CreateAccessKey: %d calls (%d retries in all), want %d", n, retries, tc.wantCreateAccessKey)
			}
			for _, c := range calls {
				if c.Attribute == "" || c.MaxResults != eventhistory.PageSize {
					t.Errorf("call %+v: want one look-up attribute and MaxResults %d", c, eventhistory.PageSize)
				}
			}
			if got := len(res.recs); got != len(wantIDs)+tc.keys {
				t.Errorf("%d records, want %d", got, len(wantIDs)+tc.keys)
			}
		})
	}
}

// record is a minimal real-shaped record.
func record(id string, at time.Time, source, name, identity string) []byte {
	ident := `{"type":"IAMUser","principalId":"AIDAQ3EXAMPLEALICE01","arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333","accessKeyId":"AKIAQ3EXAMPLEALICE01","userName":"alice"}`
	if identity == "Root" {
		ident = `{"type":"Root","principalId":"111122223333","arn":"arn:aws:iam::111122223333:root","accountId":"111122223333"}`
	}
	return fmt.Appendf(nil, `{"eventVersion":"1.09","userIdentity":%s,"eventTime":%q,"eventSource":%q,"eventName":%q,"awsRegion":"us-east-1",`+
		`"sourceIPAddress":"198.51.100.24","userAgent":"aws-cli/2.15.40","requestParameters":null,"responseElements":null,"eventID":%q,`+
		`"readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management"}`,
		ident, at.Format(time.RFC3339), source, name, id)
}

// Throttled calls are retried, and the calls, retries included, stay under the rate.
func TestThrottlingIsRetriedUnderTheRate(t *testing.T) {
	const rate = 50.0 // calls a second: interval 20ms, about two seconds for the plan
	interval := time.Duration(float64(time.Second) / rate)
	srv := startServer(t)
	srv.Throttle(7)
	plan := eventhistory.NewPlan(detect.Default().Rules())
	res := read(t, t.Context(), client(srv, "us-east-1"), plan, fast(eventhistory.Options{Rate: rate}))
	if res.fatal != nil || res.bad != nil {
		t.Fatalf("read failed: %v %v", res.fatal, res.bad)
	}
	if got := ids(res.recs); !slices.Equal(got, wantIDs) {
		t.Errorf("records:\n got %q\nwant %q", got, wantIDs)
	}
	calls := srv.Calls()
	throttled := 0
	for _, c := range calls {
		if c.Error == "ThrottlingException" {
			throttled++
		}
	}
	if throttled != 7 || res.stats.Throttled != 7 || res.stats.Retries != 7 || len(calls) != len(plan.Lookups)+7 || res.stats.Calls != len(calls) {
		t.Errorf("%d calls, %d throttled; reader counted %+v; want %d calls of which 7 throttled and retried", len(calls), throttled, res.stats, len(plan.Lookups)+7)
	}

	// From the server's arrival times: no second holds more than rate calls, plus one for the
	// window's two ends and five for up to 100ms of jitter between leaving the limiter and
	// arriving (signing, scheduling on a loaded machine). Unlimited, all of them arrive at once.
	var at []time.Time
	for _, c := range calls {
		at = append(at, c.Time)
	}
	slices.SortFunc(at, time.Time.Compare)
	jitter := 100 * time.Millisecond
	allowed := int(rate) + 1 + int(jitter/interval)
	for i := range at {
		n := 0
		for j := i; j < len(at) && at[j].Sub(at[i]) < time.Second; j++ {
			n++
		}
		if n > allowed {
			t.Fatalf("%d calls within a second of the call at %s: over %v a second", n, at[i].Format(time.StampMicro), rate)
		}
	}
	if span, min := at[len(at)-1].Sub(at[0]), time.Duration(len(at)-1)*interval-jitter; span < min {
		t.Errorf("%d calls in %s, want at least %s at %v a second", len(at), span, min, rate)
	}
}

// A call that fails for good ends the read with an error naming the look-up; nothing retries
// an error that is not throttling or transient.
func TestFailedCallEndsTheRead(t *testing.T) {
	srv := startServer(t)
	srv.FailNext(cloudtrailserver.Failure{Status: http.StatusBadRequest, Type: "AccessDeniedException",
		Message: "User: arn:aws:iam::111122223333:user/alice is not authorized to perform: cloudtrail:LookupEvents"})
	plan := eventhistory.NewPlan(detect.Default().Rules())
	res := read(t, t.Context(), client(srv, "us-east-1"), plan, fast(eventhistory.Options{Concurrency: 1}))
	var ae smithy.APIError
	if !errors.As(res.fatal, &ae) || ae.ErrorCode() != "AccessDeniedException" || !strings.Contains(res.fatal.Error(), "cloudtrail://us-east-1 "+plan.Lookups[0].String()+":") {
		t.Fatalf("final error %v, want AccessDeniedException naming cloudtrail://us-east-1 %s", res.fatal, plan.Lookups[0])
	}
	if n := len(srv.Calls()); n != 1 || res.recs != nil {
		t.Errorf("%d calls and %d records after the first call was denied, want 1 and none", n, len(res.recs))
	}
}

// Server errors (5xx) are transient: retried like throttling.
func TestServerErrorIsRetried(t *testing.T) {
	srv := startServer(t)
	srv.FailNext(cloudtrailserver.Failure{Status: http.StatusServiceUnavailable, Type: "ServiceUnavailableException", Message: "try again"})
	plan := eventhistory.NewPlan(detect.Default().Rules())
	res := read(t, t.Context(), client(srv, "us-east-1"), plan, fast(eventhistory.Options{}))
	if res.fatal != nil || !slices.Equal(ids(res.recs), wantIDs) || res.stats.Retries != 1 || len(srv.Calls()) != len(plan.Lookups)+1 {
		t.Errorf("after one 503: error %v, %d records, %+v, %d calls; want the records and one retry", res.fatal, len(res.recs), res.stats, len(srv.Calls()))
	}
}

// Retries are bounded: a look-up throttled every time gives up, naming the look-up.
func TestRetriesAreBounded(t *testing.T) {
	srv := startServer(t)
	srv.Throttle(4)
	plan := eventhistory.NewPlan(detect.Default().Rules())
	res := read(t, t.Context(), client(srv, "us-east-1"), plan, fast(eventhistory.Options{Concurrency: 1, MaxRetries: 3}))
	if res.fatal == nil || !strings.Contains(res.fatal.Error(), "gave up after 4 attempts") || len(srv.Calls()) != 4 {
		t.Errorf("throttled 4 times with 3 retries: %v after %d calls, want giving up after 4", res.fatal, len(srv.Calls()))
	}
}

// A bad CloudTrailEvent is an error naming the region, look-up and event; the rest still read.
func TestBadEventIsAnErrorTheRestRead(t *testing.T) {
	srv := startServer(t)
	at := time.Date(2024, 5, 20, 0, 0, 0, 0, time.UTC)
	srv.Add(
		cloudtrailserver.Event{EventID: "bad-json", EventName: "CreateAccessKey", EventSource: "iam.amazonaws.com", EventTime: at, Username: "alice",
			CloudTrailEvent: `{"eventVersion":"1.09","eventID":"bad-json","eventName":"CreateAccessKey"`},
		cloudtrailserver.Event{EventID: "no-text", EventName: "StopLogging", EventSource: "cloudtrail.amazonaws.com", EventTime: at.Add(time.Hour)},
		cloudtrailserver.Event{EventID: "other-id", EventName: "DeleteTrail", EventSource: "cloudtrail.amazonaws.com", EventTime: at.Add(2 * time.Hour),
			CloudTrailEvent: string(record("not-other-id", at.Add(2*time.Hour), "cloudtrail.amazonaws.com", "DeleteTrail", "IAMUser"))},
		cloudtrailserver.Event{EventID: "no-time", EventName: "DeleteTrail", EventSource: "cloudtrail.amazonaws.com", EventTime: at.Add(3 * time.Hour),
			CloudTrailEvent: `{"eventID":"no-time","eventName":"DeleteTrail","eventSource":"cloudtrail.amazonaws.com"}`},
	)
	plan := eventhistory.NewPlan(detect.Default().Rules())
	res := read(t, t.Context(), client(srv, "us-east-1"), plan, fast(eventhistory.Options{}))
	if res.fatal != nil {
		t.Fatal(res.fatal)
	}
	if got := ids(res.recs); !slices.Equal(got, wantIDs) {
		t.Errorf("records:\n got %q\nwant %q", got, wantIDs)
	}
	want := []string{
		"cloudtrail://us-east-1 EventName=CreateAccessKey event bad-json: ",
		"cloudtrail://us-east-1 EventName=StopLogging event no-text: event has no CloudTrailEvent",
		`cloudtrail://us-east-1 EventName=DeleteTrail event other-id: CloudTrailEvent has eventID "not-other-id", want the event's EventId`,
		"cloudtrail://us-east-1 EventName=DeleteTrail event no-time: record DeleteTrail has no eventTime",
	}
	if len(res.bad) != len(want) || res.stats.Bad != len(want) {
		t.Fatalf("errors %v (stats %+v), want %d", res.bad, res.stats, len(want))
	}
	for i, err := range res.bad {
		if !strings.HasPrefix(err.Error(), want[i]) {
			t.Errorf("error %d: %v\nwant it to begin %q", i, err, want[i])
		}
	}
}

// since ≤ eventTime < until, sent to LookupEvents as StartTime and EndTime; a since before
// Event history's 90 days is moved to their start.
func TestWindow(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2024, 5, d, 0, 0, 0, 0, time.UTC) }
	for _, tc := range []struct {
		name         string
		since, until time.Time
		wantStart    time.Time
		wantEnd      time.Time
		wantIDs      []string
		clipped      bool
	}{
		{"default: the last 90 days", time.Time{}, time.Time{}, now.Add(-eventhistory.Retention), now, wantIDs, false},
		{"a few days", day(4), day(7), day(4), day(7), []string{wantIDs[2], wantIDs[3], wantIDs[4]}, false},
		// 2024-05-07T12:00:00Z is CreatePolicy's time: until is exclusive, since inclusive.
		{"until exclusive", day(6), time.Date(2024, 5, 7, 12, 0, 0, 0, time.UTC), day(6), time.Date(2024, 5, 7, 12, 0, 0, 0, time.UTC), []string{wantIDs[4]}, false},
		{"since inclusive", time.Date(2024, 5, 7, 12, 0, 0, 0, time.UTC), day(8), time.Date(2024, 5, 7, 12, 0, 0, 0, time.UTC), day(8), []string{wantIDs[5]}, false},
		{"since before 90 days", day(1).AddDate(-1, 0, 0), day(3), now.Add(-eventhistory.Retention), day(3), wantIDs[:1], true},
		{"until after now", day(12), now.AddDate(1, 0, 0), day(12), now, wantIDs[9:], false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := startServer(t)
			plan := eventhistory.NewPlan(detect.Default().Rules())
			o := fast(eventhistory.Options{Since: tc.since, Until: tc.until})
			r, err := eventhistory.NewReader(client(srv, "us-east-1"), "us-east-1", plan, o)
			if err != nil {
				t.Fatal(err)
			}
			if w := r.Window(); !w.Since.Equal(tc.wantStart) || !w.Until.Equal(tc.wantEnd) || w.Clipped.IsZero() == tc.clipped {
				t.Errorf("window %+v, want %s to %s, clipped %v", w, tc.wantStart, tc.wantEnd, tc.clipped)
			}
			res := read(t, t.Context(), client(srv, "us-east-1"), plan, o)
			if res.fatal != nil || res.bad != nil {
				t.Fatalf("read failed: %v %v", res.fatal, res.bad)
			}
			if got := ids(res.recs); !slices.Equal(got, tc.wantIDs) {
				t.Errorf("records:\n got %q\nwant %q", got, tc.wantIDs)
			}
			for _, c := range srv.Calls() {
				if !c.Start.Equal(tc.wantStart) || !c.End.Equal(tc.wantEnd) {
					t.Fatalf("call %s: StartTime %s EndTime %s, want %s and %s", c.Attribute, c.Start, c.End, tc.wantStart, tc.wantEnd)
				}
			}
		})
	}
}

func TestNewReaderRefuses(t *testing.T) {
	srv := startServer(t)
	api := client(srv, "us-east-1")
	plan := eventhistory.NewPlan(detect.Default().Rules())
	for _, tc := range []struct {
		name string
		api  eventhistory.API
		plan *eventhistory.Plan
		o    eventhistory.Options
		want string
	}{
		{"no client", nil, plan, eventhistory.Options{}, "no CloudTrail client"},
		{"no look-ups", api, eventhistory.NewPlan(nil), eventhistory.Options{}, "nothing to look up"},
		{"range before the 90 days", api, plan, eventhistory.Options{Since: now.AddDate(-1, 0, 0), Until: now.AddDate(0, -6, 0)}, "Event history holds the 90 days from 2024-03-03T00:00:00Z"},
		{"since after until", api, plan, eventhistory.Options{Since: now.Add(-time.Hour), Until: now.Add(-2 * time.Hour)}, "nothing to read"},
		{"negative rate", api, plan, eventhistory.Options{Rate: -1}, "negative rate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.o.Now = func() time.Time { return now }
			if _, err := eventhistory.NewReader(tc.api, "us-east-1", tc.plan, tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one saying %q", err, tc.want)
			}
		})
	}
	if n := len(srv.Calls()); n != 0 {
		t.Errorf("%d calls made by refused readers", n)
	}
}

// AWS_ENDPOINT_URL, read by the SDK's standard configuration, points NewClient at the server.
func TestEndpointFromEnvironment(t *testing.T) {
	srv := startServer(t)
	t.Setenv("AWS_ENDPOINT_URL", srv.URL)
	t.Setenv("AWS_ACCESS_KEY_ID", "testing")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "testing")
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	cfg, err := config.LoadDefaultConfig(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	plan := eventhistory.NewPlan(detect.Default().Rules())
	res := read(t, t.Context(), eventhistory.NewClient(cfg, "us-east-1"), plan, fast(eventhistory.Options{}))
	if res.fatal != nil || !slices.Equal(ids(res.recs), wantIDs) || len(srv.Calls()) != len(plan.Lookups) {
		t.Errorf("through AWS_ENDPOINT_URL: %v, %d records, %d calls", res.fatal, len(res.recs), len(srv.Calls()))
	}
}

// Progress is reported after every call and look-up, one at a time, counting up to the end.
func TestProgress(t *testing.T) {
	srv := startServer(t)
	srv.Throttle(2)
	plan := eventhistory.NewPlan(detect.Default().Rules())
	var mu sync.Mutex
	var seen []eventhistory.Progress
	busy := false
	o := fast(eventhistory.Options{Progress: func(p eventhistory.Progress) {
		mu.Lock()
		if busy {
			t.Error("progress hook called while running")
		}
		busy = true
		seen = append(seen, p)
		busy = false
		mu.Unlock()
	}})
	res := read(t, t.Context(), client(srv, "us-east-1"), plan, o)
	if res.fatal != nil {
		t.Fatal(res.fatal)
	}
	calls := len(plan.Lookups) + 2
	// One report per call and one per finished look-up.
	if len(seen) != calls+len(plan.Lookups) {
		t.Fatalf("%d progress reports, want %d", len(seen), calls+len(plan.Lookups))
	}
	for i, p := range seen {
		if p.Region != "us-east-1" || p.Lookups != len(plan.Lookups) || p.Lookup == "" ||
			i > 0 && (p.Calls < seen[i-1].Calls || p.LookupsDone < seen[i-1].LookupsDone || p.Events < seen[i-1].Events) {
			t.Fatalf("report %d %+v after %+v", i, p, seen[max(i-1, 0)])
		}
	}
	last := seen[len(seen)-1]
	if last.LookupsDone != len(plan.Lookups) || last.Calls != calls || last.Throttled != 2 || last.Events != 14 {
		t.Errorf("last report %+v, want every look-up done, %d calls, 2 throttled, 14 events", last, calls)
	}
}

// An ended context stops the read at once, with its error last.
func TestContextEndsTheRead(t *testing.T) {
	srv := startServer(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	plan := eventhistory.NewPlan(detect.Default().Rules())
	o := fast(eventhistory.Options{Concurrency: 2, Progress: func(p eventhistory.Progress) {
		if p.Calls == 3 {
			cancel()
		}
	}})
	res := read(t, ctx, client(srv, "us-east-1"), plan, o)
	if !errors.Is(res.fatal, context.Canceled) {
		t.Errorf("final error %v, want context.Canceled", res.fatal)
	}
	if n := len(srv.Calls()); n > 5 {
		t.Errorf("%d calls after the context ended at the third", n)
	}
}

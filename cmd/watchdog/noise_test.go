package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	eventstestdata "github.com/iam-watchdog/iam-watchdog/events-testdata"
	"github.com/iam-watchdog/iam-watchdog/internal/corpus"
	"github.com/iam-watchdog/iam-watchdog/internal/mototest"
	"github.com/iam-watchdog/iam-watchdog/internal/slackserver"
	"github.com/iam-watchdog/iam-watchdog/pkg/alert"
	"github.com/iam-watchdog/iam-watchdog/pkg/cloudtrail"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/noise"
	"github.com/iam-watchdog/iam-watchdog/pkg/notify"
	"github.com/iam-watchdog/iam-watchdog/pkg/policy"
	"github.com/iam-watchdog/iam-watchdog/pkg/remediate"
	"github.com/iam-watchdog/iam-watchdog/pkg/replay"
	"github.com/iam-watchdog/iam-watchdog/pkg/state"
	"github.com/iam-watchdog/iam-watchdog/pkg/watchdog"
)

// noiseConfig routes critical and high to their own channel and reverts new access keys.
const noiseConfig = `
slack:
  channels: {critical: C0ALERTS, high: C0ALERTS}
rules:
  access-key-created: {mode: auto}
`

// noiseArchive is a generated archive of two days and two accounts (every example event in it
// at least once) and a log file of its own: a caller denied a dozen times in two minutes, a
// root sign-in without MFA minutes after one with it, and a failed one.
func noiseArchive(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	c := corpus.Default(3_000_000)
	if _, err := corpus.Generate(dir, c, 2, nil); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2024, 5, 1, 14, 0, 0, 0, time.UTC)
	var details []string
	add := func(name, id string, offset time.Duration, edit func(map[string]any)) {
		raw, err := eventstestdata.Event(name, func(d map[string]any) {
			d["eventID"], d["eventTime"] = id, at.Add(offset).Format(time.RFC3339)
			if edit != nil {
				edit(d)
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		var ev struct{ Detail json.RawMessage }
		if err := json.Unmarshal(raw, &ev); err != nil {
			t.Fatal(err)
		}
		details = append(details, string(ev.Detail))
	}
	for i := range 12 {
		add("unauthorized_api_calls/alert-ec2-describe-unauthorized.json", fmt.Sprintf("mallory-%02d", i), time.Duration(i)*10*time.Second, func(d map[string]any) {
			d["userIdentity"] = map[string]any{"type": "IAMUser", "principalId": "AIDAMALLORY", "arn": "arn:aws:iam::123456789012:user/mallory",
				"accountId": "123456789012", "userName": "mallory"}
		})
	}
	add("root_signin/alert-root-success-mfa.json", "root-1", 0, nil)
	add("root_signin/alert-root-success-no-mfa.json", "root-2", 3*time.Minute, nil)
	add("root_signin/alert-root-failure.json", "root-3", 4*time.Minute, nil)
	day := filepath.Join(dir, "AWSLogs", "123456789012", "CloudTrail", "us-east-1", "2024", "05", "01")
	if err := os.MkdirAll(day, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(day, "123456789012_CloudTrail_us-east-1_20240501T1405Z_noisetest.json"),
		[]byte(`{"Records":[`+strings.Join(details, ",")+`]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// rehearsed succeeds at every action without an AWS call, as a deployment with the permissions
// it needs would.
type rehearsed struct{}

func (rehearsed) Describe(a detect.Action) string { return a.Kind }
func (rehearsed) Plan(_ context.Context, a detect.Action) (remediate.Undo, error) {
	return remediate.Undo{Action: a.Kind, UserName: a.UserName, AccessKeyID: a.AccessKeyID}, nil
}
func (rehearsed) Do(context.Context, remediate.Undo) error { return nil }

// records are the records of the archive a rule reports, read by replay.
type records []*cloudtrail.Record

func (r *records) Notify(_ context.Context, a alert.Alert) (alert.Delivery, error) {
	if !slices.Contains(*r, a.Finding.Record) {
		*r = append(*r, a.Finding.Record)
	}
	return alert.Delivery{}, nil
}

// severityOf reads the severity a posted message leads with, from its text.
var severityOf = regexp.MustCompile(`^(?:\[\d+ findings\] )?([A-Z]+):`)

// TestNoiseEqualsWhatThePipelinePosts: `watchdog noise` reports what the real pipeline posts
// for the same events and config, the pipeline against the local Slack and moto's DynamoDB, each
// event delivered at its own time as EventBridge would: the same messages posted at once, by
// channel, day and severity, the same updates, the same digest entries by channel, and as many
// digest messages as the digest's job then posts.
func TestNoiseEqualsWhatThePipelinePosts(t *testing.T) {
	ctx := context.Background()
	dir := noiseArchive(t)
	cfgPath := filepath.Join(t.TempDir(), "watchdog.yaml")
	if err := os.WriteFile(cfgPath, []byte(noiseConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	out := mustRun(t, "noise", "--config", cfgPath, "--output", "json", dir)
	var rep noise.Report
	if err := json.Unmarshal([]byte(out.stdout), &rep); err != nil {
		t.Fatalf("noise --output json: %v\n%s", err, out.stdout)
	}

	// The same events through the real pipeline, in the order of their times.
	cfg, err := policy.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	var recs records
	finder := &watchdog.Pipeline{Detector: detect.DefaultWith(cfg.Detection()), Config: cfg}
	if _, err := replay.Run(ctx, replay.Options{Pipeline: finder, Output: &recs, Sources: []replay.Source{replay.Path(dir)}, Jobs: 2}); err != nil {
		t.Fatal(err)
	}
	slices.SortStableFunc(recs, func(a, b *cloudtrail.Record) int { return a.EventTime.Compare(b.EventTime) })
	srv := mototest.Start(t)
	db := dynamodb.NewFromConfig(srv.Config(t))
	mototest.CreateStateTable(t, db, "state")
	store := &state.DynamoDB{API: db, Table: "state"}
	slack := slackserver.Start(t)
	bot, err := notify.NewBot(notify.BotConfig{Token: "xoxb-test", Channel: "C0SECURITY", APIURL: slack.APIURL()})
	if err != nil {
		t.Fatal(err)
	}
	var now time.Time
	digested := map[string]int{}
	postDay := map[string]string{} // message ts → the day of the finding that posted it
	for i, rec := range recs {
		now = rec.EventTime
		p := &watchdog.Pipeline{Detector: detect.DefaultWith(cfg.Detection()), Config: cfg, Remediator: rehearsed{}, Store: store, Sink: bot,
			Owner: fmt.Sprintf("request-%d", i), Now: func() time.Time { return now }}
		results, err := p.Handle(ctx, rec)
		if err != nil {
			t.Fatalf("%s: %v", rec.EventID, err)
		}
		for _, r := range results {
			switch {
			case r.Route.Kind == policy.Digest:
				digested[cmp.Or(r.Route.Channel, noise.DefaultChannel)]++
			case r.Delivery.TS != "" && postDay[r.Delivery.TS] == "":
				postDay[r.Delivery.TS] = r.Finding.EventTime.UTC().Format(time.DateOnly)
			}
		}
	}

	posts := slack.Posts()
	if rep.Immediate != len(posts) || rep.Updates != len(slack.Updates()) || rep.ThreadReplies != len(slack.Messages())-len(posts)-len(slack.Updates()) {
		t.Errorf("noise: %d posted at once, %d updates, %d replies; the pipeline: %d, %d, %d", rep.Immediate, rep.Updates, rep.ThreadReplies,
			len(posts), len(slack.Updates()), len(slack.Messages())-len(posts)-len(slack.Updates()))
	}
	bySeverity := map[string]int{}
	byChannelDay := map[string]int{}
	for _, p := range posts {
		m := severityOf.FindStringSubmatch(p.Text)
		if m == nil {
			t.Fatalf("post %q leads with no severity", p.Text)
		}
		bySeverity[strings.ToLower(m[1])]++
		channel := p.Channel
		if channel == "C0SECURITY" {
			channel = noise.DefaultChannel
		}
		byChannelDay[channel+" "+postDay[p.TS]]++
	}
	for s := detect.Info; s <= detect.Critical; s++ {
		if rep.ImmediateBySeverity[s.String()] != bySeverity[s.String()] {
			t.Errorf("%s: noise says %d posted at once, the pipeline posted %d", s, rep.ImmediateBySeverity[s.String()], bySeverity[s.String()])
		}
	}
	reported := map[string]int{}
	for _, c := range rep.Channels {
		for d, n := range c.ImmediateByDay {
			reported[c.Channel+" "+d] = n
		}
		if c.DigestEntries != digested[c.Channel] {
			t.Errorf("channel %s: noise says %d digest entries, the pipeline kept %d", c.Channel, c.DigestEntries, digested[c.Channel])
		}
	}
	if fmt.Sprint(reported) != fmt.Sprint(byChannelDay) {
		t.Errorf("posted at once by channel and day: noise says %v, the pipeline posted %v", reported, byChannelDay)
	}
	total := 0
	for _, n := range digested {
		total += n
	}
	if rep.DigestEntries != total {
		t.Errorf("noise says %d digest entries, the pipeline kept %d", rep.DigestEntries, total)
	}
	before := len(slack.Posts())
	n, err := notify.PostDigest(ctx, notify.DigestOptions{Store: store, Poster: bot, Owner: "schedule", Now: func() time.Time { return now.Add(48 * time.Hour) }})
	if err != nil || n != rep.DigestMessages || len(slack.Posts())-before != rep.DigestMessages {
		t.Errorf("the digest's job posted %d messages (%v); noise says %d", len(slack.Posts())-before, err, rep.DigestMessages)
	}
	// What the archive holds, so that the comparison above means something.
	if rep.Immediate < 20 || rep.Updates == 0 || rep.DigestEntries < 20 || rep.DigestMessages < 2 || len(rep.Channels) != 2 || rep.Days != 2 || rep.Accounts != 2 {
		t.Errorf("the archive gave too little to compare: %+v", rep)
	}
	t.Logf("%d records handled: %d posted at once, %d updates, %d digest entries, %d digest messages", len(recs), rep.Immediate, rep.Updates, rep.DigestEntries, rep.DigestMessages)
}

// Bad flags are usage errors naming the flag; the text report says what Slack would receive;
// an unreadable input is named and exits 1, the rest still reported.
func TestNoiseCLI(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"noise"}, "needs at least one PATH"},
		{[]string{"noise", "--output", "jsonl", eventsDir}, `invalid value "jsonl" for flag -output: want text, json`},
		{[]string{"noise", "--jobs", "0", eventsDir}, "--jobs 0: want at least 1"},
		{[]string{"noise", "--since", "yesterday", eventsDir}, `--since: "yesterday" is neither a date`},
	} {
		r := runCLI(t, "", tc.args...)
		var ue usageError
		if !errors.As(r.err, &ue) || !strings.Contains(r.err.Error(), tc.want) {
			t.Errorf("watchdog %s: %v, want a usage error containing %q", strings.Join(tc.args, " "), r.err, tc.want)
		}
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("slack: {immediate_severity: urgent}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := runCLI(t, "", "noise", "--config", bad, eventsDir); r.err == nil || !strings.Contains(r.err.Error(), "slack.immediate_severity") {
		t.Errorf("a bad config: %v, want an error naming slack.immediate_severity", r.err)
	}

	r := mustRun(t, "noise", eventsDir)
	for _, want := range []string{"What Slack would have received:", "posted at once", "digest", "severity  findings  at once  digest  messages", "The rules that made the most"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("text report lacks %q:\n%s", want, r.stdout)
		}
	}
	missing := filepath.Join(t.TempDir(), "missing.json")
	r = runCLI(t, "", "noise", "--output", "json", missing, eventsDir)
	var rep noise.Report
	if !errors.Is(r.err, errSomeInputs) || !strings.Contains(r.stderr, "missing.json") || json.Unmarshal([]byte(r.stdout), &rep) != nil || rep.Findings == 0 {
		t.Errorf("a missing input: %v, stderr %q, %d findings reported; want exit 1 naming it and the rest reported", r.err, r.stderr, rep.Findings)
	}
}

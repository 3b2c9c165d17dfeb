package auditrun

import (
	"context"
	"testing"
	"time"

	"github.com/iam-watchdog/iam-watchdog/internal/slackserver"
	"github.com/iam-watchdog/iam-watchdog/pkg/alert"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/lambdaenv"
	"github.com/iam-watchdog/iam-watchdog/pkg/notify"
	"github.com/iam-watchdog/iam-watchdog/pkg/schedule"
	"github.com/iam-watchdog/iam-watchdog/pkg/state"
)

// TestFindingsDigestOnTheTick: the findings digest (issue 20) runs on the audit's tick, through
// the same sink: a period that has ended is posted once, to its channel, and a second tick
// posts nothing.
func TestFindingsDigestOnTheTick(t *testing.T) {
	ctx := t.Context()
	slack := slackserver.Start(t)
	bot, err := notify.NewBot(notify.BotConfig{Token: slackToken, Channel: "C0SECURITY", APIURL: slack.APIURL()})
	if err != nil {
		t.Fatal(err)
	}
	store := &state.Memory{}
	day := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	f := detect.Finding{Rule: "iam-user-created", Category: "iam_user_created", Severity: detect.Low, EventID: "ev-1", EventTime: day.Add(time.Hour)}
	if err := (alert.Digests{Store: store}).Add(ctx, day, 24*time.Hour, "C0DIGEST", "ev-1#iam-user-created", "arn:aws:iam::123456789012:user/bob", f); err != nil {
		t.Fatal(err)
	}
	sink := func(context.Context) (lambdaenv.ScheduledSink, error) { return bot, nil }
	ticker := &schedule.Ticker{Store: store, Owner: "tick-1", Jobs: []schedule.Job{FindingsDigest(store, sink, nil)}}
	for i := range 2 {
		if _, err := ticker.Tick(ctx); err != nil {
			t.Fatalf("tick %d: %v", i, err)
		}
	}
	posts := slack.Posts()
	if len(posts) != 1 || posts[0].Channel != "C0DIGEST" {
		t.Errorf("posts %+v, want the one digest, in its channel, once", posts)
	}
}

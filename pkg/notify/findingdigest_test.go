package notify

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/iam-watchdog/iam-watchdog/internal/alerttest"
	"github.com/iam-watchdog/iam-watchdog/internal/slackserver"
	"github.com/iam-watchdog/iam-watchdog/pkg/alert"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/state"
)

// A bot routed to another channel posts there; its updates go where the message is.
func TestBotIn(t *testing.T) {
	srv := slackserver.Start(t)
	bot, err := NewBot(BotConfig{Token: "xoxb-test", Channel: "C0SECURITY", APIURL: srv.APIURL()})
	if err != nil {
		t.Fatal(err)
	}
	d, err := bot.In("C0ALERTS").Notify(context.Background(), alerttest.Done())
	if err != nil || d.Channel != "C0ALERTS" {
		t.Fatalf("posted to %+v, %v; want C0ALERTS", d, err)
	}
	if err := bot.Update(context.Background(), d, alerttest.Done()); err != nil {
		t.Fatal(err)
	}
	if _, err := bot.Notify(context.Background(), alerttest.Done()); err != nil {
		t.Fatal(err)
	}
	posts := srv.Posts()
	if len(posts) != 2 || posts[0].Channel != "C0ALERTS" || posts[1].Channel != "C0SECURITY" || srv.Updates()[0].Channel != "C0ALERTS" {
		t.Errorf("posts %+v, updates %+v", posts, srv.Updates())
	}
}

// A digest Slack refuses stays open and is posted by the next run; the others are posted at once.
func TestPostDigestRetriesWhatFailed(t *testing.T) {
	ctx := context.Background()
	srv := slackserver.Start(t)
	bot, err := NewBot(BotConfig{Token: "xoxb-test", Channel: "C0SECURITY", APIURL: srv.APIURL(), MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	store := &state.Memory{}
	day := time.Date(2024, 5, 2, 0, 0, 0, 0, time.UTC)
	for i, channel := range []string{"", "C0DIGEST"} {
		f := detect.Finding{Rule: "iam-user-created", Category: "iam_user_created", Severity: detect.Low, EventID: "ev-" + channel, EventTime: day.Add(time.Hour)}
		if err := (alert.Digests{Store: store}).Add(ctx, day, 24*time.Hour, channel, f.EventID+"#r", "arn:aws:iam::123456789012:user/bob", f); err != nil {
			t.Fatal(i, err)
		}
	}
	srv.Inject(slackserver.Fault{Method: "chat.postMessage", Failure: slackserver.Failure{Status: http.StatusInternalServerError}})
	opts := DigestOptions{Store: store, Poster: bot, Owner: "tick-1", Now: func() time.Time { return day.Add(25 * time.Hour) }}
	n, err := PostDigest(ctx, opts)
	if n != 1 || err == nil || !strings.Contains(err.Error(), "digest of 2024-05-02T00:00:00Z") {
		t.Fatalf("first run: %d posted, %v; want 1 and the refused one named", n, err)
	}
	open, _ := alert.Digests{Store: store}.Open(ctx)
	if len(open) != 1 || len(open[0].Channels) != 1 {
		t.Fatalf("open after the first run: %+v; want the refused channel only", open)
	}
	opts.Owner = "tick-2"
	if n, err := PostDigest(ctx, opts); n != 1 || err != nil {
		t.Fatalf("second run: %d posted, %v; want the refused one", n, err)
	}
	channels := map[string]bool{}
	for _, p := range srv.Posts() {
		channels[p.Channel] = true
	}
	if len(srv.Posts()) != 2 || !channels["C0SECURITY"] || !channels["C0DIGEST"] {
		t.Errorf("posts %+v: want one digest in each channel", srv.Posts())
	}
}

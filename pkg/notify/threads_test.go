package notify

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/iam-watchdog/iam-watchdog/internal/alerttest"
	"github.com/iam-watchdog/iam-watchdog/internal/slackserver"
	"github.com/iam-watchdog/iam-watchdog/pkg/alert"
	"github.com/iam-watchdog/iam-watchdog/pkg/render"
)

// The bot's thread calls, against a local Slack: the update keeps the message, replies land
// in its thread, an ephemeral reaches one user, group members are listed.
func TestBotThreads(t *testing.T) {
	ctx := context.Background()
	srv := slackserver.Start(t)
	srv.SetGroup("S0SECOPS", "U0A", "U0B")
	bot, err := NewBot(BotConfig{Token: "xoxb-test", Channel: "C0SECURITY", APIURL: srv.APIURL()})
	if err != nil {
		t.Fatal(err)
	}
	a := alerttest.Pending()
	d, err := bot.Notify(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	client, err := NewBotClient(BotConfig{Token: "xoxb-test", APIURL: srv.APIURL()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.Notify(ctx, a); err == nil {
		t.Error("a client without a channel posted an alert")
	}
	a.Thread.Status, a.Thread.By, a.Thread.Since = alert.Acknowledged, "U0A", alerttest.ClickTime
	if err := client.Update(ctx, d, a); err != nil {
		t.Fatal(err)
	}
	if err := client.Reply(ctx, d, render.FollowUp{Who: "U0A", Verb: alert.Acknowledge, Alert: a, OK: true}); err != nil {
		t.Fatal(err)
	}
	if err := client.Ephemeral(ctx, "C0SECURITY", "U0Z", "not you"); err != nil {
		t.Fatal(err)
	}
	members, err := client.GroupMembers(ctx, "S0SECOPS")
	if err != nil || strings.Join(members, ",") != "U0A,U0B" {
		t.Fatalf("members %v, %v", members, err)
	}
	if _, err := client.GroupMembers(ctx, "S0NOPE"); err == nil {
		t.Error("an unknown group has members")
	}
	if err := client.Update(ctx, alert.Delivery{Channel: "C0SECURITY", TS: "1.000000"}, a); err == nil {
		t.Error("updated a message that does not exist")
	}

	cur, _ := srv.Current(d.TS)
	if len(srv.Posts()) != 1 || len(srv.Updates()) != 1 || !strings.Contains(string(cur.Blocks), `Acknowledged by \u003c@U0A\u003e`) {
		t.Errorf("posts %d, updates %d, current %s", len(srv.Posts()), len(srv.Updates()), cur.Blocks)
	}
	if r := srv.Replies(d.TS); len(r) != 1 || !strings.Contains(r[0].Text, "<@U0A> acknowledged") {
		t.Errorf("replies %+v", r)
	}
	if e := srv.Ephemerals(); len(e) != 1 || e[0].User != "U0Z" {
		t.Errorf("ephemerals %+v", e)
	}
}

func TestConsoleThread(t *testing.T) {
	var buf bytes.Buffer
	c := NewConsoleThread(&buf)
	a := alerttest.Pending()
	d, err := c.Notify(context.Background(), a)
	if err != nil || d.TS != "1" {
		t.Fatalf("delivery %+v, %v", d, err)
	}
	a.Thread.Status, a.Thread.By = alert.Reverted, "U0SECLEAD"
	if err := c.Update(context.Background(), d, a); err != nil {
		t.Fatal(err)
	}
	if err := c.Reply(context.Background(), d, render.FollowUp{Who: "U0SECLEAD", Verb: alert.Revert, Alert: a, OK: true}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"│ buttons   [ Revert now ] [ Acknowledge ]", "↻ message 1 updated · status: Reverted by @U0SECLEAD · buttons [ Undo revert ]", "│ status    Awaiting approval", "╭─ HIGH", "↳ thread of message 1: ✔ @U0SECLEAD pressed Revert now: deactivated access key"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
}

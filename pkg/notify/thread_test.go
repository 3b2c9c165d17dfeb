package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/iam-watchdog/iam-watchdog/internal/slackserver"
	"github.com/iam-watchdog/iam-watchdog/pkg/remediate"
	"github.com/iam-watchdog/iam-watchdog/pkg/state"
)

var clickTime = time.Date(2024, 5, 1, 12, 34, 56, 0, time.UTC)

// pendingAlert: approve mode, waiting for Revert now.
func pendingAlert() Alert {
	a := plannedAlert()
	a.Remediation = &remediate.Outcome{Action: a.Finding.Action.Kind, Status: remediate.Pending, Reason: "waiting for approval"}
	a.Thread = &Thread{Key: a.Finding.EventID + "#" + a.Finding.Rule, Status: state.Pending, By: "watchdog"}
	return a
}

// burstAlert: the message of a burst of 50 keys made by one actor, reverted automatically.
func burstAlert() Alert {
	a := plannedAlert()
	a.Remediation = &remediate.Outcome{Action: a.Finding.Action.Kind, Status: remediate.Done, Reason: "deactivated", Undo: remediate.UndoCommand(a.Finding.EventID)}
	g := &state.Group{Targets: []string{a.Finding.Target}, Outcomes: map[string]int{"done": 1}}
	for i := range 49 {
		target := "arn:aws:iam::123456789012:user/bob"
		if i < 14 {
			target = "arn:aws:iam::123456789012:user/u" + string(rune('a'+i))
		}
		outcome := "done"
		if i == 0 {
			outcome = "failed"
		}
		g.Join("ev-"+string(rune('a'+i))+"#access-key-created", target, outcome)
	}
	a.Thread = &Thread{Key: a.Finding.EventID + "#" + a.Finding.Rule, Status: state.Reverted, By: "watchdog", Since: clickTime, Group: g, Window: 10 * time.Minute}
	return a
}

func threadFixtures() map[string]Alert {
	acked := pendingAlert()
	acked.Thread.Status, acked.Thread.By, acked.Thread.Since = state.Acknowledged, "U0SECLEAD", clickTime
	return map[string]Alert{"thread-pending": pendingAlert(), "thread-burst": burstAlert(), "thread-acknowledged": acked}
}

func TestThreadMessageGolden(t *testing.T) {
	for name, a := range threadFixtures() {
		t.Run(name, func(t *testing.T) {
			msg := NewMessage(a)
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(goldenMessage{Blocks: msg.Blocks, Text: msg.Text}); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", name+".golden.json")
			if *update {
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./pkg/notify/ -run TestThreadMessageGolden -update to create it)", err)
			}
			assertJSONEqual(t, want, buf.Bytes())
		})
	}
}

// buttonsOf returns action ID → value of every button in a message.
func buttonsOf(msg Message) map[string]string {
	out := map[string]string{}
	for _, b := range msg.Blocks {
		if ab, ok := b.(*slack.ActionBlock); ok {
			for _, e := range ab.Elements.ElementSet {
				if btn, ok := e.(*slack.ButtonBlockElement); ok {
					out[btn.ActionID] = btn.Value
				}
			}
		}
	}
	return out
}

func TestThreadButtons(t *testing.T) {
	key := plannedAlert().Finding.EventID + "#access-key-created"
	for _, tc := range []struct {
		status state.Status
		kind   string
		want   []string
	}{
		{state.Pending, "", []string{"revert", "acknowledge"}},
		{state.Open, "", []string{"acknowledge"}},
		{state.Reverted, "", []string{"undo"}},
		// Putting a policy back needs a power the Slack app's role does not have.
		{state.Reverted, "detach_user_policy", nil},
		{state.Reverting, "", nil},
		{state.Acknowledged, "", nil},
		{state.Undone, "", nil},
	} {
		a := plannedAlert()
		if tc.kind != "" {
			a.Finding.Action.Kind = tc.kind
		}
		a.Thread = &Thread{Key: key, Status: tc.status}
		got := buttonsOf(NewMessage(a))
		if len(got) != len(tc.want) {
			t.Errorf("%s %s: buttons %v, want %v", tc.status, tc.kind, got, tc.want)
		}
		for _, id := range tc.want {
			if got[id] != key {
				t.Errorf("%s: button %s carries %q, want only the state key %q", tc.status, id, got[id], key)
			}
		}
	}
	if got := buttonsOf(NewMessage(plannedAlert())); len(got) != 0 {
		t.Errorf("an alert without a thread has buttons %v", got)
	}
}

func TestBurstMessageCounts(t *testing.T) {
	msg := NewMessage(burstAlert())
	if !strings.HasPrefix(msg.Text, "[50 findings] ") {
		t.Errorf("fallback %q does not start with the count", msg.Text)
	}
	var all string
	for _, tx := range texts(msg) {
		all += tx.text + "\n"
		if slackLen(tx.text) > tx.limit {
			t.Errorf("%s over Slack's limit of %d: %d", tx.kind, tx.limit, slackLen(tx.text))
		}
	}
	for _, want := range []string{"50 findings by the same actor under this rule within 10m0s", "and 5 more", "Remediation: 49 done, 1 failed", "Status: Reverted by the watchdog"} {
		if !strings.Contains(all, want) {
			t.Errorf("missing %q in\n%s", want, all)
		}
	}
}

func TestFollowUpText(t *testing.T) {
	a := pendingAlert()
	for _, tc := range []struct {
		name string
		f    FollowUp
		want string
	}{
		{"revert", FollowUp{Who: "U0SECLEAD", Verb: state.Revert, At: clickTime, Alert: a, OK: true},
			":white_check_mark: <@U0SECLEAD> pressed *Revert now* at 2024-05-01T12:34:56Z: deactivated access key `AKIAEXAMPLEKEY000001` of user `bob`."},
		{"revert failed", FollowUp{Who: "U0SECLEAD", Verb: state.Revert, At: clickTime, Alert: a, Detail: "AccessDenied <!channel>"},
			":x: <@U0SECLEAD> pressed *Revert now* at 2024-05-01T12:34:56Z: could not deactivate access key `AKIAEXAMPLEKEY000001` of user `bob`: AccessDenied &lt;!channel&gt;. The alert still awaits approval."},
		{"undo burst", FollowUp{Who: "W0GRID", Verb: state.Undo, At: clickTime, Alert: a, OK: true, Done: 49, Failed: 1},
			":leftwards_arrow_with_hook: <@W0GRID> pressed *Undo revert* at 2024-05-01T12:34:56Z: re-activated access key `AKIAEXAMPLEKEY000001` of user `bob` (49 of 50 findings; 1 failed)."},
		{"acknowledge pending", FollowUp{Who: "U0SECLEAD", Verb: state.Acknowledge, At: clickTime, Alert: a, OK: true},
			":eyes: <@U0SECLEAD> acknowledged this alert at 2024-05-01T12:34:56Z; nothing will be reverted."},
		// Only Slack user IDs become mentions.
		{"not an ID", FollowUp{Who: "<!here>", Verb: state.Acknowledge, Alert: a, OK: true},
			":eyes: &lt;!here&gt; acknowledged this alert; nothing will be reverted."},
		{"simulated", FollowUp{Who: "U0SECLEAD", Verb: state.Revert, Alert: a, OK: true, Simulated: true},
			":white_check_mark: <@U0SECLEAD> pressed *Revert now*: would deactivate access key `AKIAEXAMPLEKEY000001` of user `bob`. [simulated: the demo calls no AWS API]"},
	} {
		if got := tc.f.SlackText(); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
	c := FollowUp{Who: "U0SECLEAD", Verb: state.Revert, At: clickTime, Alert: a, OK: true}.ConsoleText()
	if c != "✔ @U0SECLEAD pressed Revert now at 2024-05-01T12:34:56Z: deactivated access key AKIAEXAMPLEKEY000001 of user bob." {
		t.Errorf("console follow-up %q", c)
	}
}

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
	a := pendingAlert()
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
	a.Thread.Status, a.Thread.By, a.Thread.Since = state.Acknowledged, "U0A", clickTime
	if err := client.Update(ctx, d, a); err != nil {
		t.Fatal(err)
	}
	if err := client.Reply(ctx, d, FollowUp{Who: "U0A", Verb: state.Acknowledge, Alert: a, OK: true}); err != nil {
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
	if err := client.Update(ctx, Delivery{Channel: "C0SECURITY", TS: "1.000000"}, a); err == nil {
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
	a := pendingAlert()
	d, err := c.Notify(context.Background(), a)
	if err != nil || d.TS != "1" {
		t.Fatalf("delivery %+v, %v", d, err)
	}
	a.Thread.Status, a.Thread.By = state.Reverted, "U0SECLEAD"
	if err := c.Update(context.Background(), d, a); err != nil {
		t.Fatal(err)
	}
	if err := c.Reply(context.Background(), d, FollowUp{Who: "U0SECLEAD", Verb: state.Revert, Alert: a, OK: true}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"│ buttons   [ Revert now ] [ Acknowledge ]", "↻ message 1 updated · status: Reverted by @U0SECLEAD · buttons [ Undo revert ]", "│ status    Awaiting approval", "╭─ HIGH", "↳ thread of message 1: ✔ @U0SECLEAD pressed Revert now: deactivated access key"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
}

package render

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/iam-watchdog/iam-watchdog/internal/alerttest"
	"github.com/iam-watchdog/iam-watchdog/pkg/alert"
)

func threadFixtures() map[string]alert.Alert {
	acked := alerttest.Pending()
	acked.Thread.Status, acked.Thread.By, acked.Thread.Since = alert.Acknowledged, "U0SECLEAD", alerttest.ClickTime
	return map[string]alert.Alert{"thread-pending": alerttest.Pending(), "thread-burst": alerttest.Burst(), "thread-acknowledged": acked}
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
				t.Fatalf("%v (run go test ./pkg/render/ -run TestThreadMessageGolden -update to create it)", err)
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
	key := alerttest.Planned().Finding.EventID + "#access-key-created"
	for _, tc := range []struct {
		status alert.Status
		kind   string
		want   []string
	}{
		{alert.Pending, "", []string{"revert", "acknowledge"}},
		{alert.Open, "", []string{"acknowledge"}},
		{alert.Reverted, "", []string{"undo"}},
		// Putting a policy back needs a power the Slack app's role does not have.
		{alert.Reverted, "detach_user_policy", nil},
		{alert.Reverting, "", nil},
		{alert.Acknowledged, "", nil},
		{alert.Undone, "", nil},
	} {
		a := alerttest.Planned()
		if tc.kind != "" {
			a.Finding.Action.Kind = tc.kind
		}
		a.Thread = &alert.Thread{Key: key, Status: tc.status}
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
	if got := buttonsOf(NewMessage(alerttest.Planned())); len(got) != 0 {
		t.Errorf("an alert without a thread has buttons %v", got)
	}
}

func TestBurstMessageCounts(t *testing.T) {
	msg := NewMessage(alerttest.Burst())
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
	a := alerttest.Pending()
	for _, tc := range []struct {
		name string
		f    FollowUp
		want string
	}{
		{"revert", FollowUp{Who: "U0SECLEAD", Verb: alert.Revert, At: alerttest.ClickTime, Alert: a, OK: true},
			":white_check_mark: <@U0SECLEAD> pressed *Revert now* at 2024-05-01T12:34:56Z: deactivated access key `AKIAEXAMPLEKEY000001` of user `bob`."},
		{"revert failed", FollowUp{Who: "U0SECLEAD", Verb: alert.Revert, At: alerttest.ClickTime, Alert: a, Detail: "AccessDenied <!channel>"},
			":x: <@U0SECLEAD> pressed *Revert now* at 2024-05-01T12:34:56Z: could not deactivate access key `AKIAEXAMPLEKEY000001` of user `bob`: AccessDenied &lt;!channel&gt;. The alert still awaits approval."},
		{"undo burst", FollowUp{Who: "W0GRID", Verb: alert.Undo, At: alerttest.ClickTime, Alert: a, OK: true, Done: 49, Failed: 1},
			":leftwards_arrow_with_hook: <@W0GRID> pressed *Undo revert* at 2024-05-01T12:34:56Z: re-activated access key `AKIAEXAMPLEKEY000001` of user `bob` (49 of 50 findings; 1 failed)."},
		{"acknowledge pending", FollowUp{Who: "U0SECLEAD", Verb: alert.Acknowledge, At: alerttest.ClickTime, Alert: a, OK: true},
			":eyes: <@U0SECLEAD> acknowledged this alert at 2024-05-01T12:34:56Z; nothing will be reverted."},
		// Only Slack user IDs become mentions.
		{"not an ID", FollowUp{Who: "<!here>", Verb: alert.Acknowledge, Alert: a, OK: true},
			":eyes: &lt;!here&gt; acknowledged this alert; nothing will be reverted."},
	} {
		if got := tc.f.SlackText(); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
	c := FollowUp{Who: "U0SECLEAD", Verb: alert.Revert, At: alerttest.ClickTime, Alert: a, OK: true}.ConsoleText()
	if c != "✔ @U0SECLEAD pressed Revert now at 2024-05-01T12:34:56Z: deactivated access key AKIAEXAMPLEKEY000001 of user bob." {
		t.Errorf("console follow-up %q", c)
	}
}

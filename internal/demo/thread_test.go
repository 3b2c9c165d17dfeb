package demo

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/iam-watchdog/iam-watchdog/internal/alerttest"
	"github.com/iam-watchdog/iam-watchdog/pkg/alert"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/notify"
	"github.com/iam-watchdog/iam-watchdog/pkg/remediate"
	"github.com/iam-watchdog/iam-watchdog/pkg/render"
)

// TestThreadLinesSayWould: the demo's Slack draws a revert or undo that went through as what
// would have been done, and says it was simulated; anything else reads as it does elsewhere.
func TestThreadLinesSayWould(t *testing.T) {
	a := alerttest.Pending()
	at := alerttest.ClickTime
	d := alert.Delivery{Channel: "terminal", TS: "1"}
	for _, tc := range []struct {
		name string
		f    render.FollowUp
		want string
	}{
		{"revert", render.FollowUp{Who: approver, Verb: alert.Revert, At: at, Alert: a, OK: true},
			"✔ @U0SECLEAD pressed Revert now at 2024-05-01T12:34:56Z: would deactivate access key AKIAEXAMPLEKEY000001 of user bob. [simulated: the demo calls no AWS API]"},
		{"revert, no time", render.FollowUp{Who: approver, Verb: alert.Revert, Alert: a, OK: true},
			"✔ @U0SECLEAD pressed Revert now: would deactivate access key AKIAEXAMPLEKEY000001 of user bob. [simulated: the demo calls no AWS API]"},
		{"undo", render.FollowUp{Who: approver, Verb: alert.Undo, At: at, Alert: a, OK: true},
			"↩ @U0SECLEAD pressed Undo revert at 2024-05-01T12:34:56Z: would re-activate access key AKIAEXAMPLEKEY000001 of user bob. [simulated: the demo calls no AWS API]"},
		{"acknowledge", render.FollowUp{Who: approver, Verb: alert.Acknowledge, At: at, Alert: a, OK: true},
			"👀 @U0SECLEAD acknowledged this alert at 2024-05-01T12:34:56Z; nothing will be reverted."},
		{"failed revert", render.FollowUp{Who: approver, Verb: alert.Revert, At: at, Alert: a, Detail: "AccessDenied"},
			"✘ @U0SECLEAD pressed Revert now at 2024-05-01T12:34:56Z: could not deactivate access key AKIAEXAMPLEKEY000001 of user bob: AccessDenied. The alert still awaits approval."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			slack := terminalSlack{ConsoleThread: notify.NewConsoleThread(&buf), w: &buf}
			if err := slack.Reply(context.Background(), d, tc.f); err != nil {
				t.Fatal(err)
			}
			if want := "  ↳ thread of message 1: " + tc.want + "\n"; buf.String() != want {
				t.Errorf("\n got %q\nwant %q", buf.String(), want)
			}
		})
	}
}

// TestDescriberChangesNothing: the demo's remediator describes as the real one does, plans from
// the action alone, and acts on nothing: it has no AWS clients to act with.
func TestDescriberChangesNothing(t *testing.T) {
	rem := &remediate.Remediator{}
	d := describer{rem}
	act := detect.Action{Kind: detect.DeactivateAccessKey, UserName: "bob", AccessKeyID: "AKIAEXAMPLEKEY000001"}
	if got := d.Describe(act); got != "simulated: "+rem.Describe(act) || !strings.Contains(got, "AKIAEXAMPLEKEY000001") {
		t.Errorf("Describe = %q", got)
	}
	u, err := d.Plan(context.Background(), act)
	if err != nil || u.Action != act.Kind || u.UserName != "bob" || u.AccessKeyID != act.AccessKeyID {
		t.Fatalf("Plan = %+v, %v", u, err)
	}
	if err := d.Do(context.Background(), u); err != nil {
		t.Errorf("Do: %v", err)
	}
	if err := d.Revert(context.Background(), u); err != nil {
		t.Errorf("Revert: %v", err)
	}
	// The real remediator, without clients, could not have done either.
	if err := rem.Do(context.Background(), u); err == nil {
		t.Error("the real remediator without AWS clients acted: the demo's could be calling AWS")
	}
}

package watchdog_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/iam-watchdog/iam-watchdog/internal/watchdogtest"
	"github.com/iam-watchdog/iam-watchdog/pkg/alert"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/policy"
	"github.com/iam-watchdog/iam-watchdog/pkg/remediate"
	"github.com/iam-watchdog/iam-watchdog/pkg/state"
)

// A call whose every answer was lost after AWS may have acted (remediate.ErrMayHaveActed) is
// failed, but its undo record is kept and the undo command named: the change may be in place.
func TestAnswerLostKeepsTheUndoRecord(t *testing.T) {
	const eventID = "9d1a3b52-0013-4c1e-8f00-000000000009"
	var applied watchdogtest.Calls[detect.Action]
	var alerts watchdogtest.Calls[alert.Alert]
	store := watchdogtest.OpenStore(t)
	lost := func(detect.Action) (remediate.Undo, error) {
		return remediate.Undo{}, fmt.Errorf("set access key: %w: 500 ServiceFailure", remediate.ErrMayHaveActed)
	}
	p := watchdogtest.Pipeline(policy.Auto, watchdogtest.Applying(&applied, lost), store, watchdogtest.Delivering(&alerts, watchdogtest.SlackMessage, nil))
	r, err := handleOne(t, p, watchdogtest.CreateAccessKey(eventID, watchdogtest.Alice))
	if err != nil {
		t.Fatalf("a remediation error must not fail the record: %v", err)
	}
	if o := r.Remediation; o == nil || o.Status != remediate.Failed || o.Undo != remediate.UndoCommand(eventID) || !strings.Contains(o.Reason, "undo record is kept") {
		t.Fatalf("outcome %+v: want failed, saying the undo record is kept, with the undo command", o)
	}
	e := watchdogtest.Entry(t, store, eventID)
	if e.Stage != state.Alerted || !strings.Contains(watchdogtest.UndoText(t, e), watchdogtest.NewKeyID) {
		t.Fatalf("store entry %+v, undo %q: want alerted, keeping the plan", e, watchdogtest.UndoText(t, e))
	}
}

// reverter records what UndoEvent reverses, without AWS.
type reverter struct{ reverted []remediate.Undo }

func (r *reverter) Revert(_ context.Context, u remediate.Undo) error {
	r.reverted = append(r.reverted, u)
	return nil
}

const undoer = "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Admin_0123456789abcdef/oncall@example.com"

// identity is a CloudTrail userIdentity whose arn is arn.
func identity(arn string) string {
	return fmt.Sprintf(`{"type": "AssumedRole", "principalId": "AROA5UNDOEREXAMPLE01:x", "arn": %q, "accountId": "123456789012"}`, arn)
}

// at is a record made at t instead of the example's time.
func at(record string, t time.Time) string {
	return strings.Replace(record, "2024-05-02T09:03:51Z", t.UTC().Format(time.RFC3339), 1)
}

// TestUndoIsNotFought: `watchdog undo` records an undo marker before its call, and the pipeline
// does not revert the change that call makes — only when it is made by the identity the marker
// names, within the grace period, re-applying exactly the target that the record the marker
// names shows the watchdog reverted. Anything else is reverted as usual (issue 13, point 3): the
// marker is written by people who run undo and vouches for nothing on its own.
func TestUndoIsNotFought(t *testing.T) {
	otherKey := strings.Replace(watchdogtest.NewKeyID, "NEWKEY", "OTHRKY", 1)
	tests := []struct {
		name   string
		actor  string
		after  time.Duration // the re-applying event's time after the undo
		record func(r string) string
		grace  string // undo_grace, "" for the default
		forge  func(t *testing.T, s state.Store, undoneKey string)
		// reverted says the change is reverted as usual; else it is reported, not reverted.
		reverted bool
	}{
		{name: "the undo's own change", actor: undoer},
		{name: "the undo's own change, CloudTrail's clock a little behind", actor: undoer, after: -2 * time.Minute},
		{name: "near the end of the grace period", actor: undoer, after: 14 * time.Minute},
		{name: "after the grace period", actor: undoer, after: 16 * time.Minute, reverted: true},
		{name: "well before the undo", actor: undoer, after: -10 * time.Minute, reverted: true},
		{name: "another actor", actor: "arn:aws:iam::123456789012:user/alice", reverted: true},
		{name: "another session of the undoer's role", actor: strings.Replace(undoer, "oncall@", "intruder@", 1), reverted: true},
		{name: "another target", actor: undoer, record: func(r string) string { return strings.Replace(r, watchdogtest.NewKeyID, otherKey, 1) }, reverted: true},
		{name: "grace period off", actor: undoer, grace: "undo_grace: 0s\n", reverted: true},
		{name: "shorter grace period", actor: undoer, after: 3 * time.Minute, grace: "undo_grace: 2m\n", reverted: true},
		{
			name: "forged marker naming a record of no action", actor: undoer, reverted: true,
			forge: func(t *testing.T, s state.Store, undoneKey string) {
				writeMarker(t, s, markerKey(), alert.UndoMarker{StateKey: alert.Key("no-such-event", watchdogtest.KeyRule), Undoer: undoer, At: time.Now()})
			},
		},
		{
			name: "forged marker naming a flood index", actor: undoer, reverted: true,
			forge: func(t *testing.T, s state.Store, undoneKey string) {
				writeMarker(t, s, markerKey(), alert.UndoMarker{StateKey: alert.FloodKey(watchdogtest.KeyRule, undoer), Undoer: undoer, At: time.Now()})
			},
		},
		{
			name: "forged marker dated in the future", actor: undoer, reverted: true, after: 0,
			forge: func(t *testing.T, s state.Store, undoneKey string) {
				writeMarker(t, s, markerKey(), alert.UndoMarker{StateKey: undoneKey, Undoer: undoer, At: time.Now().Add(2 * time.Hour)})
			},
		},
		{
			name: "unreadable marker", actor: undoer, reverted: true,
			forge: func(t *testing.T, s state.Store, undoneKey string) {
				if _, err := s.Update(context.Background(), markerKey(), func(e *state.Entry) error {
					e.Body = json.RawMessage(`{"state_key": 7}`)
					return nil
				}); err != nil {
					t.Fatal(err)
				}
			},
		},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var applied watchdogtest.Calls[detect.Action]
			var alerts watchdogtest.Calls[alert.Alert]
			store := watchdogtest.OpenStore(t)
			p := watchdogtest.Pipeline(policy.Auto, watchdogtest.Applying(&applied, watchdogtest.Reverted), store, watchdogtest.Delivering(&alerts, watchdogtest.SlackMessage, nil))
			if tc.grace != "" {
				cfg, err := policy.Parse([]byte(tc.grace))
				if err != nil {
					t.Fatal(err)
				}
				p.Config.UndoGrace = cfg.UndoGrace
			}
			// alice creates a key for bob; the watchdog deactivates it; the on-call undoes that.
			original := fmt.Sprintf("9d1a3b52-0013-4c1e-8f00-%012d", 2*i)
			if r, err := handleOne(t, p, watchdogtest.CreateAccessKey(original, watchdogtest.Alice)); err != nil || r.Remediation.Status != remediate.Done {
				t.Fatalf("original: %+v, %v", r.Remediation, err)
			}
			var rev reverter
			found, err := alert.UndoEvent(context.Background(), alert.Records{Store: store}, &rev, original, undoer, io.Discard)
			if err != nil || !found || len(rev.reverted) != 1 {
				t.Fatalf("undo: found %v, %d reverted, %v", found, len(rev.reverted), err)
			}
			if tc.forge != nil {
				tc.forge(t, store, alert.Key(original, watchdogtest.KeyRule))
			}

			record := at(watchdogtest.CreateAccessKey(fmt.Sprintf("9d1a3b52-0013-4c1e-8f00-%012d", 2*i+1), identity(tc.actor)), time.Now().Add(tc.after))
			if tc.record != nil {
				record = tc.record(record)
			}
			r, err := handleOne(t, p, record)
			if err != nil {
				t.Fatal(err)
			}
			o := r.Remediation
			if !r.Alerted || o == nil {
				t.Fatalf("result %+v: every change is alerted", r)
			}
			if tc.reverted {
				if o.Status != remediate.Done || len(watchdogtest.KeyActions(&applied)) != 2 {
					t.Fatalf("outcome %+v, %d actions: want it reverted as usual", o, len(watchdogtest.KeyActions(&applied)))
				}
				return
			}
			if o.Status != remediate.Skipped || !strings.HasPrefix(o.Reason, "re-applies what `watchdog undo` put back at ") || !strings.HasSuffix(o.Reason, "; not reverted") {
				t.Fatalf("outcome %+v: want skipped, re-applying what watchdog undo put back", o)
			}
			if n := len(watchdogtest.KeyActions(&applied)); n != 1 {
				t.Fatalf("%d actions: the undo's own change was reverted", n)
			}
		})
	}
}

func markerKey() string {
	return alert.MarkerKey(detect.DeactivateAccessKey, watchdogtest.Account, "bob", watchdogtest.NewKeyID, "", "")
}

func writeMarker(t *testing.T, s state.Store, key string, m alert.UndoMarker) {
	t.Helper()
	body, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update(context.Background(), key, func(e *state.Entry) error { e.Body = body; return nil }); err != nil {
		t.Fatal(err)
	}
}

// UndoEvent records its marker under the target's key, naming the record, the undoer and the
// time, and answers a second undo from it.
func TestUndoEventMarker(t *testing.T) {
	const eventID = "9d1a3b52-0013-4c1e-8f00-0000000000ff"
	var applied watchdogtest.Calls[detect.Action]
	store := watchdogtest.OpenStore(t)
	p := watchdogtest.Pipeline(policy.Auto, watchdogtest.Applying(&applied, watchdogtest.Reverted), store, nil)
	if _, err := handleOne(t, p, watchdogtest.CreateAccessKey(eventID, watchdogtest.Alice)); err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	var rev reverter
	var out strings.Builder
	if _, err := alert.UndoEvent(context.Background(), alert.Records{Store: store}, &rev, eventID, undoer, &out); err != nil {
		t.Fatal(err)
	}
	key := "undo#deactivate_access_key#123456789012#bob#" + watchdogtest.NewKeyID
	if markerKey() != key {
		t.Fatalf("marker key %q, want %q", markerKey(), key)
	}
	e, err := store.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("no marker at %s: %v", key, err)
	}
	var m alert.UndoMarker
	if err := json.Unmarshal(e.Body, &m); err != nil {
		t.Fatal(err)
	}
	if m.StateKey != alert.Key(eventID, watchdogtest.KeyRule) || m.Undoer != undoer || m.At.Before(before) || m.UndoneAt.Before(m.At) {
		t.Fatalf("marker %+v", m)
	}
	if e := watchdogtest.Entry(t, store, eventID); !e.UndoneAt.IsZero() {
		t.Errorf("the alert record was written (undone_at %s): undo principals may write undo markers only", e.UndoneAt)
	}
	out.Reset()
	if _, err := alert.UndoEvent(context.Background(), alert.Records{Store: store}, &rev, eventID, undoer, &out); err != nil {
		t.Fatal(err)
	}
	if len(rev.reverted) != 1 || !strings.Contains(out.String(), "already undone at "+m.UndoneAt.UTC().Format(time.RFC3339)) {
		t.Fatalf("second undo: %d reverts, said %q; want it answered from the marker", len(rev.reverted), out.String())
	}
}

package alert

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestTransitions(t *testing.T) {
	t0 := time.Date(2024, 5, 2, 9, 0, 0, 0, time.UTC)
	lease := 2 * time.Minute
	for _, tc := range []struct {
		name   string
		from   Status
		verb   Verb
		at     time.Time // when the verb is pressed; the status was set at t0
		want   Status    // after Begin
		refuse bool
	}{
		{"revert a pending alert", Pending, Revert, t0, Reverting, false},
		{"revert twice", Reverting, Revert, t0.Add(time.Second), Reverting, true},
		{"revert after a crashed revert", Reverting, Revert, t0.Add(lease + time.Second), Reverting, false},
		{"revert a reverted alert", Reverted, Revert, t0, Reverted, true},
		{"revert an open alert (dry run)", Open, Revert, t0, Open, true},
		{"undo a reverted alert", Reverted, Undo, t0, Undoing, false},
		{"undo a pending alert", Pending, Undo, t0, Pending, true},
		{"undo twice", Undone, Undo, t0, Undone, true},
		{"acknowledge an open alert", Open, Acknowledge, t0, Acknowledged, false},
		{"acknowledge a pending alert", Pending, Acknowledge, t0, Acknowledged, false},
		{"acknowledge twice", Acknowledged, Acknowledge, t0, Acknowledged, true},
		{"acknowledge a reverted alert", Reverted, Acknowledge, t0, Reverted, true},
		{"act before the alert is out", "", Revert, t0, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := Record{}
			e.SetStatus(tc.from, "U0FIRST", t0)
			err := e.Begin(tc.verb, "U0SECOND", tc.at, lease)
			var r *Refusal
			if tc.refuse != errors.As(err, &r) {
				t.Fatalf("Begin: %v, want refusal %t", err, tc.refuse)
			}
			if e.Status != tc.want {
				t.Fatalf("status %q, want %q", e.Status, tc.want)
			}
			if tc.refuse {
				if len(e.Events) != 0 || e.StatusBy != "U0FIRST" {
					t.Errorf("a refusal changed the entry: %+v", e)
				}
				if tc.from != "" && !strings.Contains(err.Error(), "U0FIRST at 2024-05-02T09:00:00Z") {
					t.Errorf("refusal %q does not say who and when", err)
				}
				return
			}
			if len(e.Events) != 1 || e.Events[0] != (Event{Who: "U0SECOND", What: string(tc.verb), At: tc.at}) {
				t.Errorf("events %+v", e.Events)
			}
		})
	}
}

func TestFinish(t *testing.T) {
	t0 := time.Date(2024, 5, 2, 9, 0, 0, 0, time.UTC)
	e := Record{}
	e.SetStatus(Pending, "watchdog", t0)
	if err := e.Begin(Revert, "U0A", t0, time.Minute); err != nil {
		t.Fatal(err)
	}
	e.Finish(Revert, "U0A", t0.Add(time.Second), false, "access denied")
	if e.Status != Pending || e.Events[1].What != "revert_failed" || e.Events[1].Detail != "access denied" {
		t.Fatalf("after a failed revert: %+v", e)
	}
	if err := e.Begin(Revert, "U0B", t0.Add(2*time.Second), time.Minute); err != nil {
		t.Fatalf("a failed revert must be retryable: %v", err)
	}
	e.Finish(Revert, "U0B", t0.Add(3*time.Second), true, "deactivated")
	if e.Status != Reverted || e.StatusBy != "U0B" || len(e.Events) != 4 {
		t.Fatalf("after a revert: %+v", e)
	}
}

func TestGroupJoinCountsOnce(t *testing.T) {
	var g Group
	if !g.Join("a#r", "user/bob", "done") || g.Join("a#r", "user/bob", "done") {
		t.Fatal("a finding joined twice, or not at all")
	}
	g.Join("b#r", "user/bob", "failed")
	if g.Count() != 3 || len(g.Targets) != 1 || g.Outcomes["done"] != 1 || g.Outcomes["failed"] != 1 {
		t.Fatalf("group %+v count %d", g, g.Count())
	}
}

package alert

import (
	"fmt"
	"slices"
	"time"

	"github.com/iam-watchdog/iam-watchdog/pkg/remediate"
)

// Status is where an alert stands for the people who read it in Slack.
//
//	open ──acknowledge──▶ acknowledged
//	pending ──acknowledge──▶ acknowledged            (approve mode: declined, nothing reverted)
//	pending ──revert──▶ reverting ──▶ reverted       (or back to pending when it failed)
//	reverted ──undo──▶ undoing ──▶ undone            (or back to reverted when it failed)
//
// An alert starts open, pending (approve mode) or reverted (auto mode acted). Reverting and
// undoing hold the alert while the remediation runs, so that a second click, or Slack
// delivering the first one again, does nothing; one left behind by a crashed invocation may
// be started again after a lease.
type Status string

// Statuses.
const (
	Open         Status = "open"
	Pending      Status = "pending"
	Reverting    Status = "reverting"
	Reverted     Status = "reverted"
	Undoing      Status = "undoing"
	Undone       Status = "undone"
	Acknowledged Status = "acknowledged"
)

// Verb is what a person asks of an alert.
type Verb string

// Verbs, one per button.
const (
	Revert      Verb = "revert"
	Undo        Verb = "undo"
	Acknowledge Verb = "acknowledge"
)

// ParseVerb reads a verb name (a button's action ID).
func ParseVerb(s string) (Verb, error) {
	switch v := Verb(s); v {
	case Revert, Undo, Acknowledge:
		return v, nil
	}
	return "", fmt.Errorf("unknown action %q", s)
}

// transition says which statuses a verb starts from, the status that holds the alert while the
// verb runs (none for a verb that does nothing outside the store), and where it ends.
type transition struct {
	from    []Status
	running Status
	done    Status
}

var transitions = map[Verb]transition{
	Revert:      {from: []Status{Pending}, running: Reverting, done: Reverted},
	Undo:        {from: []Status{Reverted}, running: Undoing, done: Undone},
	Acknowledge: {from: []Status{Open, Pending}, done: Acknowledged},
}

// Allows reports whether verb may start from status s.
func (s Status) Allows(v Verb) bool {
	return slices.Contains(transitions[v].from, s)
}

// Event is one thing that happened to an alert: who (a Slack user ID, or "watchdog") did what
// (a verb, or its result) and when, with a line of detail.
type Event struct {
	Who    string    `json:"who"`
	What   string    `json:"what"`
	At     time.Time `json:"at"`
	Detail string    `json:"detail,omitempty"`
}

// Refusal is why a verb cannot start: the alert is not in a status the verb starts from, and
// who put it where it is. A repeated click or a redelivered Slack request ends here.
type Refusal struct {
	Verb   Verb
	Status Status
	By     string
	Since  time.Time
}

func (r *Refusal) Error() string {
	s := fmt.Sprintf("cannot %s: the alert is %s", r.Verb, r.Status)
	if r.Status == "" {
		s = fmt.Sprintf("cannot %s: the alert has no status yet", r.Verb)
	}
	if r.By != "" {
		s += " (by " + r.By
		if !r.Since.IsZero() {
			s += " at " + r.Since.UTC().Format(time.RFC3339)
		}
		s += ")"
	}
	return s
}

// SetStatus moves the alert to s on behalf of who.
func (r *Record) SetStatus(s Status, who string, at time.Time) {
	r.Status, r.StatusBy, r.StatusSince = s, who, at
}

// Begin starts verb for who at now, as a change for Records.Update. A verb with work outside the
// store (revert, undo) moves the alert to its running status, which Finish ends; acknowledge
// is done at once. An alert held by a running verb whose lease has run out (the invocation
// running it died) may be started again by the same verb. Otherwise Begin returns a *Refusal
// and changes nothing.
func (r *Record) Begin(v Verb, who string, now time.Time, lease time.Duration) error {
	t, ok := transitions[v]
	if !ok {
		return fmt.Errorf("unknown action %q", v)
	}
	stale := t.running != "" && r.Status == t.running && now.Sub(r.StatusSince) > lease
	if !r.Status.Allows(v) && !stale {
		return &Refusal{Verb: v, Status: r.Status, By: r.StatusBy, Since: r.StatusSince}
	}
	r.Events = append(r.Events, Event{Who: who, What: string(v), At: now})
	if t.running == "" {
		r.SetStatus(t.done, who, now)
		return nil
	}
	r.SetStatus(t.running, who, now)
	return nil
}

// Finish ends verb, begun by who: the alert moves to the verb's end status when it succeeded
// and back to where it started when it failed. detail says what happened, for the record.
func (r *Record) Finish(v Verb, who string, now time.Time, ok bool, detail string) {
	t := transitions[v]
	if ok {
		r.SetStatus(t.done, who, now)
		r.Events = append(r.Events, Event{Who: who, What: string(t.done), At: now, Detail: detail})
		return
	}
	r.SetStatus(t.from[0], who, now)
	r.Events = append(r.Events, Event{Who: who, What: string(v) + "_failed", At: now, Detail: detail})
}

// InitialStatus is where an alert starts: reverted when auto mode acted, pending when it waits
// for approval, open otherwise.
func InitialStatus(o *remediate.Outcome) Status {
	switch {
	case o == nil:
		return Open
	case o.Status == remediate.Done:
		return Reverted
	case o.Status == remediate.Pending:
		return Pending
	}
	return Open
}

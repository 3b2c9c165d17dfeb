package state

import (
	"fmt"
	"maps"
	"slices"
	"time"
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
func (e *Entry) SetStatus(s Status, who string, at time.Time) {
	e.Status, e.StatusBy, e.StatusSince = s, who, at
}

// Begin starts verb for who at now, as a change for Store.Update. A verb with work outside the
// store (revert, undo) moves the alert to its running status, which Finish ends; acknowledge
// is done at once. An alert held by a running verb whose lease has run out (the invocation
// running it died) may be started again by the same verb. Otherwise Begin returns a *Refusal
// and changes nothing.
func (e *Entry) Begin(v Verb, who string, now time.Time, lease time.Duration) error {
	t, ok := transitions[v]
	if !ok {
		return fmt.Errorf("unknown action %q", v)
	}
	stale := t.running != "" && e.Status == t.running && now.Sub(e.StatusSince) > lease
	if !e.Status.Allows(v) && !stale {
		return &Refusal{Verb: v, Status: e.Status, By: e.StatusBy, Since: e.StatusSince}
	}
	e.Events = append(e.Events, Event{Who: who, What: string(v), At: now})
	if t.running == "" {
		e.SetStatus(t.done, who, now)
		return nil
	}
	e.SetStatus(t.running, who, now)
	return nil
}

// Finish ends verb, begun by who: the alert moves to the verb's end status when it succeeded
// and back to where it started when it failed. detail says what happened, for the record.
func (e *Entry) Finish(v Verb, who string, now time.Time, ok bool, detail string) {
	t := transitions[v]
	if ok {
		e.SetStatus(t.done, who, now)
		e.Events = append(e.Events, Event{Who: who, What: string(t.done), At: now, Detail: detail})
		return
	}
	e.SetStatus(t.from[0], who, now)
	e.Events = append(e.Events, Event{Who: who, What: string(v) + "_failed", At: now, Detail: detail})
}

// Group is a burst of findings with the same rule and actor gathered into one Slack message.
// It lives on the entry of the finding that posted the message (the leader), which is not
// among Members.
type Group struct {
	// Members are the state keys of the other findings, in the order they joined.
	Members []string `json:"members"`
	// Targets are the distinct targets of the whole group, the leader's first.
	Targets []string `json:"targets"`
	// Outcomes counts the group's remediation outcomes by status (remediate.Status), the
	// leader's included; "none" counts findings with no remediation.
	Outcomes map[string]int `json:"outcomes,omitempty"`
}

// MaxGroup bounds a group, so that its entry stays far below DynamoDB's 400 KB item limit; a
// burst beyond it starts a second message.
const MaxGroup = 1000

// Count is how many findings the group holds, the leader's included.
func (g *Group) Count() int {
	if g == nil {
		return 1
	}
	return 1 + len(g.Members)
}

// Join adds a finding to the group and reports whether it was new: a finding handled again
// (Lambda retried its invocation) is counted once.
func (g *Group) Join(key, target, outcome string) bool {
	if slices.Contains(g.Members, key) {
		return false
	}
	g.Members = append(g.Members, key)
	if target != "" && !slices.Contains(g.Targets, target) {
		g.Targets = append(g.Targets, target)
	}
	if g.Outcomes == nil {
		g.Outcomes = map[string]int{}
	}
	g.Outcomes[outcome]++
	return true
}

// FloodKey is the store key of the flood index of a rule and actor: which finding's message
// gathers their current burst.
func FloodKey(rule, actorARN string) string { return "flood#" + rule + "#" + actorARN }

// clone copies the entry deeply enough that a change to the copy's slices, maps and group
// leaves the original as it was.
func (e Entry) clone() Entry {
	e.Events = slices.Clone(e.Events)
	if e.Group != nil {
		g := *e.Group
		g.Members, g.Targets = slices.Clone(g.Members), slices.Clone(g.Targets)
		g.Outcomes = maps.Clone(g.Outcomes)
		e.Group = &g
	}
	return e
}

// RefreshLease is how long an invocation may hold the job of updating a message before another
// may take it over; it outlasts one invocation's Slack calls.
const RefreshLease = 30 * time.Second

// MarkDirty records, in the same write as a change, that the entry's Slack message must be
// updated, and makes owner the one to do it unless another invocation holds that job. It
// reports whether owner holds it: the others leave at once, and the holder's next round shows
// their change. One message thus gets one chat.update per round however many findings join it,
// instead of one (or more) per finding.
func (e *Entry) MarkDirty(owner string, now time.Time) bool {
	e.Dirty = true
	if e.Refresher == "" || e.Refresher == owner || now.After(e.RefresherUntil) {
		e.Refresher, e.RefresherUntil = owner, now.Add(RefreshLease)
	}
	return e.Refresher == owner
}

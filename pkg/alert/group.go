package alert

import (
	"errors"
	"slices"
	"time"

	"github.com/iam-watchdog/iam-watchdog/pkg/remediate"
)

// Flood control: the findings of one rule by one actor within the flood window share one Slack
// message. The first posts it (the leader); the others join the leader's record (count, targets,
// outcomes), which updates the message. The flood index record FloodKey(rule, actor) names the
// current leader. Every finding is still decided, remediated and recorded on its own; only the
// message is shared. The pipeline (pkg/watchdog) drives the burst; the changes are here.

// Group is a burst of findings with the same rule and actor gathered into one Slack message.
// It lives on the record of the finding that posted the message (the leader), which is not
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

// MaxGroup bounds a group, so that its record stays far below DynamoDB's 400 KB item limit; a
// burst beyond it starts a second message.
const MaxGroup = 1000

// ErrBurstClosed refuses a finding joining a burst: people have acted on its message, the
// message is not posted yet, or it is full.
var ErrBurstClosed = errors.New("the burst's message takes no more findings")

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

// Tally moves the group's outcome counts to what a revert or undo of the whole burst did:
// a revert turns pending findings into done, failed or skipped ones; an undo turns done ones
// into undone.
func (g *Group) Tally(v Verb, done, failed, skipped int) {
	if g.Outcomes == nil {
		g.Outcomes = map[string]int{}
	}
	move := func(from, to string, n int) {
		if n == 0 {
			return
		}
		g.Outcomes[from] -= n
		if g.Outcomes[from] <= 0 {
			delete(g.Outcomes, from)
		}
		g.Outcomes[to] += n
	}
	if v == Revert {
		move(string(remediate.Pending), string(remediate.Done), done)
		move(string(remediate.Pending), string(remediate.Failed), failed)
		move(string(remediate.Pending), string(remediate.Skipped), skipped)
		return
	}
	move(string(remediate.Done), "undone", done)
}

// OutcomeName is how a finding's remediation is counted in a burst.
func OutcomeName(o *remediate.Outcome) string {
	if o == nil {
		return "none"
	}
	return string(o.Status)
}

// Lead makes key the leader of a new burst on the flood index record e, held for owner until
// now+lease while it posts, its window closing at now+window.
func (e *Entry) Lead(key, owner string, now time.Time, lease, window time.Duration) {
	e.Leader, e.Channel, e.TS = key, "", ""
	e.Owner, e.LeaseUntil, e.WindowEnds = owner, now.Add(lease), now.Add(window)
	e.ExpiresAt = now.Add(window + 24*time.Hour)
}

// Posted records the leader's message on its own record and starts its burst with the leader's
// target and outcome, unless a burst started already (an earlier try got this far).
func (r *Record) Posted(d Delivery, target, outcome string) {
	r.SetMessage(d)
	if r.Group == nil {
		r.Group = &Group{Outcomes: map[string]int{outcome: 1}}
		if target != "" {
			r.Group.Targets = []string{target}
		}
	}
}

// SetMessage records where the alert's message is.
func (r *Record) SetMessage(d Delivery) { r.Channel, r.TS = d.Channel, d.TS }

// Message is where the alert's message is; empty until it is posted.
func (r *Record) Message() Delivery { return Delivery{Channel: r.Channel, TS: r.TS} }

// JoinBurst adds the finding key to the burst this leader's record gathers and reports whether
// it was new. A finding that joined on an earlier try is not counted again. A burst whose
// message people have acted on, that is not posted yet, or that is full refuses new findings
// with ErrBurstClosed.
func (r *Record) JoinBurst(key, target, outcome string) (bool, error) {
	if r.Group == nil {
		r.Group = &Group{}
	}
	if slices.Contains(r.Group.Members, key) {
		return false, nil
	}
	if len(r.Events) > 0 || r.Group.Count() >= MaxGroup || r.TS == "" {
		return false, ErrBurstClosed
	}
	return r.Group.Join(key, target, outcome), nil
}

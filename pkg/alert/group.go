package alert

import (
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/iam-watchdog/iam-watchdog/pkg/cloudtrail"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
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
	// Events lists the group's events as the message shows them, in the order they came: the
	// earlier events of a threshold's window (Before), the leader's, then the members in the
	// order they joined, up to MaxListed; the message counts the rest.
	Events []Member `json:"events,omitempty"`
	// Before counts the findings of a threshold's window before the one that reached the
	// count: they went to the digest and are not members, but the message counts them.
	Before int `json:"before,omitempty"`
	// Threshold is the limit a threshold message was posted for ("10 in 5m"), empty for a
	// burst of flood control.
	Threshold string `json:"threshold,omitempty"`
}

// MaxListed bounds the events a message lists one by one; it says how many more there are and
// links to the rest in CloudTrail's Event history.
const MaxListed = 20

// Member is one event of a group as its message lists it: the event (linked to CloudTrail),
// when, from where, how severe, and what sets it apart from the others: the call, whether it
// succeeded, whether MFA was used, and what it changed.
type Member struct {
	EventID  string          `json:"event_id"`
	Region   string          `json:"region,omitempty"`
	Time     time.Time       `json:"time,omitzero"`
	SourceIP string          `json:"source_ip,omitempty"`
	Severity detect.Severity `json:"severity"`
	Call     string          `json:"call,omitempty"`
	// Outcome is "success", "failure", "outcome unknown" for a sign-in, "failed (CODE)" for
	// another call that failed, and empty for one that succeeded.
	Outcome string `json:"outcome,omitempty"`
	// MFA is "MFA" or "no MFA": for a sign-in, whether MFA was used; for a call in a session,
	// whether the session was MFA-authenticated; empty when the record does not say.
	MFA    string `json:"mfa,omitempty"`
	Target string `json:"target,omitempty"`
}

// NewMember is the finding as a group lists it.
func NewMember(f detect.Finding) Member {
	m := Member{EventID: f.EventID, Region: f.Region, Time: f.EventTime, SourceIP: f.Actor.SourceIP,
		Severity: f.Severity, Call: f.EventName, Target: memberTarget(f)}
	rec := f.Record
	if rec == nil {
		return m
	}
	if rec.EventName == "ConsoleLogin" {
		m.Outcome, m.MFA = signin(rec)
		return m
	}
	if rec.ErrorCode != "" {
		m.Outcome = "failed (" + rec.ErrorCode + ")"
	}
	if sc := rec.UserIdentity.SessionContext; sc != nil {
		switch sc.Attributes.MFAAuthenticated {
		case "true":
			m.MFA = "MFA"
		case "false":
			m.MFA = "no MFA"
		}
	}
	return m
}

// signin reads a console sign-in's result and whether MFA was used: the result from errorMessage
// or responseElements.ConsoleLogin, MFA from additionalEventData.MFAUsed.
// Reference: https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-aws-console-sign-in-events.html
func signin(rec *cloudtrail.Record) (outcome, mfa string) {
	var resp struct {
		ConsoleLogin string `json:"ConsoleLogin"`
	}
	var add struct {
		MFAUsed string `json:"MFAUsed"`
	}
	_ = rec.Response(&resp)
	_ = rec.Additional(&add)
	switch {
	case rec.ErrorCode != "" || rec.ErrorMessage != "" || resp.ConsoleLogin == "Failure":
		outcome = "failure"
	case resp.ConsoleLogin == "Success":
		outcome = "success"
	default:
		outcome = "outcome unknown"
	}
	switch add.MFAUsed {
	case "Yes":
		mfa = "MFA"
	case "No":
		mfa = "no MFA"
	}
	return outcome, mfa
}

// memberTarget is what the finding changed, with the policy or key its action names: two inline
// policies put on one user differ only there.
func memberTarget(f detect.Finding) string {
	var parts []string
	if f.Target != "" {
		parts = append(parts, f.Target)
	}
	switch a := f.Action; {
	case a.PolicyName != "":
		parts = append(parts, "inline policy "+a.PolicyName)
	case a.PolicyARN != "" && a.PolicyARN != f.Target:
		parts = append(parts, "policy "+a.PolicyARN)
	case a.AccessKeyID != "" && a.AccessKeyID != f.Target:
		parts = append(parts, "key "+a.AccessKeyID)
	}
	return strings.Join(parts, ", ")
}

// NewGroup starts the group of a message posted for leader: its target, outcome and event. For a
// threshold (limit), before are the window's earlier events and counted says how many there
// were: the message counts them all and lists the latest of them ahead of the leader's.
func NewGroup(leader detect.Finding, outcome string, before []Member, counted int, limit string) *Group {
	g := &Group{Outcomes: map[string]int{outcome: 1}, Before: counted, Threshold: limit}
	if leader.Target != "" {
		g.Targets = []string{leader.Target}
	}
	g.Events = append(slices.Clone(before[max(0, len(before)-(MaxListed-1)):]), NewMember(leader))
	return g
}

// Total is how many findings the message counts: the leader, the earlier events of a
// threshold's window, and the members.
func (g *Group) Total() int {
	if g == nil {
		return 1
	}
	return g.Count() + g.Before
}

// Unlisted is how many of Total the message does not list one by one.
func (g *Group) Unlisted() int {
	if g == nil {
		return 0
	}
	return max(0, g.Total()-len(g.Events))
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
// (Lambda retried its invocation) is counted once. List adds its event to the message's list.
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

// List adds a member's event to those the message lists, while there is room.
func (g *Group) List(m Member) {
	if len(g.Events) < MaxListed {
		g.Events = append(g.Events, m)
	}
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
// now+lease while it posts, its window closing at now+window. sev is the leader's severity: a
// finding more severe than it does not join the burst's message but posts anew.
func (e *Entry) Lead(key, owner string, sev detect.Severity, now time.Time, lease, window time.Duration) {
	e.Leader, e.Channel, e.TS = key, "", ""
	e.Owner, e.LeaseUntil, e.WindowEnds = owner, now.Add(lease), now.Add(window)
	e.BurstSeverity = &sev
	e.ExpiresAt = now.Add(window + 24*time.Hour)
}

// Outranks reports whether a finding of severity s is more severe than the message of the burst
// this flood index names, and so must be posted anew rather than folded into it: an update of a
// message notifies nobody, and the message reads at its leader's severity. An index written
// before severities were kept outranks nothing.
func (r *Record) Outranks(s detect.Severity) bool {
	return r.BurstSeverity != nil && s > *r.BurstSeverity
}

// Posted records the leader's message on its own record and starts its burst with g, unless a
// burst started already (an earlier try got this far).
func (r *Record) Posted(d Delivery, g *Group) {
	r.SetMessage(d)
	if r.Group == nil {
		r.Group = g
	}
}

// Announce records the burst's message on its index, so that findings may join it. A
// threshold's window is emptied: its findings are counted in the message now.
func (r *Record) Announce(d Delivery) {
	r.SetMessage(d)
	r.Rate = nil
}

// SetMessage records where the alert's message is.
func (r *Record) SetMessage(d Delivery) { r.Channel, r.TS = d.Channel, d.TS }

// Message is where the alert's message is; empty until it is posted.
func (r *Record) Message() Delivery { return Delivery{Channel: r.Channel, TS: r.TS} }

// JoinBurst adds the finding key (its event m) to the burst this leader's record gathers and
// reports whether it was new. A finding that joined on an earlier try is not counted again. A
// burst whose message people have acted on, that is not posted yet, or that is full refuses new
// findings with ErrBurstClosed.
func (r *Record) JoinBurst(key, target, outcome string, m Member) (bool, error) {
	if r.Group == nil {
		r.Group = &Group{}
	}
	if slices.Contains(r.Group.Members, key) {
		return false, nil
	}
	if len(r.Events) > 0 || r.Group.Count() >= MaxGroup || r.TS == "" {
		return false, ErrBurstClosed
	}
	if !r.Group.Join(key, target, outcome) {
		return false, nil
	}
	r.Group.List(m)
	return true, nil
}

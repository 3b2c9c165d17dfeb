// Package alert is an alert's life, in one place: the alert itself (a finding and what
// remediation did or would do about it), its record in the state table (where it stands and who
// moved it there, its Slack message, the burst it gathers, and the stored action, plan, outcome
// and alert), the transitions the pipeline and people in Slack make on it, and the one codec
// through which every stored piece of authority is written and read.
//
// The pipeline (pkg/watchdog) opens an alert and folds bursts into one message; the Slack
// actions (pkg/slackaction) revert, undo and acknowledge it; `watchdog undo` undoes what it
// did. All of them change a record only through this package.
package alert

import (
	"strings"
	"time"

	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/remediate"
)

// Alert is one finding with what remediation did or would do about it.
type Alert struct {
	Finding detect.Finding
	// Remediation is nil when the finding's rule has no remediation action.
	Remediation *remediate.Outcome
	// Thread is the alert's life in Slack: status, burst and buttons. Nil renders the alert
	// alone, without buttons.
	Thread *Thread `json:"-"`
}

// Delivery identifies a delivered message, for later threads and updates. Both fields are
// empty for sinks without message identity (console, JSON Lines, webhooks).
type Delivery struct {
	Channel string
	TS      string
}

// Thread is an alert's life after it was posted: where it stands, who moved it there, the
// burst it gathers (flood control), and so which buttons it offers. An Alert without one is
// rendered alone, with no buttons (webhooks, JSON Lines, the plain console).
type Thread struct {
	// Key is the state key (eventID#rule) of the finding whose message this is. It is the only
	// value a button carries; everything else a click needs is looked up in the store.
	Key    string
	Status Status
	// By (a Slack user ID, or "watchdog") moved the alert to Status at Since.
	By    string
	Since time.Time
	// Group is the burst this message gathers, nil for a single finding.
	Group *Group
	// Window is the flood window, for the group's wording.
	Window time.Duration
}

// Verbs are the buttons the alert offers in its thread's status.
func (t *Thread) Verbs(a Alert) []Verb {
	var out []Verb
	switch t.Status {
	case Pending:
		out = append(out, Revert, Acknowledge)
	case Open:
		out = append(out, Acknowledge)
	case Reverted:
		if SlackUndoable(a.Finding.Action.Kind) {
			out = append(out, Undo)
		}
	}
	return out
}

// SlackUndoable reports whether the Slack app may undo an action of this kind. Undo from Slack
// runs with the functions' role, which can re-activate a key and detach the stack's own
// quarantine policy but, by design, cannot attach an arbitrary managed policy or put an inline
// document on a user: that power would let whoever controls an internet-facing function make
// anyone an administrator. Those undos are `watchdog undo` with a person's own credentials.
func SlackUndoable(kind string) bool {
	return kind == detect.DeactivateAccessKey || kind == detect.QuarantineUser
}

// Key is the store key of a finding's record.
func Key(eventID, rule string) string { return eventID + "#" + rule }

// FloodKey is the store key of the flood index of a rule and actor: which finding's message
// gathers their current burst.
func FloodKey(rule, actorARN string) string { return "flood#" + rule + "#" + actorARN }

// IsFloodKey says whether key names a flood index rather than an alert.
func IsFloodKey(key string) bool { return strings.HasPrefix(key, "flood#") }

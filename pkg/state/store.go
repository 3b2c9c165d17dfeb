// Package state remembers what the watchdog did about each finding, so that a redelivered event
// neither acts nor alerts twice and every action can be undone later. An entry is claimed with
// a lease before anything is done; a claim left by a crashed invocation is taken over once its
// lease has run out.
//
// Two stores implement it: a local JSON file for the CLI and a DynamoDB table for the Lambda.
package state

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Stage is how far the handling of a finding got.
type Stage string

// Stages, in order.
const (
	Claimed Stage = "claimed" // work started; nothing done yet
	// Acting: the planned action and its undo record are stored, and the action may have been
	// carried out: an invocation that takes the entry over resumes it (remediate.Remediator.Do)
	// rather than plan it afresh.
	Acting  Stage = "acting"
	Acted   Stage = "acted"   // remediation ran (or was decided against); the outcome is stored
	Alerted Stage = "alerted" // the alert was delivered: the finding is finished
)

// Entry is the record of one finding: the key is the CloudTrail eventID and the rule ID.
type Entry struct {
	Key     string `json:"key"`
	EventID string `json:"event_id"`
	Rule    string `json:"rule"`
	Stage   Stage  `json:"stage"`
	// Owner is the invocation holding the lease, and LeaseUntil when the lease runs out.
	Owner      string    `json:"owner"`
	LeaseUntil time.Time `json:"lease_until"`
	// Outcome is the remediation outcome, stored once acted (JSON of remediate.Outcome).
	Outcome json.RawMessage `json:"outcome,omitempty"`
	// Undo is what is needed to reverse a done action (JSON of remediate.Undo).
	Undo json.RawMessage `json:"undo,omitempty"`
	// Channel and TS identify the Slack message, for threads and updates.
	Channel string `json:"channel,omitempty"`
	TS      string `json:"ts,omitempty"`
	// UndoneAt is when the action was undone, zero while it stands.
	UndoneAt  time.Time `json:"undone_at,omitzero"`
	UpdatedAt time.Time `json:"updated_at"`
	// ExpiresAt is when the store may forget the entry (DynamoDB TTL).
	ExpiresAt time.Time `json:"expires_at"`
	// Version counts the writes to the entry. Save and Update write only over the version the
	// caller read, so that a click in Slack and the pipeline cannot overwrite each other.
	Version int64 `json:"version"`

	// What a later click in Slack needs, saved when the finding is alerted (see alert.go).

	// Action is the remediation the finding proposed (JSON of detect.Action): the one thing
	// Revert now may do. Nothing about it is ever taken from a Slack request.
	Action json.RawMessage `json:"action,omitempty"`
	// Alert is what re-rendering the Slack message needs (JSON of notify.Alert, without the
	// CloudTrail record).
	Alert json.RawMessage `json:"alert,omitempty"`
	// Status is where the alert stands for people, empty until it is alerted; StatusBy and
	// StatusSince say who moved it there and when.
	Status      Status    `json:"status,omitempty"`
	StatusBy    string    `json:"status_by,omitempty"`
	StatusSince time.Time `json:"status_since,omitzero"`
	// Events is who did what to the alert, oldest first.
	Events []Event `json:"events,omitempty"`
	// Group is set on the entry whose Slack message gathers a burst of findings with the same
	// rule and actor (flood control): the others, what they changed and how they ended.
	Group *Group `json:"group,omitempty"`
	// Leader and WindowEnds are set on a flood index entry (FloodKey): the finding whose message
	// gathers the current burst, and when the burst's window closes.
	Leader     string    `json:"leader,omitempty"`
	WindowEnds time.Time `json:"window_ends,omitzero"`
	// Dirty is set by every change the entry's Slack message must show; Refresher is the one
	// invocation updating the message until RefresherUntil (see MarkDirty).
	Dirty          bool      `json:"dirty,omitempty"`
	Refresher      string    `json:"refresher,omitempty"`
	RefresherUntil time.Time `json:"refresher_until,omitzero"`
}

// Key is the store key of a finding.
func Key(eventID, rule string) string { return eventID + "#" + rule }

var (
	// ErrDone means the finding was already handled to the end: do nothing again.
	ErrDone = errors.New("already handled")
	// ErrBusy means another invocation holds a live lease on the finding; retry later.
	ErrBusy = errors.New("being handled by another invocation")
	// ErrNotFound means the store has no entry for the key.
	ErrNotFound = errors.New("no such entry")
	// ErrLost means the caller's lease was taken over, or the entry changed, before it saved;
	// its work must stop.
	ErrLost = errors.New("lease lost to another invocation")
	// ErrConflict means Update kept losing races for an entry and gave up; retry later.
	ErrConflict = errors.New("entry kept changing under concurrent updates")
)

// maxUpdateAttempts bounds Update's read-change-write rounds. Each lost round means another
// writer succeeded; a burst of hundreds of findings joining one message makes a writer lose
// many. The caller's context deadline (a Lambda's timeout) usually ends the wait first.
const maxUpdateAttempts = 300

// Store keeps entries. Implementations are safe for concurrent use.
type Store interface {
	// Claim takes the entry for key for owner until now+lease: it creates it, or takes over
	// an unfinished one whose lease has run out (returning it, so the caller sees how far it
	// got). It returns the entry and ErrDone when the entry is finished, and ErrBusy when
	// another owner's lease is live.
	Claim(ctx context.Context, e Entry, lease time.Duration) (Entry, error)
	// Save writes the entry if e.Owner still holds it, else returns ErrLost.
	Save(ctx context.Context, e Entry) error
	// Get reads an entry, or returns ErrNotFound.
	Get(ctx context.Context, key string) (Entry, error)
	// Update changes the entry for key atomically: it reads the entry (an Entry with only Key
	// set when there is none), calls change on it, and writes the result only if nobody wrote
	// the entry in between; if somebody did, it reads again and calls change again, so change
	// must be safe to repeat and decide from the entry alone. When change returns an error
	// nothing is written and Update returns the entry as read with that error. Update takes no
	// lease and ignores Owner.
	Update(ctx context.Context, key string, change func(*Entry) error) (Entry, error)
}

// Retention is how long entries are kept: long enough to undo last quarter's reverts.
const Retention = 90 * 24 * time.Hour

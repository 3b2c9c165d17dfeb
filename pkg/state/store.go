// Package state is the watchdog's storage: entries claimed with a lease before anything is done
// (a claim left by a crashed invocation is taken over once its lease has run out), written only
// over the version read, and kept for Retention. It does not know what an entry holds: each
// finding's alert record (pkg/alert) is its body, so that a redelivered event neither acts nor
// alerts twice and every action can be undone later.
//
// Two stores implement it: a local JSON file for the CLI and a DynamoDB table for the Lambda.
package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
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

// Meta is what the store itself keeps of an entry: its key, how far the handling of it got,
// the claim on it, and its version and expiry.
type Meta struct {
	Key   string `json:"key"`
	Stage Stage  `json:"stage"`
	// Owner is the invocation holding the lease, and LeaseUntil when the lease runs out.
	Owner      string    `json:"owner"`
	LeaseUntil time.Time `json:"lease_until"`
	UpdatedAt  time.Time `json:"updated_at"`
	// ExpiresAt is when the store may forget the entry (DynamoDB TTL).
	ExpiresAt time.Time `json:"expires_at"`
	// Version counts the writes to the entry. Save and Update write only over the version the
	// caller read, so that a click in Slack and the pipeline cannot overwrite each other.
	Version int64 `json:"version"`
}

// Entry is one entry of the store: Meta, and Body, what its user keeps there (an alert's
// record, pkg/alert). Body is a JSON object whose fields are stored beside Meta's, in one
// object, as entries have always been stored; the store never reads it.
type Entry struct {
	Meta
	Body json.RawMessage
}

// MarshalJSON writes Body's fields and Meta's as one object; Meta's win a clash.
func (e Entry) MarshalJSON() ([]byte, error) {
	fields := map[string]json.RawMessage{}
	if len(e.Body) > 0 {
		if err := json.Unmarshal(e.Body, &fields); err != nil {
			return nil, fmt.Errorf("entry %s: its body is not a JSON object: %w", e.Key, err)
		}
	}
	meta, err := json.Marshal(e.Meta)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(meta, &fields); err != nil {
		return nil, err
	}
	return json.Marshal(fields)
}

// UnmarshalJSON reads Meta's fields, and keeps the whole object as Body for its user, who reads
// its own fields and ignores Meta's.
func (e *Entry) UnmarshalJSON(data []byte) error {
	var m Meta
	if err := json.Unmarshal(data, &m); err != nil {
		return err
	}
	e.Meta, e.Body = m, slices.Clone(json.RawMessage(data))
	return nil
}

// clone copies the entry, so that a change to the copy's body leaves the original as it was.
func (e Entry) clone() Entry {
	e.Body = slices.Clone(e.Body)
	return e
}

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

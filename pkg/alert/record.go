package alert

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/state"
)

// Record is what the state table keeps of one finding beside the store's own claim (state.Meta):
// the finding's identity, where its alert stands, its Slack message, the burst it gathers, and
// the stored pieces of authority, which only the Codec reads and writes. A flood index
// (FloodKey) is a record too, naming the leader of a burst.
//
// The JSON field names are those the state table has always held: a change here must read what
// an older watchdog wrote.
type Record struct {
	EventID string `json:"event_id"`
	Rule    string `json:"rule"`
	// Channel and TS identify the Slack message, for threads and updates.
	Channel string `json:"channel,omitempty"`
	TS      string `json:"ts,omitempty"`
	// UndoneAt is when the action was undone, zero while it stands.
	UndoneAt time.Time `json:"undone_at,omitzero"`
	// Status is where the alert stands for people, empty until it is alerted; StatusBy and
	// StatusSince say who moved it there and when.
	Status      Status    `json:"status,omitempty"`
	StatusBy    string    `json:"status_by,omitempty"`
	StatusSince time.Time `json:"status_since,omitzero"`
	// Events is who did what to the alert, oldest first.
	Events []Event `json:"events,omitempty"`
	// Group is set on the record whose Slack message gathers a burst of findings with the same
	// rule and actor (flood control): the others, what they changed and how they ended.
	Group *Group `json:"group,omitempty"`
	// Leader and WindowEnds are set on a flood index record (FloodKey): the finding whose
	// message gathers the current burst, and when the burst's window closes.
	Leader     string    `json:"leader,omitempty"`
	WindowEnds time.Time `json:"window_ends,omitzero"`
	// BurstSeverity is the severity of the leader's message, on a flood index; Rate counts a
	// caller's findings against a threshold, on a threshold's index (RateKey).
	BurstSeverity *detect.Severity `json:"burst_severity,omitempty"`
	Rate          *Rate            `json:"rate,omitempty"`
	// Dirty is set by every change the record's Slack message must show; Refresher is the one
	// invocation updating the message until RefresherUntil (see MarkDirty).
	Dirty          bool      `json:"dirty,omitempty"`
	Refresher      string    `json:"refresher,omitempty"`
	RefresherUntil time.Time `json:"refresher_until,omitzero"`

	sealed sealed
}

// sealed are the stored pieces of authority, as the Codec wrote them. They are unexported so
// that nothing but the Codec can read or write them.
type sealed struct {
	// Outcome is the remediation outcome (remediate.Outcome).
	Outcome json.RawMessage `json:"outcome,omitempty"`
	// Undo is the plan of the action, which is also what reverses it (remediate.Undo).
	Undo json.RawMessage `json:"undo,omitempty"`
	// Action is the remediation the finding proposed (detect.Action): the one thing Revert now
	// may do. Nothing about it is ever taken from a Slack request.
	Action json.RawMessage `json:"action,omitempty"`
	// Alert is what re-rendering the Slack message needs (storedAlert).
	Alert json.RawMessage `json:"alert,omitempty"`
	// Event is the finding's CloudTrail record as it was read (storedEvent), which Revert now
	// runs through the rules again.
	Event json.RawMessage `json:"event,omitempty"`
	// MAC is the state key's HMAC-SHA-256 over the record's key and the pieces above (see
	// macInput), base64; empty when the Codec has no key.
	MAC string `json:"mac,omitempty"`
}

// plainRecord is Record without its methods, so that its fields can be encoded as usual.
type plainRecord Record

// MarshalJSON writes the record's fields and its sealed pieces as one object.
func (r Record) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		plainRecord
		sealed
	}{plainRecord(r), r.sealed})
}

// UnmarshalJSON reads what MarshalJSON wrote, ignoring the store's own fields beside them.
func (r *Record) UnmarshalJSON(data []byte) error {
	var p plainRecord
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	var s sealed
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	*r = Record(p)
	r.sealed = s
	return nil
}

// HasAlert says whether the record holds an alert to render: it was alerted.
func (r Record) HasAlert() bool { return len(r.sealed.Alert) > 0 }

// Entry is one record as the store holds it: the store's claim, lease and version beside it.
// Records reads and writes entries; an Entry is not meant to be encoded on its own.
type Entry struct {
	state.Meta
	Record
}

// decode reads the record out of a store entry.
func decode(se state.Entry) (Entry, error) {
	e := Entry{Meta: se.Meta}
	if len(se.Body) > 0 {
		if err := json.Unmarshal(se.Body, &e.Record); err != nil {
			return Entry{}, fmt.Errorf("record %s: %w", se.Key, err)
		}
	}
	return e, nil
}

// encode is the store entry of e.
func (e Entry) encode() (state.Entry, error) {
	body, err := json.Marshal(e.Record)
	if err != nil {
		return state.Entry{}, fmt.Errorf("record %s: %w", e.Key, err)
	}
	return state.Entry{Meta: e.Meta, Body: body}, nil
}

// Records keeps alert records in a state.Store: the store's operations, on records. Codec is
// what reads and writes their pieces of authority.
type Records struct {
	Store state.Store
	Codec Codec
}

// Claim claims the record e.Key for e.Owner, as state.Store.Claim does, returning the record as
// the store holds it (with how far an earlier claim got) and the store's errors.
func (s Records) Claim(ctx context.Context, e Entry, lease time.Duration) (Entry, error) {
	se, err := e.encode()
	if err != nil {
		return Entry{}, err
	}
	got, claimErr := s.Store.Claim(ctx, se, lease)
	out, err := decode(got)
	if err != nil {
		return Entry{}, err
	}
	return out, claimErr
}

// Save writes e if e.Owner still holds it (state.Store.Save).
func (s Records) Save(ctx context.Context, e Entry) error {
	se, err := e.encode()
	if err != nil {
		return err
	}
	return s.Store.Save(ctx, se)
}

// Get reads a record, or returns state.ErrNotFound.
func (s Records) Get(ctx context.Context, key string) (Entry, error) {
	se, err := s.Store.Get(ctx, key)
	if err != nil {
		return Entry{}, err
	}
	return decode(se)
}

// Update changes the record for key atomically, as state.Store.Update does: change may run
// more than once and must decide from the record alone. When change returns an error nothing
// is written, and the record as read is returned with that error.
func (s Records) Update(ctx context.Context, key string, change func(*Entry) error) (Entry, error) {
	se, err := s.Store.Update(ctx, key, func(se *state.Entry) error {
		e, err := decode(*se)
		if err != nil {
			return err
		}
		if err := change(&e); err != nil {
			return err
		}
		*se, err = e.encode()
		return err
	})
	if se.Key == "" {
		return Entry{}, err
	}
	out, decodeErr := decode(se)
	if err != nil {
		return out, err
	}
	return out, decodeErr
}

package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/iam-watchdog/iam-watchdog/pkg/cloudtrail"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/remediate"
	"github.com/iam-watchdog/iam-watchdog/pkg/state"
)

// storedAlert is an alert as kept in the state table, so that a later click can render its
// message again. The CloudTrail record is left out (its request parameters can be large and
// say more than the message does); only where it was read is kept.
type storedAlert struct {
	Finding     detect.Finding       `json:"finding"`
	Remediation *remediate.Outcome   `json:"remediation,omitempty"`
	Pos         *cloudtrail.Position `json:"pos,omitempty"`
}

// EncodeAlert is a's JSON for state.Entry.Alert. Its Thread is not kept: the entry's own
// fields are the thread.
func EncodeAlert(a Alert) (json.RawMessage, error) {
	s := storedAlert{Finding: a.Finding, Remediation: a.Remediation}
	if rec := a.Finding.Record; rec != nil {
		pos := rec.Pos
		s.Pos = &pos
	}
	s.Finding.Record = nil
	return json.Marshal(s)
}

// DecodeAlert reads what EncodeAlert wrote.
func DecodeAlert(raw json.RawMessage) (Alert, error) {
	var s storedAlert
	if err := json.Unmarshal(raw, &s); err != nil {
		return Alert{}, fmt.Errorf("stored alert: %w", err)
	}
	if s.Pos != nil {
		s.Finding.Record = &cloudtrail.Record{Pos: *s.Pos}
	}
	return Alert{Finding: s.Finding, Remediation: s.Remediation}, nil
}

// FromEntry is the alert an entry's message shows now, with its thread, and the message's
// identity. window is the flood window, for the wording of a burst.
func FromEntry(e state.Entry, window time.Duration) (Alert, Delivery, error) {
	if len(e.Alert) == 0 {
		return Alert{}, Delivery{}, fmt.Errorf("entry %s holds no alert to render", e.Key)
	}
	a, err := DecodeAlert(e.Alert)
	if err != nil {
		return Alert{}, Delivery{}, fmt.Errorf("entry %s: %w", e.Key, err)
	}
	a.Thread = &Thread{Key: e.Key, Status: e.Status, By: e.StatusBy, Since: e.StatusSince, Group: e.Group, Window: window}
	return a, Delivery{Channel: e.Channel, TS: e.TS}, nil
}

// Refresher keeps the Slack message of an entry in step with the entry. Every change a message
// must show is written with state.Entry.MarkDirty; the writer that holds the refresher job then
// calls Refresh, which updates the message until a round finds nothing new.
type Refresher struct {
	Threads Threads
	Store   state.Store
	// Owner names this invocation, as in MarkDirty.
	Owner string
	// Window is the flood window, for the wording of a burst.
	Window time.Duration
	// Now is the clock of the job's lease; nil means time.Now.
	Now func() time.Time
}

var errChanged = errors.New("changed meanwhile")

func (r Refresher) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// Refresh updates the message of key from the entry, round after round while changes keep
// coming, then gives the job up. A change written during a round keeps the entry dirty (the
// round clears the flag only if the entry is still at the version it rendered), and the job is
// given up only by a write that finds the entry clean, so no change is left unshown.
//
// An error leaves the job to expire; the caller's invocation should fail, so that its retry,
// which marks the entry dirty again, finishes the job.
func (r Refresher) Refresh(ctx context.Context, key string) error {
	for {
		e, err := r.Store.Get(ctx, key)
		if err != nil {
			return err
		}
		if e.Refresher != r.Owner {
			return nil // the lease ran out and another invocation took the job over
		}
		if !e.Dirty {
			_, err := r.Store.Update(ctx, key, func(x *state.Entry) error {
				if x.Dirty {
					return errChanged
				}
				if x.Refresher == r.Owner {
					x.Refresher, x.RefresherUntil = "", time.Time{}
				}
				return nil
			})
			if errors.Is(err, errChanged) {
				continue
			}
			return err
		}
		a, d, err := FromEntry(e, r.Window)
		if err != nil {
			return err
		}
		if d.TS == "" {
			return fmt.Errorf("refresh %s: its message is not posted yet", key)
		}
		if err := r.Threads.Update(ctx, d, a); err != nil {
			return err
		}
		_, err = r.Store.Update(ctx, key, func(x *state.Entry) error {
			if x.Refresher != r.Owner {
				return errChanged
			}
			if x.Version == e.Version {
				x.Dirty = false
			}
			x.RefresherUntil = r.now().Add(state.RefreshLease)
			return nil
		})
		if errors.Is(err, errChanged) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

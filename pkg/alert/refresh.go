package alert

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// RefreshLease is how long an invocation may hold the job of updating a message before another
// may take it over; it outlasts one invocation's Slack calls.
const RefreshLease = 30 * time.Second

// MarkDirty records, in the same write as a change, that the record's Slack message must be
// updated, and makes owner the one to do it unless another invocation holds that job. It
// reports whether owner holds it: the others leave at once, and the holder's next round shows
// their change. One message thus gets one chat.update per round however many findings join it,
// instead of one (or more) per finding.
func (r *Record) MarkDirty(owner string, now time.Time) bool {
	r.Dirty = true
	if r.Refresher == "" || r.Refresher == owner || now.After(r.RefresherUntil) {
		r.Refresher, r.RefresherUntil = owner, now.Add(RefreshLease)
	}
	return r.Refresher == owner
}

// Messages changes an alert's message after it was posted (notify.Threads: the Slack bot, or
// the terminal's stand-in).
type Messages interface {
	// Update renders a again in the message d names; its thread is kept.
	Update(ctx context.Context, d Delivery, a Alert) error
}

// Refresher keeps the Slack message of a record in step with the record. Every change a message
// must show is written with MarkDirty; the writer that holds the refresher job then calls
// Refresh, which updates the message until a round finds nothing new.
type Refresher struct {
	Messages Messages
	Records  Records
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

// Refresh updates the message of key from the record, round after round while changes keep
// coming, then gives the job up. A change written during a round keeps the record dirty (the
// round clears the flag only if the record is still at the version it rendered), and the job
// is given up only by a write that finds the record clean, so no change is left unshown.
//
// An error leaves the job to expire; the caller's invocation should fail, so that its retry,
// which marks the record dirty again, finishes the job.
func (r Refresher) Refresh(ctx context.Context, key string) error {
	for {
		e, err := r.Records.Get(ctx, key)
		if err != nil {
			return err
		}
		if e.Refresher != r.Owner {
			return nil // the lease ran out and another invocation took the job over
		}
		if !e.Dirty {
			_, err := r.Records.Update(ctx, key, func(x *Entry) error {
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
		a, d, err := r.Records.Codec.Shown(ctx, e, r.Window)
		if err != nil {
			return err
		}
		if d.TS == "" {
			return fmt.Errorf("refresh %s: its message is not posted yet", key)
		}
		if err := r.Messages.Update(ctx, d, a); err != nil {
			return err
		}
		_, err = r.Records.Update(ctx, key, func(x *Entry) error {
			if x.Refresher != r.Owner {
				return errChanged
			}
			if x.Version == e.Version {
				x.Dirty = false
			}
			x.RefresherUntil = r.now().Add(RefreshLease)
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

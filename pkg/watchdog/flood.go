package watchdog

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/iam-watchdog/iam-watchdog/internal/sleep"
	"github.com/iam-watchdog/iam-watchdog/pkg/alert"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/notify"
	"github.com/iam-watchdog/iam-watchdog/pkg/policy"
	"github.com/iam-watchdog/iam-watchdog/pkg/remediate"
	"github.com/iam-watchdog/iam-watchdog/pkg/render"
	"github.com/iam-watchdog/iam-watchdog/pkg/state"
)

// Flood control (pkg/alert's group.go says what a burst is, rate.go a threshold's window): the
// pipeline posts the leader's message or has the finding join the burst's; a finding more
// severe than the burst's message posts anew. Becoming leader (and, for a threshold, counting)
// is a conditional write on the index, so of two invocations racing only one posts. A finding that finds a leader
// which has not posted yet waits a little, then fails with ErrFloodBusy: Lambda retries the
// invocation (the claim on the finding lets the retry alert without acting again) rather than
// posting a second message.

// ErrFloodBusy means another invocation is posting the message this finding joins; retry.
var ErrFloodBusy = errors.New("the message of this burst is being posted by another invocation")

// floodWait bounds how long a finding waits for its leader's message before ErrFloodBusy.
var floodWait = 10 * time.Second

// leaderBackoff spaces out the reads of the flood index while a finding waits for its leader to
// post: every finding of a burst may be waiting on the same leader, so their reads are spread.
var leaderBackoff = sleep.Backoff{Base: 50 * time.Millisecond, Max: 500 * time.Millisecond}

// errRace makes a conditional change give way, to be decided again from a fresh read.
var errRace = errors.New("changed meanwhile")

func (p *Pipeline) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

// burst is the index a finding's message is found on: the flood index of its rule and actor, or
// the threshold index of its rule and caller, which counts the caller's findings (limit) before
// any message.
type burst struct {
	key string
	// window is how long a message gathers the findings that come after its leader.
	window time.Duration
	limit  policy.Limit
}

// flood posts the alert as the leader of its burst, or joins the burst's message. A finding of a
// threshold that does not reach its count is counted and returns errBelow: it goes to the digest.
func (p *Pipeline) flood(ctx context.Context, th notify.Threads, entry *alert.Entry, r *Result, b burst) (alert.Delivery, error) {
	f := r.Finding
	giveUp := time.Now().Add(floodWait)
	for attempt := 0; ; attempt++ {
		idx, err := p.records().Get(ctx, b.key)
		if err != nil && !errors.Is(err, state.ErrNotFound) {
			return alert.Delivery{}, fmt.Errorf("flood index: %w", err)
		}
		now := p.now()
		lead := func(count bool) (alert.Delivery, error) {
			led, err := p.takeLead(ctx, b, idx, entry.Key, f, now, count)
			switch {
			case err != nil: // errRace included: decided again from a fresh read
				return alert.Delivery{}, err
			case led.Leader != entry.Key:
				return alert.Delivery{}, errBelow
			}
			return p.lead(ctx, th, b, entry, r, led)
		}
		var d alert.Delivery
		switch {
		case idx.Leader == entry.Key && idx.TS != "":
			// This finding led the burst and posted; an earlier try stopped after that.
			return idx.Message(), nil
		case idx.Leader == entry.Key:
			return p.lead(ctx, th, b, entry, r, idx)
		case idx.Leader == "" || !now.Before(idx.WindowEnds) || (idx.TS == "" && now.After(idx.LeaseUntil)):
			// No burst, the last one's window has closed, or its leader died before posting: a
			// threshold counts the finding, and it leads when it reaches the count.
			d, err = lead(true)
		case idx.TS == "":
			// The leader is posting: wait for its message rather than post a second one.
			if time.Now().After(giveUp) {
				return alert.Delivery{}, ErrFloodBusy
			}
			if err := leaderBackoff.Wait(ctx, attempt); err != nil {
				return alert.Delivery{}, err
			}
			continue
		case idx.Outranks(f.Severity):
			// Folded into a message that reads less severe, the finding would notify nobody
			// (an update pages no one): it posts anew, and the findings after it join its message.
			d, err = lead(false)
		default:
			d, err = p.join(ctx, th, idx, entry, r, b.window)
			if errors.Is(err, alert.ErrBurstClosed) {
				// People acted on the burst's message (or it is full): start a new one, after a
				// threshold's count once more.
				d, err = lead(true)
			}
		}
		if errors.Is(err, errRace) {
			continue
		}
		return d, err
	}
}

// errBelow means a threshold's finding was counted without reaching the count.
var errBelow = errors.New("below the threshold")

// takeLead makes key the leader of the burst, if the index is still as read. With count, a
// threshold's index first counts the finding, and only the finding that reaches the count leads.
// It returns the index as written.
func (p *Pipeline) takeLead(ctx context.Context, b burst, read alert.Entry, key string, f detect.Finding, now time.Time, count bool) (alert.Entry, error) {
	idx, err := p.records().Update(ctx, b.key, func(e *alert.Entry) error {
		if e.Version != read.Version {
			return errRace
		}
		if count && !b.limit.Off() && !e.Count(key, alert.NewMember(f), now, b.limit.Count, b.limit.Window) {
			return nil
		}
		e.Lead(key, p.Owner, f.Severity, now, p.lease(), b.window)
		return nil
	})
	if err != nil && !errors.Is(err, errRace) {
		return idx, fmt.Errorf("lead burst %s: %w", b.key, err)
	}
	return idx, err
}

// lead posts the burst's message, then records where it is, on the leader's entry first and
// on the index last: a finding joins only once the index names the message, by which time the
// leader's entry names it too. idx is the index naming this finding its leader; a threshold's
// window on it is what the message counts besides the leader.
func (p *Pipeline) lead(ctx context.Context, th notify.Threads, b burst, entry *alert.Entry, r *Result, idx alert.Entry) (alert.Delivery, error) {
	f := r.Finding
	before, counted := idx.Rate.Before(entry.Key)
	limit := ""
	if !b.limit.Off() {
		limit = b.limit.String()
	}
	g := alert.NewGroup(f, alert.OutcomeName(r.Remediation), before, counted, limit)
	if r.Alert.Thread != nil {
		r.Alert.Thread.Group = g
	}
	d, err := th.Notify(ctx, r.Alert)
	if err != nil {
		return alert.Delivery{}, err
	}
	_, err = p.records().Update(ctx, entry.Key, func(e *alert.Entry) error {
		e.Posted(d, g)
		return nil
	})
	if err != nil {
		return d, fmt.Errorf("record burst message: %w", err)
	}
	_, err = p.records().Update(ctx, b.key, func(e *alert.Entry) error {
		if e.Leader != entry.Key {
			return errRace // another invocation took the burst over; this message stands alone
		}
		e.Announce(d)
		return nil
	})
	if err != nil && !errors.Is(err, errRace) {
		return d, fmt.Errorf("record burst message in %s: %w", b.key, err)
	}
	return d, nil
}

// join adds the finding to the leader's burst and brings the message up to date; a failed
// remediation also gets a line in the thread, since the message shows only the count.
func (p *Pipeline) join(ctx context.Context, th notify.Threads, idx alert.Entry, entry *alert.Entry, r *Result, window time.Duration) (alert.Delivery, error) {
	f := r.Finding
	d := idx.Message()
	joined, refresher := false, false
	m := alert.NewMember(f)
	_, err := p.records().Update(ctx, idx.Leader, func(e *alert.Entry) error {
		// A finding joined on an earlier try is not counted again, but still marks the message
		// for refreshing: the earlier try may have failed before the message showed it.
		var err error
		if joined, err = e.JoinBurst(entry.Key, f.Target, alert.OutcomeName(r.Remediation), m); err != nil {
			return err
		}
		refresher = e.MarkDirty(p.Owner, p.now())
		return nil
	})
	if err != nil {
		if errors.Is(err, alert.ErrBurstClosed) {
			return alert.Delivery{}, err
		}
		return alert.Delivery{}, fmt.Errorf("join burst of %s: %w", idx.Leader, err)
	}
	if refresher {
		rf := alert.Refresher{Messages: th, Records: p.records(), Owner: p.Owner, Window: window, Now: p.Now}
		if err := rf.Refresh(ctx, idx.Leader); err != nil {
			return d, fmt.Errorf("update burst message: %w", err)
		}
	}
	if joined && r.Remediation != nil && r.Remediation.Status == remediate.Failed {
		if err := th.Reply(ctx, d, render.FollowUp{Who: "watchdog", Alert: r.Alert, Detail: r.Remediation.Reason}); err != nil {
			return d, fmt.Errorf("reply in burst thread: %w", err)
		}
	}
	return d, nil
}

// recordAlert marks the finding alerted, merging with whatever joined its burst meanwhile.
// Those who joined updated the message themselves.
func (p *Pipeline) recordAlert(ctx context.Context, entry alert.Entry, d alert.Delivery) error {
	_, err := p.records().Update(ctx, entry.Key, func(e *alert.Entry) error {
		if e.Owner != entry.Owner {
			return state.ErrLost
		}
		e.Stage = state.Alerted
		e.SetMessage(d)
		return nil
	})
	return err
}

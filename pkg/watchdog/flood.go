package watchdog

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/iam-watchdog/iam-watchdog/internal/sleep"
	"github.com/iam-watchdog/iam-watchdog/pkg/alert"
	"github.com/iam-watchdog/iam-watchdog/pkg/notify"
	"github.com/iam-watchdog/iam-watchdog/pkg/remediate"
	"github.com/iam-watchdog/iam-watchdog/pkg/render"
	"github.com/iam-watchdog/iam-watchdog/pkg/state"
)

// Flood control (pkg/alert's group.go says what a burst is): the pipeline posts the leader's
// message or has the finding join the burst's. Becoming leader is a conditional write on the
// flood index, so of two invocations racing only one posts. A finding that finds a leader
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

// deliver hands the alert to the sink. A sink with threads, given a store, gets the alert with
// its status and buttons, and bursts folded into one message.
func (p *Pipeline) deliver(ctx context.Context, entry *alert.Entry, r *Result) (alert.Delivery, error) {
	th, ok := p.Sink.(notify.Threads)
	if !ok || p.Store == nil || entry.Key == "" {
		return p.Sink.Notify(ctx, r.Alert)
	}
	window := p.Config.Slack.Window()
	r.Alert.Thread = &alert.Thread{Key: entry.Key, Status: entry.Status, By: entry.StatusBy, Since: entry.StatusSince, Window: window}
	if window <= 0 || r.Finding.Actor.ARN == "" {
		return th.Notify(ctx, r.Alert)
	}
	return p.flood(ctx, th, entry, r, window)
}

// flood posts the alert as the leader of its burst, or joins the burst's message.
func (p *Pipeline) flood(ctx context.Context, th notify.Threads, entry *alert.Entry, r *Result, window time.Duration) (alert.Delivery, error) {
	f := r.Finding
	fkey := alert.FloodKey(f.Rule, f.Actor.ARN)
	giveUp := time.Now().Add(floodWait)
	for attempt := 0; ; attempt++ {
		idx, err := p.records().Get(ctx, fkey)
		if err != nil && !errors.Is(err, state.ErrNotFound) {
			return alert.Delivery{}, fmt.Errorf("flood index: %w", err)
		}
		now := p.now()
		switch {
		case idx.Leader == entry.Key && idx.TS != "":
			// This finding led the burst and posted; an earlier try stopped after that.
			return idx.Message(), nil
		case idx.Leader == entry.Key:
			return p.lead(ctx, th, fkey, entry, r)
		case idx.Leader == "" || !now.Before(idx.WindowEnds) || (idx.TS == "" && now.After(idx.LeaseUntil)):
			// No burst, the last one's window has closed, or its leader died before posting.
			if err := p.takeLead(ctx, fkey, idx, entry.Key, now, window); errors.Is(err, errRace) {
				continue
			} else if err != nil {
				return alert.Delivery{}, err
			}
			return p.lead(ctx, th, fkey, entry, r)
		case idx.TS == "":
			// The leader is posting: wait for its message rather than post a second one.
			if time.Now().After(giveUp) {
				return alert.Delivery{}, ErrFloodBusy
			}
			if err := leaderBackoff.Wait(ctx, attempt); err != nil {
				return alert.Delivery{}, err
			}
			continue
		}
		d, err := p.join(ctx, th, idx, entry, r, window)
		if errors.Is(err, alert.ErrBurstClosed) {
			// People acted on the burst's message (or it is full): start a new one.
			if err := p.takeLead(ctx, fkey, idx, entry.Key, now, window); errors.Is(err, errRace) {
				continue
			} else if err != nil {
				return alert.Delivery{}, err
			}
			return p.lead(ctx, th, fkey, entry, r)
		}
		return d, err
	}
}

// takeLead makes key the leader of the burst, if the index is still as read.
func (p *Pipeline) takeLead(ctx context.Context, fkey string, read alert.Entry, key string, now time.Time, window time.Duration) error {
	_, err := p.records().Update(ctx, fkey, func(e *alert.Entry) error {
		if e.Version != read.Version {
			return errRace
		}
		e.Lead(key, p.Owner, now, p.lease(), window)
		return nil
	})
	if err != nil && !errors.Is(err, errRace) {
		return fmt.Errorf("lead burst %s: %w", fkey, err)
	}
	return err
}

// lead posts the burst's message, then records where it is, on the leader's entry first and
// on the index last: a finding joins only once the index names the message, by which time the
// leader's entry names it too.
func (p *Pipeline) lead(ctx context.Context, th notify.Threads, fkey string, entry *alert.Entry, r *Result) (alert.Delivery, error) {
	f := r.Finding
	d, err := th.Notify(ctx, r.Alert)
	if err != nil {
		return alert.Delivery{}, err
	}
	_, err = p.records().Update(ctx, entry.Key, func(e *alert.Entry) error {
		e.Posted(d, f.Target, alert.OutcomeName(r.Remediation))
		return nil
	})
	if err != nil {
		return d, fmt.Errorf("record burst message: %w", err)
	}
	_, err = p.records().Update(ctx, fkey, func(e *alert.Entry) error {
		if e.Leader != entry.Key {
			return errRace // another invocation took the burst over; this message stands alone
		}
		e.SetMessage(d)
		return nil
	})
	if err != nil && !errors.Is(err, errRace) {
		return d, fmt.Errorf("record burst message in %s: %w", fkey, err)
	}
	return d, nil
}

// join adds the finding to the leader's burst and brings the message up to date; a failed
// remediation also gets a line in the thread, since the message shows only the count.
func (p *Pipeline) join(ctx context.Context, th notify.Threads, idx alert.Entry, entry *alert.Entry, r *Result, window time.Duration) (alert.Delivery, error) {
	f := r.Finding
	d := idx.Message()
	joined, refresher := false, false
	_, err := p.records().Update(ctx, idx.Leader, func(e *alert.Entry) error {
		// A finding joined on an earlier try is not counted again, but still marks the message
		// for refreshing: the earlier try may have failed before the message showed it.
		var err error
		if joined, err = e.JoinBurst(entry.Key, f.Target, alert.OutcomeName(r.Remediation)); err != nil {
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

package watchdog

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/iam-watchdog/iam-watchdog/pkg/alert"
	"github.com/iam-watchdog/iam-watchdog/pkg/notify"
	"github.com/iam-watchdog/iam-watchdog/pkg/policy"
	"github.com/iam-watchdog/iam-watchdog/pkg/render"
)

// deliver routes the alert (policy.Config.Route) and hands it to the sink: at once, folded into
// its burst's message (flood control); counted against its rule's threshold for its caller,
// posted when the count is reached; or kept for the digest. Routing happens after remediation and
// changes nothing about it. A sink with threads, given a store, gets the alert with its status
// and buttons; without a store nothing can be counted, folded or kept, and every alert is posted.
func (p *Pipeline) deliver(ctx context.Context, entry *alert.Entry, r *Result) (alert.Delivery, error) {
	r.Route = p.Config.Route(&r.Finding, r.Remediation)
	sink := p.sinkIn(r.Route.Channel)
	if p.Store == nil || entry.Key == "" {
		r.Route.Kind = policy.Immediate
		return sink.Notify(ctx, r.Alert)
	}
	switch r.Route.Kind {
	case policy.Digest:
		return alert.Delivery{}, p.toDigest(ctx, entry, r)
	case policy.Counted:
		return p.counted(ctx, sink, entry, r)
	}
	th, ok := sink.(notify.Threads)
	if !ok {
		return sink.Notify(ctx, r.Alert)
	}
	window := p.Config.Slack.Window()
	r.Alert.Thread = p.thread(entry, window)
	if window <= 0 || r.Finding.Actor.ARN == "" {
		return th.Notify(ctx, r.Alert)
	}
	return p.flood(ctx, th, entry, r, burst{key: alert.FloodKey(r.Finding.Rule, r.Finding.Actor.ARN), window: window})
}

func (p *Pipeline) thread(entry *alert.Entry, window time.Duration) *alert.Thread {
	return &alert.Thread{Key: entry.Key, Status: entry.Status, By: entry.StatusBy, Since: entry.StatusSince, Window: window}
}

// sinkIn is the sink posting to channel, "" for the sink's own.
func (p *Pipeline) sinkIn(channel string) notify.Sink {
	if c, ok := p.Sink.(notify.Channels); ok && channel != "" {
		return c.In(channel)
	}
	return p.Sink
}

// counted counts the finding against its rule's threshold for its caller. The finding that
// reaches the count posts one message, counting and listing the window's findings; the caller's
// next findings join it while it gathers (the longer of the flood window and the threshold's);
// a finding below the count goes to the digest. A sink that cannot update a message (a webhook)
// gets the message of each crossing, and everything else goes to the digest.
func (p *Pipeline) counted(ctx context.Context, sink notify.Sink, entry *alert.Entry, r *Result) (alert.Delivery, error) {
	f := r.Finding
	limit := r.Route.Limit
	b := burst{key: alert.RateKey(f.Rule, f.Account, policy.Caller(f.Actor)), window: max(p.Config.Slack.Window(), limit.Window), limit: limit}
	th, ok := sink.(notify.Threads)
	if ok {
		r.Alert.Thread = p.thread(entry, b.window)
	} else {
		th = notifyOnly{sink}
		b.window = 0 // a message that cannot be updated gathers nothing
	}
	d, err := p.flood(ctx, th, entry, r, b)
	if errors.Is(err, errBelow) {
		r.Route.Kind, r.Route.Reason = policy.Digest, "below threshold "+limit.String()
		r.Alert.Thread = nil
		return alert.Delivery{}, p.toDigest(ctx, entry, r)
	}
	return d, err
}

// toDigest keeps the finding for the digest of its channel and period.
func (p *Pipeline) toDigest(ctx context.Context, entry *alert.Entry, r *Result) error {
	s := p.Config.Slack
	err := alert.Digests{Store: p.Store}.Add(ctx, s.PeriodStart(p.now()), s.Every(), r.Route.Channel, entry.Key, policy.Caller(r.Finding.Actor), r.Finding)
	if err != nil {
		return fmt.Errorf("digest: %w", err)
	}
	return nil
}

// notifyOnly lets flood control count for a sink whose messages cannot be changed: with a window
// of 0 no finding ever joins, so Update and Reply are never called.
type notifyOnly struct{ notify.Sink }

func (n notifyOnly) Update(context.Context, alert.Delivery, alert.Alert) error {
	return errors.New("this sink cannot update a message")
}

func (n notifyOnly) Reply(context.Context, alert.Delivery, render.FollowUp) error {
	return errors.New("this sink cannot reply in a thread")
}

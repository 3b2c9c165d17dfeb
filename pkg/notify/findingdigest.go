package notify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/slack-go/slack"

	"github.com/iam-watchdog/iam-watchdog/pkg/alert"
	"github.com/iam-watchdog/iam-watchdog/pkg/render"
	"github.com/iam-watchdog/iam-watchdog/pkg/state"
)

// Poster posts a message that is not an alert, a digest, to a channel ("" for the sink's own).
type Poster interface {
	Post(ctx context.Context, channel string, m render.Message) (alert.Delivery, error)
}

var (
	_ Poster = (*Bot)(nil)
	_ Poster = (*Webhook)(nil)
	_ Poster = (*Console)(nil)
)

// Post posts m to channel, or to the bot's own channel for "".
func (b *Bot) Post(ctx context.Context, channel string, m render.Message) (alert.Delivery, error) {
	if channel == "" {
		channel = b.channel
	}
	if channel == "" {
		return alert.Delivery{}, errors.New("this Slack client has no channel to post to")
	}
	var d alert.Delivery
	err := b.retry.do(ctx, func(ctx context.Context) error {
		ch, ts, err := b.client.PostMessageContext(ctx, channel, slack.MsgOptionBlocks(m.Blocks...), slack.MsgOptionText(m.Text, false))
		d = alert.Delivery{Channel: ch, TS: ts}
		return err
	})
	if err != nil {
		return alert.Delivery{}, fmt.Errorf("post to Slack channel %s: %w", channel, err)
	}
	return d, nil
}

// Post posts m through the webhook, whose channel is fixed when the webhook is made: a digest
// routed to another channel lands there too.
func (w *Webhook) Post(ctx context.Context, _ string, m render.Message) (alert.Delivery, error) {
	body := &slack.WebhookMessage{Text: m.Text, Blocks: &slack.Blocks{BlockSet: m.Blocks}}
	err := w.retry.do(ctx, func(ctx context.Context) error {
		return slack.PostWebhookCustomHTTPContext(ctx, w.url, w.client, body)
	})
	if err != nil {
		return alert.Delivery{}, fmt.Errorf("post to Slack webhook: %w", redactURL(err, w.url))
	}
	return alert.Delivery{}, nil
}

// Post writes m's text.
func (c *Console) Post(_ context.Context, channel string, m render.Message) (alert.Delivery, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if channel != "" {
		if _, err := fmt.Fprintf(c.w, "[%s] ", channel); err != nil {
			return alert.Delivery{}, err
		}
	}
	_, err := io.WriteString(c.w, m.Text+"\n")
	return alert.Delivery{}, err
}

// DigestOptions are what PostDigest needs.
type DigestOptions struct {
	// Store holds the digest's entries (the state table).
	Store  state.Store
	Poster Poster
	// Owner names this run in the claims that keep two runs from posting one digest twice.
	Owner string
	// Lease is how long a claim holds; it must outlast one post. 0 means a minute.
	Lease time.Duration
	// Now is the clock that says which periods have ended; nil means time.Now.
	Now func() time.Time
	Log *slog.Logger
}

// PostDigest posts the findings digest of every period that has ended: one message per channel
// and period, claimed first, so that two runs of the schedule (or a retried one) never post one
// twice, and recorded after. A run that dies between posting and recording leaves its claim to
// expire, and the digest is posted again: a duplicate is the lesser harm than a lost digest. It returns how many it posted. A digest that cannot be posted is
// named in the error and stays open for the next run; the others are still posted. Periods that
// have not ended are left to fill.
func PostDigest(ctx context.Context, o DigestOptions) (posted int, err error) {
	now, lease, log := time.Now(), o.Lease, o.Log
	if o.Now != nil {
		now = o.Now()
	}
	if lease <= 0 {
		lease = time.Minute
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := alert.Digests{Store: o.Store}
	open, err := d.Open(ctx)
	if err != nil {
		return 0, fmt.Errorf("digest: list the open periods: %w", err)
	}
	var errs []error
	for _, p := range open {
		if now.Before(p.End()) {
			continue
		}
		for _, channel := range p.Channels {
			ok, err := postOne(ctx, d, o.Poster, p, channel, o.Owner, lease)
			switch {
			case err != nil:
				errs = append(errs, err)
				log.ErrorContext(ctx, "digest not posted", "period", p.Start, "channel", channel, "error", err.Error())
			case ok:
				posted++
				log.InfoContext(ctx, "digest posted", "period", p.Start, "channel", channel)
			}
		}
	}
	return posted, errors.Join(errs...)
}

// postOne posts one channel's digest of one period, unless another run holds or posted it.
func postOne(ctx context.Context, d alert.Digests, poster Poster, p alert.OpenDigest, channel, owner string, lease time.Duration) (bool, error) {
	claim, err := d.ClaimPost(ctx, p.Start, channel, owner, lease)
	switch {
	case errors.Is(err, alert.ErrDigestPosted):
		// Posted by a run that stopped before closing it.
		return false, d.Close(ctx, p.Start, channel)
	case errors.Is(err, state.ErrBusy):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("digest of %s: claim: %w", p.Start.Format(time.RFC3339), err)
	}
	failed := func(err error) (bool, error) {
		return false, fmt.Errorf("digest of %s: %w", p.Start.Format(time.RFC3339), errors.Join(err, d.Release(ctx, claim)))
	}
	entries, err := d.Read(ctx, p.Start, channel)
	if err != nil {
		return failed(err)
	}
	at, err := poster.Post(ctx, channel, render.DigestMessage(entries, p.Start, p.End()))
	if err != nil {
		return failed(err)
	}
	if err := d.Posted(ctx, claim, p.Start, channel, at); err != nil {
		return true, fmt.Errorf("digest of %s: %w", p.Start.Format(time.RFC3339), err)
	}
	return true, nil
}

package notify

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/slack-go/slack"

	"github.com/iam-watchdog/iam-watchdog/pkg/render"
)

// DigestSink posts periodic digests (render.Digest): the scheduled audit's, and any other
// report the schedule makes. The Slack bot and webhook post one message each, with the same
// retries as alerts; the console writes the digest's text.
type DigestSink interface {
	PostDigest(ctx context.Context, d render.Digest) error
}

var (
	_ DigestSink = (*Bot)(nil)
	_ DigestSink = (*Webhook)(nil)
	_ DigestSink = (*Console)(nil)
)

// PostDigest posts d to the bot's channel (chat.postMessage).
func (b *Bot) PostDigest(ctx context.Context, d render.Digest) error {
	if b.channel == "" {
		return errors.New("this Slack client has no channel to post digests to")
	}
	msg := render.NewDigestMessage(d)
	err := b.retry.do(ctx, func(ctx context.Context) error {
		_, _, err := b.client.PostMessageContext(ctx, b.channel, slack.MsgOptionBlocks(msg.Blocks...), slack.MsgOptionText(msg.Text, false))
		return err
	})
	if err != nil {
		return fmt.Errorf("post digest %q to Slack channel %s: %w", d.Title, b.channel, err)
	}
	return nil
}

// PostDigest posts d to the incoming webhook.
func (w *Webhook) PostDigest(ctx context.Context, d render.Digest) error {
	msg := render.NewDigestMessage(d)
	body := &slack.WebhookMessage{Text: msg.Text, Blocks: &slack.Blocks{BlockSet: msg.Blocks}}
	err := w.retry.do(ctx, func(ctx context.Context) error {
		return slack.PostWebhookCustomHTTPContext(ctx, w.url, w.client, body)
	})
	if err != nil {
		return fmt.Errorf("post digest %q to Slack webhook: %w", d.Title, redactURL(err, w.url))
	}
	return nil
}

// PostDigest writes d's text in one Write.
func (c *Console) PostDigest(_ context.Context, d render.Digest) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := io.WriteString(c.w, render.DigestText(d)); err != nil {
		return fmt.Errorf("write digest %q: %w", d.Title, err)
	}
	return nil
}

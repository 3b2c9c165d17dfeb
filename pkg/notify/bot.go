package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/slack-go/slack"

	"github.com/iam-watchdog/iam-watchdog/pkg/alert"
	"github.com/iam-watchdog/iam-watchdog/pkg/render"
)

// BotConfig configures a Bot.
type BotConfig struct {
	// Token is a bot token (xoxb-…) with the chat:write scope.
	Token string
	// Channel is a channel ID (C0123…) or name the bot is a member of.
	Channel string
	// APIURL is the Web API's base URL; empty means Slack's own. Tests point it elsewhere.
	APIURL string
	// HTTPClient sends the requests; nil means a client with DefaultTimeout.
	HTTPClient *http.Client
	// MaxAttempts bounds the attempts at one message; 0 means DefaultMaxAttempts.
	MaxAttempts int
	// MessageOptions change how alerts are rendered.
	MessageOptions []render.MessageOption
}

// Validate reports what is missing. It never repeats the token.
func (c BotConfig) Validate() error {
	var errs []error
	if c.Token == "" {
		errs = append(errs, errors.New("bot token is empty"))
	}
	if c.Channel == "" {
		errs = append(errs, errors.New("channel is empty"))
	}
	if c.MaxAttempts < 0 {
		errs = append(errs, fmt.Errorf("max attempts is %d, want 0 (the default) or more", c.MaxAttempts))
	}
	return errors.Join(errs...)
}

// String redacts the token, so that printing a config with %v or %+v cannot leak it.
func (c BotConfig) String() string {
	return fmt.Sprintf("BotConfig{Token:%s Channel:%q APIURL:%q MaxAttempts:%d}",
		redact(c.Token), c.Channel, c.APIURL, c.MaxAttempts)
}

// GoString redacts the token from %#v as well.
func (c BotConfig) GoString() string { return c.String() }

// LogValue redacts the token when a config is logged with slog.
func (c BotConfig) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("token", redact(c.Token)),
		slog.String("channel", c.Channel),
		slog.String("api_url", c.APIURL),
		slog.Int("max_attempts", c.MaxAttempts),
	)
}

// Bot posts alerts to a channel with a bot token through chat.postMessage. Unlike a webhook it
// learns each message's timestamp, so later updates can go to the alert's thread.
type Bot struct {
	client  *slack.Client
	channel string
	retry   retrier
	opts    []render.MessageOption
}

var _ Sink = (*Bot)(nil)

var _ Threads = (*Bot)(nil)

// NewBot checks cfg and builds a Bot. The client it builds is meant to live as long as the
// process, so that warm Lambda invocations reuse its connections.
func NewBot(cfg BotConfig) (*Bot, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("slack bot config: %w", err)
	}
	return newBot(cfg), nil
}

// NewBotClient builds a Bot that only works on messages already posted (Update, Reply,
// Ephemeral, GroupMembers), so it needs no channel of its own: the interactivity function,
// which finds each message's channel in the state table.
func NewBotClient(cfg BotConfig) (*Bot, error) {
	cfg.Channel = "-"
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("slack bot config: %w", err)
	}
	b := newBot(cfg)
	b.channel = ""
	return b, nil
}

func newBot(cfg BotConfig) *Bot {
	hc := httpClientOrDefault(cfg.HTTPClient)
	options := []slack.Option{slack.OptionHTTPClient(hc)}
	if cfg.APIURL != "" {
		// slack-go appends method names straight to the base URL.
		options = append(options, slack.OptionAPIURL(strings.TrimSuffix(cfg.APIURL, "/")+"/"))
	}
	return &Bot{
		client:  slack.New(cfg.Token, options...),
		channel: cfg.Channel,
		retry:   newRetrier(cfg.MaxAttempts),
		opts:    cfg.MessageOptions,
	}
}

// Notify posts one alert and returns the channel ID and message timestamp Slack assigned.
func (b *Bot) Notify(ctx context.Context, a alert.Alert) (alert.Delivery, error) {
	if b.channel == "" {
		return alert.Delivery{}, errors.New("this Slack client has no channel to post alerts to")
	}
	msg := render.NewMessage(a, b.opts...)
	var d alert.Delivery
	err := b.retry.do(ctx, func(ctx context.Context) error {
		channel, ts, err := b.client.PostMessageContext(ctx, b.channel,
			slack.MsgOptionBlocks(msg.Blocks...),
			slack.MsgOptionText(msg.Text, false))
		d = alert.Delivery{Channel: channel, TS: ts}
		return err
	})
	if err != nil {
		return alert.Delivery{}, fmt.Errorf("post alert for event %s to Slack channel %s: %w", a.Finding.EventID, b.channel, err)
	}
	return d, nil
}

// redact says whether a secret is set without showing any of it.
func redact(secret string) string {
	if secret == "" {
		return "unset"
	}
	return "REDACTED"
}

// Update renders a again in the message d names (chat.update), with the same options as
// Notify. Slack keeps the message's thread.
func (b *Bot) Update(ctx context.Context, d alert.Delivery, a alert.Alert) error {
	if d.Channel == "" || d.TS == "" {
		return fmt.Errorf("update alert for event %s: no message to update", a.Finding.EventID)
	}
	msg := render.NewMessage(a, b.opts...)
	err := b.retry.do(ctx, func(ctx context.Context) error {
		_, _, _, err := b.client.UpdateMessageContext(ctx, d.Channel, d.TS,
			slack.MsgOptionBlocks(msg.Blocks...),
			slack.MsgOptionText(msg.Text, false))
		return err
	})
	if err != nil {
		return fmt.Errorf("update Slack message %s in %s for event %s: %w", d.TS, d.Channel, a.Finding.EventID, err)
	}
	return nil
}

// Reply posts f in the thread of the message d names.
func (b *Bot) Reply(ctx context.Context, d alert.Delivery, f render.FollowUp) error {
	if d.Channel == "" || d.TS == "" {
		return errors.New("reply: no message to reply to")
	}
	text := f.SlackText()
	err := b.retry.do(ctx, func(ctx context.Context) error {
		_, _, err := b.client.PostMessageContext(ctx, d.Channel,
			slack.MsgOptionText(text, false),
			slack.MsgOptionTS(d.TS))
		return err
	})
	if err != nil {
		return fmt.Errorf("reply in thread %s of %s: %w", d.TS, d.Channel, err)
	}
	return nil
}

// Ephemeral shows text (mrkdwn, written by the caller) to one user in a channel, and to
// nobody else (chat.postEphemeral).
func (b *Bot) Ephemeral(ctx context.Context, channel, user, text string) error {
	err := b.retry.do(ctx, func(ctx context.Context) error {
		_, err := b.client.PostEphemeralContext(ctx, channel, user, slack.MsgOptionText(text, false))
		return err
	})
	if err != nil {
		return fmt.Errorf("ephemeral message to %s in %s: %w", user, channel, err)
	}
	return nil
}

// GroupMembers lists the user IDs in a Slack user group (usergroups.users.list; the token
// needs usergroups:read).
func (b *Bot) GroupMembers(ctx context.Context, group string) ([]string, error) {
	var users []string
	err := b.retry.do(ctx, func(ctx context.Context) error {
		var err error
		users, err = b.client.GetUserGroupMembersContext(ctx, group)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("members of Slack user group %s: %w", group, err)
	}
	return users, nil
}

package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/slack-go/slack"

	"github.com/iam-watchdog/iam-watchdog/pkg/alert"
	"github.com/iam-watchdog/iam-watchdog/pkg/render"
)

// WebhookConfig configures a Webhook.
type WebhookConfig struct {
	// URL is the incoming webhook's URL. It is a credential: anyone holding it can post.
	URL string
	// HTTPClient sends the requests; nil means a client with DefaultTimeout.
	HTTPClient *http.Client
	// MaxAttempts bounds the attempts at one message; 0 means DefaultMaxAttempts.
	MaxAttempts int
	// MessageOptions change how alerts are rendered.
	MessageOptions []render.MessageOption
}

// Validate reports what is wrong with the URL without repeating it.
func (c WebhookConfig) Validate() error {
	var errs []error
	if c.URL == "" {
		errs = append(errs, errors.New("webhook URL is empty"))
	} else if u, err := url.Parse(c.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		errs = append(errs, errors.New("webhook URL is not an absolute http(s) URL"))
	}
	if c.MaxAttempts < 0 {
		errs = append(errs, fmt.Errorf("max attempts is %d, want 0 (the default) or more", c.MaxAttempts))
	}
	return errors.Join(errs...)
}

// String redacts the URL, so that printing a config cannot leak it.
func (c WebhookConfig) String() string {
	return fmt.Sprintf("WebhookConfig{URL:%s MaxAttempts:%d}", redact(c.URL), c.MaxAttempts)
}

// GoString redacts the URL from %#v as well.
func (c WebhookConfig) GoString() string { return c.String() }

// LogValue redacts the URL when a config is logged with slog.
func (c WebhookConfig) LogValue() slog.Value {
	return slog.GroupValue(slog.String("url", redact(c.URL)), slog.Int("max_attempts", c.MaxAttempts))
}

// Webhook posts alerts to a Slack incoming webhook. Webhooks answer with "ok" and no message
// identity, so its Deliveries are empty.
type Webhook struct {
	url    string
	client *http.Client
	retry  retrier
	opts   []render.MessageOption
}

var _ Sink = (*Webhook)(nil)

// NewWebhook checks cfg and builds a Webhook.
func NewWebhook(cfg WebhookConfig) (*Webhook, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("slack webhook config: %w", err)
	}
	hc := httpClientOrDefault(cfg.HTTPClient)
	return &Webhook{url: cfg.URL, client: hc, retry: newRetrier(cfg.MaxAttempts), opts: cfg.MessageOptions}, nil
}

// Notify posts one alert. slack-go reports a 429 with a Retry-After header as a
// *slack.RateLimitedError, any other non-200 answer as a slack.StatusCodeError and a transport
// failure as a wrapped *url.Error, the same as for the Web API, so one retry policy serves both.
func (w *Webhook) Notify(ctx context.Context, a alert.Alert) (alert.Delivery, error) {
	msg := render.NewMessage(a, w.opts...)
	body := &slack.WebhookMessage{Text: msg.Text, Blocks: &slack.Blocks{BlockSet: msg.Blocks}}
	err := w.retry.do(ctx, func(ctx context.Context) error {
		return slack.PostWebhookCustomHTTPContext(ctx, w.url, w.client, body)
	})
	if err != nil {
		return alert.Delivery{}, fmt.Errorf("post alert for event %s to Slack webhook: %w", a.Finding.EventID, redactURL(err, w.url))
	}
	return alert.Delivery{}, nil
}

// redactedWebhookURL replaces the webhook URL in error text. A transport error (*url.Error)
// quotes the whole URL, secret path included, and errors end up in logs.
const redactedWebhookURL = "[webhook URL redacted]"

// redactURL hides secretURL in err's text. errors.Is and errors.As still see the original
// error: whoever digs it out takes responsibility for not printing it.
func redactURL(err error, secretURL string) error {
	msg := err.Error()
	if secretURL == "" || !strings.Contains(msg, secretURL) {
		return err
	}
	return &redactedError{msg: strings.ReplaceAll(msg, secretURL, redactedWebhookURL), err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

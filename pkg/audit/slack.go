package audit

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/slack-go/slack"
)

// SlackChecker proves the watchdog can still speak in Slack, for the watchdog-slack check.
type SlackChecker interface {
	// SlackToken reads the Slack secret and returns its bot token, or "" when the secret holds
	// only an incoming webhook, which auth.test cannot try. Errors must not carry the secret.
	SlackToken(ctx context.Context) (string, error)
	// AuthTest calls Slack's auth.test with token; nil means Slack accepts the token.
	AuthTest(ctx context.Context, token string) error
}

// slackTimeout bounds one auth.test when Slack is given no HTTP client: slack-go's default
// client has no timeout.
const slackTimeout = 10 * time.Second

// Slack checks the real Slack: ReadToken reads the secret (the lead's wiring of
// notify.LoadSecret), and auth.test goes through slack-go to APIURL ("" for Slack's own).
type Slack struct {
	ReadToken  func(ctx context.Context) (string, error)
	APIURL     string       // with a trailing slash, as slack-go wants; "" for https://slack.com/api/
	HTTPClient *http.Client // nil for a client with a 10-second timeout
}

var _ SlackChecker = Slack{}

// SlackToken calls ReadToken.
func (s Slack) SlackToken(ctx context.Context) (string, error) {
	if s.ReadToken == nil {
		return "", errors.New("no way to read the Slack secret was configured")
	}
	return s.ReadToken(ctx)
}

// AuthTest calls auth.test. The error is Slack's (invalid_auth, account_inactive, …), wrapped.
func (s Slack) AuthTest(ctx context.Context, token string) error {
	client := s.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: slackTimeout}
	}
	opts := []slack.Option{slack.OptionHTTPClient(client)}
	if s.APIURL != "" {
		opts = append(opts, slack.OptionAPIURL(s.APIURL))
	}
	if _, err := slack.New(token, opts...).AuthTestContext(ctx); err != nil {
		return fmt.Errorf("slack auth.test: %w", err)
	}
	return nil
}

package notify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/slack-go/slack"

	"github.com/iam-watchdog/iam-watchdog/internal/sleep"
)

// Defaults for the Slack sinks.
const (
	// DefaultMaxAttempts bounds the attempts at one delivery, the first included.
	DefaultMaxAttempts = 4
	// DefaultTimeout bounds one HTTP request. slack-go's own client has no timeout at all, so a
	// stalled connection would hold a Lambda until it is killed.
	DefaultTimeout = 10 * time.Second
)

// slackBackoff doubles from 250ms up to 4s, jittered so that many Lambdas refused at once do
// not come back at once.
var slackBackoff = sleep.Backoff{Base: 250 * time.Millisecond, Max: 4 * time.Second}

// minRateLimitWait applies when Slack answers 429 without saying how long to wait.
const minRateLimitWait = time.Second

// retrier is the delivery policy the bot and the webhook share: honour Retry-After, back off
// on 5xx and transport errors, give up after maxAttempts, and never sleep past the context's
// deadline, since a Lambda killed mid-sleep loses the alert and its error together.
type retrier struct {
	maxAttempts int
	backoff     func(attempt int) time.Duration
}

func newRetrier(maxAttempts int) retrier {
	if maxAttempts <= 0 {
		maxAttempts = DefaultMaxAttempts
	}
	return retrier{maxAttempts: maxAttempts, backoff: func(attempt int) time.Duration { return slackBackoff.Delay(attempt - 1) }}
}

// do calls send until it succeeds, fails for good, or the attempts or the time run out. The
// error returned wraps the last one send returned.
func (r retrier) do(ctx context.Context, send func(context.Context) error) error {
	for attempt := 1; ; attempt++ {
		err := send(ctx)
		if err == nil {
			return nil
		}
		if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
			return fmt.Errorf("not retrying: %w: %w", ctxErr, err)
		}
		wait, ok := r.retryAfter(ctx, err, attempt)
		if !ok {
			return err
		}
		if attempt >= r.maxAttempts {
			return fmt.Errorf("gave up after %d attempts: %w", attempt, err)
		}
		if deadline, has := ctx.Deadline(); has && time.Until(deadline) < wait {
			return fmt.Errorf("not retrying: waiting %s would pass the deadline: %w", wait, err)
		}
		if werr := sleep.For(ctx, wait); werr != nil {
			return fmt.Errorf("waiting %s to retry: %w", wait, errors.Join(werr, err))
		}
	}
}

// retryAfter says whether err is worth another attempt and how long to wait first. A POST
// that timed out may have been delivered, so a retry can duplicate a message; a duplicate alert
// is the lesser harm than a lost one.
func (r retrier) retryAfter(ctx context.Context, err error, attempt int) (time.Duration, bool) {
	if ctx.Err() != nil {
		return 0, false
	}
	var rateLimited *slack.RateLimitedError
	if errors.As(err, &rateLimited) {
		if rateLimited.RetryAfter > 0 {
			return rateLimited.RetryAfter, true
		}
		return max(r.backoff(attempt), minRateLimitWait), true
	}
	var status slack.StatusCodeError
	if errors.As(err, &status) {
		switch {
		case status.Code == http.StatusTooManyRequests: // 429 without a Retry-After header
			return max(r.backoff(attempt), minRateLimitWait), true
		case status.Code >= 500:
			return r.backoff(attempt), true
		}
		return 0, false
	}
	var api slack.SlackErrorResponse
	if errors.As(err, &api) {
		// Slack's Web API reports some outages inside a 200 answer.
		return r.backoff(attempt), api.Err == "service_unavailable"
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return r.backoff(attempt), true
	}
	return 0, false
}

// httpClientOrDefault is c, or a client with DefaultTimeout when c is nil.
func httpClientOrDefault(c *http.Client) *http.Client {
	if c == nil {
		return &http.Client{Timeout: DefaultTimeout}
	}
	return c
}

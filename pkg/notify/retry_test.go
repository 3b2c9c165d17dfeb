package notify

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

func TestRetryAfter(t *testing.T) {
	const backoff = 10 * time.Millisecond
	r := retrier{maxAttempts: 4, backoff: func(int) time.Duration { return backoff }}
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name      string
		ctx       context.Context
		err       error
		wantRetry bool
		wantWait  time.Duration
	}{
		{"rate limited", context.Background(), &slack.RateLimitedError{RetryAfter: 7 * time.Second}, true, 7 * time.Second},
		{"rate limited, no wait given", context.Background(), &slack.RateLimitedError{}, true, minRateLimitWait},
		{"429 without Retry-After", context.Background(), slack.StatusCodeError{Code: 429}, true, minRateLimitWait},
		{"500", context.Background(), slack.StatusCodeError{Code: 500}, true, backoff},
		{"503 wrapped", context.Background(), fmt.Errorf("post: %w", slack.StatusCodeError{Code: 503}), true, backoff},
		{"403", context.Background(), slack.StatusCodeError{Code: 403}, false, 0},
		{"service_unavailable", context.Background(), slack.SlackErrorResponse{Err: "service_unavailable"}, true, backoff},
		{"invalid_auth", context.Background(), slack.SlackErrorResponse{Err: "invalid_auth"}, false, 0},
		{"transport", context.Background(), fmt.Errorf("failed to post webhook: %w", &url.Error{Op: "Post", URL: "x", Err: syscall.ECONNRESET}), true, backoff},
		{"other", context.Background(), errors.New("marshal failed"), false, 0},
		{"context over", canceled, &url.Error{Op: "Post", URL: "x", Err: context.Canceled}, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wait, retry := r.retryAfter(tt.ctx, tt.err, 1)
			if retry != tt.wantRetry || (retry && wait != tt.wantWait) {
				t.Errorf("retryAfter = %s, %v; want %s, %v", wait, retry, tt.wantWait, tt.wantRetry)
			}
		})
	}
}

func TestBackoffBounds(t *testing.T) {
	for attempt := 1; attempt <= 20; attempt++ {
		d := newRetrier(0).backoff(attempt)
		full := min(250*time.Millisecond<<min(attempt-1, 8), 4*time.Second)
		if d < full/2 || d > full {
			t.Errorf("attempt %d: %s, want %s..%s", attempt, d, full/2, full)
		}
	}
}

// Canceling while waiting to retry ends the wait at once.
func TestRetryStopsOnCancel(t *testing.T) {
	r := retrier{maxAttempts: 4, backoff: func(int) time.Duration { return time.Hour }}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var calls atomic.Int32
	failed := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- r.do(ctx, func(context.Context) error {
			if calls.Add(1) == 1 {
				close(failed)
			}
			return slack.StatusCodeError{Code: 500}
		})
	}()
	<-failed
	cancel()
	select {
	case err := <-done:
		var sc slack.StatusCodeError
		if !errors.Is(err, context.Canceled) || !errors.As(err, &sc) || calls.Load() != 1 {
			t.Errorf("err = %v after %d calls, want context.Canceled and the 500 after 1", err, calls.Load())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("still waiting after cancel")
	}
}

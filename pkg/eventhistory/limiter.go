package eventhistory

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/iam-watchdog/iam-watchdog/internal/sleep"
)

// DefaultRate is LookupEvents' quota in calls a second, per account and region ("The rate of
// lookup requests is limited to two per second, per account, per Region").
// Reference: https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupEvents.html
const DefaultRate = 2.0

// Limiter spaces calls evenly, at most rate a second, with no burst: each call starts at least
// 1/rate after the one before. Share one among every reader of one account and region, since
// the quota is theirs together. It is safe for concurrent use.
type Limiter struct {
	interval time.Duration
	mu       sync.Mutex
	next     time.Time // when the next call may start
	now      func() time.Time
	sleep    func(context.Context, time.Duration) error
}

// NewLimiter returns a limiter of rate calls a second; rate must be positive.
func NewLimiter(rate float64) (*Limiter, error) {
	if !(rate > 0) || rate > 1e9 {
		return nil, fmt.Errorf("rate %v calls a second: want a positive number", rate)
	}
	return &Limiter{interval: time.Duration(float64(time.Second) / rate), now: time.Now, sleep: sleep.For}, nil
}

// Wait blocks until the caller may make one call, or ctx ends (its error is returned, and the
// call must not be made).
func (l *Limiter) Wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	l.mu.Lock()
	now := l.now()
	at := l.next
	if at.Before(now) {
		at = now
	}
	l.next = at.Add(l.interval)
	l.mu.Unlock()
	if d := at.Sub(now); d > 0 {
		return l.sleep(ctx, d)
	}
	return nil
}

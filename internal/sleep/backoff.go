package sleep

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff spaces out the tries of a retry loop. The wait before retry n (0 for the first retry)
// is Base doubled n times, at most Max, picked at random in its upper half: callers refused
// together (Lambdas throttled by Slack, writers losing a race for one DynamoDB item) then come
// back apart instead of colliding again in lockstep.
type Backoff struct {
	Base, Max time.Duration
}

// Delay is the wait before retry n.
func (b Backoff) Delay(n int) time.Duration {
	d := b.Base
	for i := 0; i < n && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	return d/2 + rand.N(d/2+1) // #nosec G404 -- jitter needs no cryptographic randomness.
}

// Wait waits Delay(n), or until ctx ends; then it returns ctx's error.
func (b Backoff) Wait(ctx context.Context, n int) error {
	return For(ctx, b.Delay(n))
}

// Package sleep waits for a while or until a context ends, whichever comes first; Backoff
// spaces out the tries of the retry loops (Slack, DynamoDB, a burst waiting for its leader).
package sleep

import (
	"context"
	"time"
)

// For waits d, or until ctx ends; then it returns ctx's error.
func For(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

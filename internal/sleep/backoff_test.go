package sleep

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestBackoffDelay(t *testing.T) {
	b := Backoff{Base: 5 * time.Millisecond, Max: 200 * time.Millisecond}
	for _, tc := range []struct {
		n    int
		full time.Duration // the delay before jitter
	}{
		{0, 5 * time.Millisecond},
		{1, 10 * time.Millisecond},
		{5, 160 * time.Millisecond},
		{6, 200 * time.Millisecond},
		{100, 200 * time.Millisecond}, // no overflow however many retries
	} {
		for range 50 {
			if d := b.Delay(tc.n); d < tc.full/2 || d > tc.full {
				t.Fatalf("Delay(%d) = %s, want %s..%s", tc.n, d, tc.full/2, tc.full)
			}
		}
	}
}

func TestBackoffWaitStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	start := time.Now()
	err := Backoff{Base: time.Hour, Max: time.Hour}.Wait(ctx, 0)
	if !errors.Is(err, context.Canceled) || time.Since(start) > time.Minute {
		t.Errorf("Wait on an ended context: %v after %s, want context.Canceled at once", err, time.Since(start))
	}
}

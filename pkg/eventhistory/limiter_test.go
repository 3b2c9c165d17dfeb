package eventhistory

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

// fakeClock is a clock that moves only when the limiter sleeps.
type fakeClock struct {
	t      time.Time
	slept  []time.Duration
	cancel func() // called at the first sleep, when set
}

func (c *fakeClock) now() time.Time { return c.t }

func (c *fakeClock) sleep(ctx context.Context, d time.Duration) error {
	c.slept = append(c.slept, d)
	if c.cancel != nil {
		c.cancel()
		return ctx.Err()
	}
	c.t = c.t.Add(d)
	return nil
}

func fakeLimiter(t *testing.T, rate float64) (*Limiter, *fakeClock) {
	t.Helper()
	l, err := NewLimiter(rate)
	if err != nil {
		t.Fatal(err)
	}
	c := &fakeClock{t: time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)}
	l.now, l.sleep = c.now, c.sleep
	return l, c
}

func TestLimiterSpacesCalls(t *testing.T) {
	for _, tc := range []struct {
		name  string
		rate  float64
		pause time.Duration // the caller's own time between calls
		calls int
		want  []time.Duration
	}{
		{"two a second, back to back", 2, 0, 4, []time.Duration{500 * time.Millisecond, 500 * time.Millisecond, 500 * time.Millisecond}},
		{"slow callers never wait", 2, 600 * time.Millisecond, 4, nil},
		{"callers taking part of the interval wait the rest", 2, 200 * time.Millisecond, 3, []time.Duration{300 * time.Millisecond, 300 * time.Millisecond}},
		{"one every two seconds", 0.5, 0, 3, []time.Duration{2 * time.Second, 2 * time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, c := fakeLimiter(t, tc.rate)
			var starts []time.Time
			for range tc.calls {
				if err := l.Wait(t.Context()); err != nil {
					t.Fatal(err)
				}
				starts = append(starts, c.t)
				c.t = c.t.Add(tc.pause)
			}
			if !slices.Equal(c.slept, tc.want) {
				t.Errorf("slept %v, want %v", c.slept, tc.want)
			}
			interval := time.Duration(float64(time.Second) / tc.rate)
			for i := 1; i < len(starts); i++ {
				if gap := starts[i].Sub(starts[i-1]); gap < interval {
					t.Errorf("calls %d and %d %s apart, under %s", i-1, i, gap, interval)
				}
			}
		})
	}
}

func TestLimiterEndsWithTheContext(t *testing.T) {
	l, c := fakeLimiter(t, 2)
	if err := l.Wait(t.Context()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	c.cancel = cancel
	if err := l.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("waiting on a context that ends: %v, want context.Canceled", err)
	}
	if err := l.Wait(ctx); !errors.Is(err, context.Canceled) || len(c.slept) != 1 {
		t.Errorf("waiting on an ended context: %v after %d sleeps, want context.Canceled at once", err, len(c.slept))
	}
}

func TestNewLimiterRefusesRates(t *testing.T) {
	for _, rate := range []float64{0, -2, 2e9} {
		if _, err := NewLimiter(rate); err == nil {
			t.Errorf("NewLimiter(%v) accepted", rate)
		}
	}
}

func TestBackoff(t *testing.T) {
	for _, tc := range []struct {
		base     time.Duration
		attempt  int
		min, max time.Duration
	}{
		{time.Second, 0, 500 * time.Millisecond, time.Second},
		{time.Second, 3, 4 * time.Second, 8 * time.Second},
		{time.Second, 10, MaxBackoff / 2, MaxBackoff},
		{time.Hour, 0, MaxBackoff / 2, MaxBackoff},
		{time.Second, 1 << 20, MaxBackoff / 2, MaxBackoff},
	} {
		for range 50 {
			if d := backoff(tc.base, tc.attempt); d < tc.min || d > tc.max {
				t.Fatalf("backoff(%s, %d) = %s, want within [%s, %s]", tc.base, tc.attempt, d, tc.min, tc.max)
			}
		}
	}
}

package schedule

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/iam-watchdog/iam-watchdog/internal/watchdogtest"
	"github.com/iam-watchdog/iam-watchdog/pkg/state"
)

var start = time.Date(2026, 3, 1, 6, 0, 0, 0, time.UTC)

// TestTick drives one daily job and one job of every tick through a run of ticks: what runs,
// what is skipped and why, what each run is told of the last, and what the record keeps.
func TestTick(t *testing.T) {
	st := watchdogtest.OpenStore(t)
	now := start
	var dailyLast, everyLast []time.Time
	fail := false
	ticker := &Ticker{Store: st, Owner: "tick", Now: func() time.Time { return now }, Jobs: []Job{
		{Name: "daily", Every: 24 * time.Hour, Run: func(_ context.Context, last time.Time) error {
			dailyLast = append(dailyLast, last)
			if fail {
				return errors.New("slack is down")
			}
			return nil
		}},
		{Name: "every", Run: func(_ context.Context, last time.Time) error { everyLast = append(everyLast, last); return nil }},
	}}
	for _, step := range []struct {
		what      string
		at        time.Time
		fail      bool
		dailyRuns int    // runs of daily so far
		skipped   string // why daily was skipped, if it was
		wantErr   bool
	}{
		{what: "first tick", at: start, dailyRuns: 1},
		{what: "an hour later", at: start.Add(time.Hour), dailyRuns: 1, skipped: "not due"},
		{what: "four minutes early", at: start.Add(24*time.Hour - 4*time.Minute), dailyRuns: 2},
		{what: "next day, failing", at: start.Add(48 * time.Hour), fail: true, dailyRuns: 3, wantErr: true},
		{what: "an hour after the failure", at: start.Add(49 * time.Hour), dailyRuns: 4},
	} {
		now, fail = step.at, step.fail
		outcomes, err := ticker.Tick(t.Context())
		if (err != nil) != step.wantErr {
			t.Fatalf("%s: error %v, want error %t", step.what, err, step.wantErr)
		}
		if len(dailyLast) != step.dailyRuns {
			t.Errorf("%s: daily ran %d times, want %d", step.what, len(dailyLast), step.dailyRuns)
		}
		if got := outcomes[0].Skipped; !strings.HasPrefix(got, step.skipped) || (step.skipped == "") != (got == "") {
			t.Errorf("%s: daily skipped %q, want %q", step.what, got, step.skipped)
		}
		if !outcomes[1].Ran {
			t.Errorf("%s: a job of every tick did not run: %+v", step.what, outcomes[1])
		}
	}
	wantLast := []time.Time{{}, start, start.Add(24*time.Hour - 4*time.Minute), start.Add(24*time.Hour - 4*time.Minute)}
	for i, w := range wantLast {
		if !dailyLast[i].Equal(w) {
			t.Errorf("daily run %d was told it last ran %s, want %s (a failed run does not count)", i, dailyLast[i], w)
		}
	}
	rec, err := Last(t.Context(), st, "daily")
	if err != nil {
		t.Fatal(err)
	}
	if !rec.LastRun.Equal(start.Add(49*time.Hour)) || rec.LastError != "" || rec.Runner != "" {
		t.Errorf("record after the last run: %+v", rec)
	}
	if len(everyLast) != 5 {
		t.Errorf("the job of every tick ran %d times in 5 ticks", len(everyLast))
	}
}

// TestTickFailureRecorded: a failed run keeps its error in the record and frees the job.
func TestTickFailureRecorded(t *testing.T) {
	st := watchdogtest.OpenStore(t)
	ticker := &Ticker{Store: st, Owner: "tick", Now: func() time.Time { return start },
		Jobs: []Job{{Name: "audit", Run: func(context.Context, time.Time) error { return errors.New("access denied") }}}}
	if _, err := ticker.Tick(t.Context()); err == nil || !strings.Contains(err.Error(), "job audit: access denied") {
		t.Fatalf("Tick error %v, want the job's", err)
	}
	rec, err := Last(t.Context(), st, "audit")
	if err != nil {
		t.Fatal(err)
	}
	if !rec.LastRun.IsZero() || !rec.LastAttempt.Equal(start) || rec.LastError != "access denied" || rec.Runner != "" {
		t.Errorf("record %+v, want the attempt and its error, no last run, no runner", rec)
	}
}

// TestTickHeldElsewhere: a job another tick holds is skipped while the hold lasts, and taken
// over after it, or at once when the record claims a hold longer than any lease.
func TestTickHeldElsewhere(t *testing.T) {
	for _, tc := range []struct {
		name    string
		until   time.Time
		wantRun bool
	}{
		{"held for another minute", start.Add(time.Minute), false},
		{"hold ran out", start.Add(-time.Second), true},
		{"hold longer than a lease (not believed)", start.Add(24 * time.Hour), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := watchdogtest.OpenStore(t)
			_, err := st.Update(t.Context(), Key("audit"), func(e *state.Entry) error {
				b, _ := json.Marshal(recordBody{Schedule: Record{Runner: "other", RunningUntil: tc.until}})
				e.Body = b
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			ran := false
			ticker := &Ticker{Store: st, Owner: "me", Lease: 15 * time.Minute, Now: func() time.Time { return start },
				Jobs: []Job{{Name: "audit", Run: func(context.Context, time.Time) error { ran = true; return nil }}}}
			out, err := ticker.Tick(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if ran != tc.wantRun {
				t.Errorf("ran %t, want %t (%+v)", ran, tc.wantRun, out)
			}
			if !tc.wantRun && !strings.Contains(out[0].Skipped, "running in other") {
				t.Errorf("skipped %q, want it to name the other tick", out[0].Skipped)
			}
		})
	}
}

func TestDue(t *testing.T) {
	for _, tc := range []struct {
		last  time.Time
		now   time.Time
		every time.Duration
		want  bool
	}{
		{time.Time{}, start, time.Hour, true},
		{start, start, 0, true},
		{start, start.Add(54 * time.Minute), time.Hour, false},
		{start, start.Add(55 * time.Minute), time.Hour, true},
		{start, start.Add(24*time.Hour - 6*time.Minute), 24 * time.Hour, false},
		{start, start.Add(24*time.Hour - 5*time.Minute), 24 * time.Hour, true},
		{start.Add(time.Hour), start, 24 * time.Hour, true},
	} {
		if got := due(tc.last, tc.now, tc.every); got != tc.want {
			t.Errorf("due(last %s, now %s, every %s) = %t, want %t", tc.last, tc.now, tc.every, got, tc.want)
		}
	}
}

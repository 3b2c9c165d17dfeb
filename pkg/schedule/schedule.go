// Package schedule runs periodic jobs from one scheduled invocation (a tick of EventBridge
// Scheduler): each job that is due runs, and when it last ran is recorded in the state table.
// Jobs with their own spacing (a daily audit, an hourly digest) share one schedule, a job that
// fails runs again on the next tick, and two ticks that overlap (Scheduler and Lambda both
// deliver at least once) run a job once: a tick holds a job's record while it runs.
package schedule

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/iam-watchdog/iam-watchdog/pkg/state"
)

// Job is one periodic job.
type Job struct {
	// Name is the job's stable ID; its record is the state entry "schedule#<Name>".
	Name string
	// Every is the least time between the starts of two runs; 0 runs the job on every tick. A
	// tick a little early (Scheduler's flexible window, a slow start) still runs it: see due.
	Every time.Duration
	// Run does the job. last is when the last run that ended without error started (zero
	// before the first). An error leaves last where it was, so the next tick runs it again.
	Run func(ctx context.Context, last time.Time) error
}

// Ticker runs jobs on each tick.
type Ticker struct {
	Store state.Store
	Jobs  []Job
	// Owner names the tick holding a job while it runs (the invocation's request ID).
	Owner string
	// Lease is how long a running job is held before another tick may take it over; it must
	// outlast a run (the function's timeout). 0 means DefaultLease.
	Lease time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	Log *slog.Logger
}

// DefaultLease is the Lease of a Ticker that sets none: Lambda's longest timeout.
const DefaultLease = 15 * time.Minute

// Outcome is what one tick did with one job.
type Outcome struct {
	Job string
	// Ran is true when the job ran; Err is its error.
	Ran bool
	Err error
	// Skipped says why the job did not run: not due, or held by another tick.
	Skipped string
}

// Record is a job's state-table entry.
type Record struct {
	// LastRun is when the last run that ended without error started.
	LastRun time.Time `json:"last_run,omitzero"`
	// LastAttempt is when the last run started, and LastError how it failed ("" if it did not).
	LastAttempt time.Time `json:"last_attempt,omitzero"`
	LastError   string    `json:"last_error,omitempty"`
	// Runner holds the job until RunningUntil while it runs.
	Runner       string    `json:"runner,omitempty"`
	RunningUntil time.Time `json:"running_until,omitzero"`
}

// Key is the state key of a job's record.
func Key(job string) string { return "schedule#" + job }

// recordBody is the JSON object the record's state entry holds beside the store's fields.
type recordBody struct {
	Schedule Record `json:"schedule"`
}

// errSkip stops an update that must write nothing.
var errSkip = errors.New("skip")

// maxErrorChars bounds the error text kept in a record.
const maxErrorChars = 1000

// Tick runs each due job in turn, and returns what became of each; the error joins the errors
// of the jobs that ran and failed, and of records that could not be read or written.
func (t *Ticker) Tick(ctx context.Context) ([]Outcome, error) {
	var out []Outcome
	var errs []error
	for _, j := range t.Jobs {
		o := t.tick(ctx, j)
		if o.Err != nil {
			errs = append(errs, fmt.Errorf("job %s: %w", j.Name, o.Err))
		}
		out = append(out, o)
	}
	return out, errors.Join(errs...)
}

func (t *Ticker) tick(ctx context.Context, j Job) Outcome {
	log := t.log().With("job", j.Name)
	started := t.now()
	lease := t.Lease
	if lease <= 0 {
		lease = DefaultLease
	}
	var last time.Time
	var skipped string
	_, err := t.Store.Update(ctx, Key(j.Name), func(e *state.Entry) error {
		r, err := readRecord(*e)
		if err != nil {
			return err
		}
		// A record that says a run holds the job for longer than a lease is not believed.
		if r.Runner != "" && r.Runner != t.Owner && started.Before(r.RunningUntil) && r.RunningUntil.Sub(started) <= lease {
			skipped = fmt.Sprintf("running in %s until %s", r.Runner, r.RunningUntil.UTC().Format(time.RFC3339))
			return errSkip
		}
		if !due(r.LastRun, started, j.Every) {
			skipped = "not due: last ran " + r.LastRun.UTC().Format(time.RFC3339) + ", every " + j.Every.String()
			return errSkip
		}
		last = r.LastRun
		r.Runner, r.RunningUntil = t.Owner, started.Add(lease)
		return writeRecord(e, r, started)
	})
	switch {
	case errors.Is(err, errSkip):
		log.InfoContext(ctx, "job skipped", "reason", skipped)
		return Outcome{Job: j.Name, Skipped: skipped}
	case err != nil:
		return Outcome{Job: j.Name, Err: fmt.Errorf("claim: %w", err)}
	}

	log.InfoContext(ctx, "job running", "last_run", last)
	runErr := j.Run(ctx, last)
	o := Outcome{Job: j.Name, Ran: true, Err: runErr}
	_, err = t.Store.Update(context.WithoutCancel(ctx), Key(j.Name), func(e *state.Entry) error {
		r, err := readRecord(*e)
		if err != nil {
			return err
		}
		r.LastAttempt, r.LastError = started, ""
		if runErr != nil {
			r.LastError = truncate(runErr.Error(), maxErrorChars)
		} else if started.After(r.LastRun) {
			r.LastRun = started
		}
		if r.Runner == t.Owner {
			r.Runner, r.RunningUntil = "", time.Time{}
		}
		return writeRecord(e, r, t.now())
	})
	if err != nil {
		o.Err = errors.Join(runErr, fmt.Errorf("record the run: %w", err))
	}
	if o.Err != nil {
		log.ErrorContext(ctx, "job failed", "error", o.Err.Error())
	} else {
		log.InfoContext(ctx, "job done")
	}
	return o
}

// due reports whether a job that last ran at last is due at now. A tick may come a little early
// (Scheduler's flexible window, a cold start): a tenth of the spacing, at most five minutes, is
// forgiven, so that a daily job on a daily schedule is not skipped for a minute. A last run in
// the future (a clock or a forged record) makes the job due.
func due(last, now time.Time, every time.Duration) bool {
	if last.IsZero() || every <= 0 || last.After(now) {
		return true
	}
	return now.Sub(last) >= every-min(every/10, 5*time.Minute)
}

// Last reads a job's record; the zero Record before its first run.
func Last(ctx context.Context, st state.Store, job string) (Record, error) {
	e, err := st.Get(ctx, Key(job))
	if errors.Is(err, state.ErrNotFound) {
		return Record{}, nil
	}
	if err != nil {
		return Record{}, err
	}
	return readRecord(e)
}

func readRecord(e state.Entry) (Record, error) {
	if len(e.Body) == 0 {
		return Record{}, nil
	}
	var b recordBody
	if err := json.Unmarshal(e.Body, &b); err != nil {
		return Record{}, fmt.Errorf("schedule record %s: %w", e.Key, err)
	}
	return b.Schedule, nil
}

func writeRecord(e *state.Entry, r Record, now time.Time) error {
	body, err := json.Marshal(recordBody{Schedule: r})
	if err != nil {
		return err
	}
	e.Body = body
	e.ExpiresAt = now.Add(state.Retention)
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func (t *Ticker) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

func (t *Ticker) log() *slog.Logger {
	if t.Log != nil {
		return t.Log
	}
	return slog.New(slog.DiscardHandler)
}

package auditrun

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/iam-watchdog/iam-watchdog/pkg/audit"
	"github.com/iam-watchdog/iam-watchdog/pkg/auditstore"
	"github.com/iam-watchdog/iam-watchdog/pkg/notify"
	"github.com/iam-watchdog/iam-watchdog/pkg/schedule"
)

// JobName is the scheduled audit's name on the tick (its record is schedule#audit).
const JobName = "audit"

// Job is the scheduled audit: audit the scope, keep each account's snapshot, and post one
// digest of what changed since the last audit (the whole picture the first time).
type Job struct {
	Auditor *audit.Auditor
	Home    audit.Clients
	// Assume enters accounts other than the home account (nil: none can be).
	Assume audit.Assumer
	Scope  Scope
	Store  *auditstore.Store
	// Digest posts the digest; nil posts none.
	Digest func(ctx context.Context) (notify.DigestSink, error)
	// Always posts a digest even when nothing changed (audit.digest_always).
	Always bool
	Log    *slog.Logger
}

// Outcome is what one run of the job did, for its log and its tests.
type Outcome struct {
	Report   audit.Report
	Diff     audit.Diff
	First    bool // no earlier results were kept: the digest was the whole picture
	Posted   bool // a digest was posted
	Problems []error
}

// Schedule is the job on the tick, run at most every every (0: on every tick).
func (j *Job) Schedule(every time.Duration) schedule.Job {
	return schedule.Job{Name: JobName, Every: every, Run: func(ctx context.Context, _ time.Time) error {
		_, err := j.Run(ctx)
		return err
	}}
}

// Run audits once. Snapshots are saved account by account, and a failure to save one does not
// stop the digest; the results are saved only after the digest is posted, so that a digest that
// could not be posted is posted by the next run (the tick runs a failed job again). The error
// joins every problem; the audit's own findings are never errors.
func (j *Job) Run(ctx context.Context) (Outcome, error) {
	log := j.log()
	var o Outcome
	report, err := j.Scope.Run(ctx, j.Auditor, j.Home, j.Assume)
	if err != nil {
		return o, fmt.Errorf("audit: %w", err)
	}
	o.Report = report
	for _, snap := range report.Snapshots {
		if err := j.Store.SaveSnapshot(ctx, snap); err != nil {
			o.Problems = append(o.Problems, err)
			log.ErrorContext(ctx, "snapshot not saved: remediation will not revert to it", "account", snap.Account, "error", err.Error())
		}
	}
	previous, previousAt, found, err := j.Store.LastResults(ctx)
	if err != nil {
		// Results that cannot be read are not compared with: the next digest is the whole
		// picture again, rather than a diff against something untrusted.
		o.Problems = append(o.Problems, err)
		log.ErrorContext(ctx, "the last audit's results cannot be read: posting the whole picture", "error", err.Error())
		found = false
	}
	o.First = !found
	o.Diff = audit.Compare(sameAccounts(previous, report.Results), report.Results)
	counts := []any{"results", len(report.Results), "newly_failing", len(o.Diff.NewlyFailing), "fixed", len(o.Diff.Fixed),
		"still_failing", len(o.Diff.StillFailing), "new_errors", len(o.Diff.NewErrors), "first", o.First}
	log.InfoContext(ctx, "audited", counts...)

	if j.Digest != nil && (o.First || o.Diff.Changed() || j.Always) {
		d := FullDigest(report)
		if !o.First {
			d = ChangeDigest(report, o.Diff, previousAt)
		}
		sink, err := j.Digest(ctx)
		if err == nil {
			err = sink.PostDigest(ctx, d)
		}
		if err != nil {
			o.Problems = append(o.Problems, fmt.Errorf("post the digest: %w", err))
			return o, errors.Join(o.Problems...)
		}
		o.Posted = true
	}
	if err := j.Store.SaveResults(ctx, report.StartedAt, report.Results); err != nil {
		o.Problems = append(o.Problems, err)
	}
	return o, errors.Join(o.Problems...)
}

// sameAccounts keeps the previous results of accounts audited now: an account that left the
// organisation (or the configured list) is not "fixed".
func sameAccounts(previous, current []audit.Result) []audit.Result {
	now := map[string]bool{}
	for _, r := range current {
		now[r.Account] = true
	}
	var out []audit.Result
	for _, r := range previous {
		if now[r.Account] {
			out = append(out, r)
		}
	}
	return out
}

func (j *Job) log() *slog.Logger {
	if j.Log != nil {
		return j.Log
	}
	return slog.New(slog.DiscardHandler)
}

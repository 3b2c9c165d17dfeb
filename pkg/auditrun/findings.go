package auditrun

import (
	"context"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/iam-watchdog/iam-watchdog/pkg/lambdaenv"
	"github.com/iam-watchdog/iam-watchdog/pkg/notify"
	"github.com/iam-watchdog/iam-watchdog/pkg/schedule"
	"github.com/iam-watchdog/iam-watchdog/pkg/state"
)

// FindingsJobName is the findings digest's name on the tick (its record is
// schedule#findings-digest).
const FindingsJobName = "findings-digest"

// FindingsDigest is the findings digest (issue 20, notify.PostDigest) on the tick: on every run
// of the schedule it posts the digest of each period (slack.digest_every) that has ended, and
// claims each first, so that a tick that overlaps another posts none twice. A period ends
// between two runs of the schedule: with hourly digests, run the schedule hourly and space the
// audit with audit.every.
func FindingsDigest(st state.Store, sink func(ctx context.Context) (lambdaenv.ScheduledSink, error), log *slog.Logger) schedule.Job {
	return schedule.Job{Name: FindingsJobName, Run: func(ctx context.Context, _ time.Time) error {
		poster, err := sink(ctx)
		if err != nil {
			return err
		}
		owner := "audit-function"
		if lc, ok := lambdacontext.FromContext(ctx); ok {
			owner = lc.AwsRequestID
		}
		_, err = notify.PostDigest(ctx, notify.DigestOptions{Store: st, Poster: poster, Owner: owner, Log: log})
		return err
	}}
}

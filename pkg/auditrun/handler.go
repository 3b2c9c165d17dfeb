package auditrun

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/iam-watchdog/iam-watchdog/pkg/schedule"
)

// Invocation is the payload template.yaml's schedule (AuditSchedule) sends: a fixed source and
// EventBridge Scheduler's context attributes, which Scheduler fills in at each invocation:
//
//	https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-schedule-context-attributes.html
type Invocation struct {
	Source        string `json:"source"`
	ScheduleARN   string `json:"schedule_arn"`
	ScheduledTime string `json:"scheduled_time"`
	ExecutionID   string `json:"execution_id"`
	Attempt       string `json:"attempt"`
}

// InvocationSource is the payload's source, fixed in the template.
const InvocationSource = "iam-watchdog.schedule"

// maxLateness is how late after its scheduled time an invocation is still run: Scheduler retries
// a failed delivery for up to 24 hours (its default MaximumEventAgeInSeconds), and Lambda's
// asynchronous retries add up to six. An older one is a replay.
const maxLateness = 30 * time.Hour

// maxEarliness allows for clocks that differ a little.
const maxEarliness = 5 * time.Minute

// Handler serves the scheduled audit function: one tick of the schedule per invocation.
type Handler struct {
	Ticker *schedule.Ticker
	// ScheduleARN is the only schedule whose invocations are run (AUDIT_SCHEDULE_ARN).
	ScheduleARN string
	Log         *slog.Logger
	Now         func() time.Time
}

// Invoke runs the due jobs for a tick of the schedule. Anything that is not the schedule's
// invocation (an EventBridge event, a hand-made payload, another schedule's) is refused with a
// logged reason and not retried: a retry would read the same bytes. A job that fails is Invoke's
// error, so that Lambda retries the tick, which runs only what is still due.
func (h *Handler) Invoke(ctx context.Context, payload json.RawMessage) error {
	log := h.log()
	inv, err := h.check(payload)
	if err != nil {
		log.ErrorContext(ctx, "invocation refused: not the audit schedule's", "reason", err.Error())
		return nil
	}
	log = log.With("schedule_arn", inv.ScheduleARN, "scheduled_time", inv.ScheduledTime, "execution_id", inv.ExecutionID, "attempt", inv.Attempt)
	t := *h.Ticker
	t.Log = log
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		t.Owner = lc.AwsRequestID
	}
	if t.Owner == "" {
		t.Owner = "execution-" + inv.ExecutionID
	}
	// End a little before Lambda's deadline, so that a slow audit fails with its own error.
	if deadline, ok := ctx.Deadline(); ok {
		margin := min(5*time.Second, time.Until(deadline)/10)
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline.Add(-margin))
		defer cancel()
	}
	outcomes, err := t.Tick(ctx)
	for _, o := range outcomes {
		log.InfoContext(ctx, "tick", "job", o.Job, "ran", o.Ran, "skipped", o.Skipped)
	}
	if err != nil {
		log.ErrorContext(ctx, "tick failed: Lambda will retry", "error", err.Error())
		return err
	}
	return nil
}

// check reads the payload as the schedule's invocation and says what is wrong with it.
func (h *Handler) check(payload json.RawMessage) (Invocation, error) {
	var inv Invocation
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&inv); err != nil {
		return inv, fmt.Errorf("payload is not the schedule's object: %w", err)
	}
	if dec.More() {
		return inv, errors.New("payload has more than one JSON value")
	}
	switch {
	case inv.Source != InvocationSource:
		return inv, fmt.Errorf("source %q, want %q", inv.Source, InvocationSource)
	case h.ScheduleARN == "":
		return inv, errors.New("AUDIT_SCHEDULE_ARN is not set, so no schedule is trusted")
	case inv.ScheduleARN != h.ScheduleARN:
		return inv, fmt.Errorf("schedule %q is not %s", inv.ScheduleARN, h.ScheduleARN)
	case inv.ExecutionID == "":
		return inv, errors.New("no execution ID")
	}
	if n, err := strconv.Atoi(inv.Attempt); err != nil || n < 1 {
		return inv, fmt.Errorf("attempt %q is not a count", inv.Attempt)
	}
	at, err := time.Parse(time.RFC3339, inv.ScheduledTime)
	if err != nil {
		return inv, fmt.Errorf("scheduled time %q is not RFC 3339", inv.ScheduledTime)
	}
	now := h.now()
	if at.After(now.Add(maxEarliness)) || now.Sub(at) > maxLateness {
		return inv, fmt.Errorf("scheduled time %s is not within %s before now (%s)", inv.ScheduledTime, maxLateness, now.UTC().Format(time.RFC3339))
	}
	return inv, nil
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func (h *Handler) log() *slog.Logger {
	if h.Log != nil {
		return h.Log
	}
	return slog.New(slog.DiscardHandler)
}

// Package eventhandler is the watchdog function's Lambda handler: EventBridge delivers one
// CloudTrail event per invocation, and the handler takes its records through the pipeline
// (pkg/watchdog), with the deployment's environment (pkg/lambdaenv) built into it once per cold
// start.
package eventhandler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/iam-watchdog/iam-watchdog/pkg/alert"
	"github.com/iam-watchdog/iam-watchdog/pkg/cloudtrail"
	"github.com/iam-watchdog/iam-watchdog/pkg/notify"
	"github.com/iam-watchdog/iam-watchdog/pkg/watchdog"
)

// Log keys, as the pipeline spells them.
const (
	keyEventID = "event_id"
	keyReason  = "reason"
)

// Handler serves one EventBridge event per invocation to the pipeline.
type Handler struct {
	Pipeline *watchdog.Pipeline
	Log      *slog.Logger
	// Sink builds the alert sink on first use (reading the Slack secret once per cold start).
	// A failure is returned to Lambda, which retries the event; the next invocation tries again.
	Sink func(ctx context.Context) (notify.Sink, error)

	mu   sync.Mutex
	sink notify.Sink
}

func (h *Handler) alertSink(ctx context.Context) (notify.Sink, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.sink == nil && h.Sink != nil {
		s, err := h.Sink(ctx)
		if err != nil {
			return nil, err
		}
		h.sink = s
	}
	return h.sink, nil
}

// Invoke handles one event. It returns an error only when a retry can help: an unreadable event,
// or one that is not what EventBridge delivers from CloudTrail (accept), is logged at error level
// with the reason and not retried, since a retry would read the same bytes, and nothing in it is
// alerted or acted on; a failure to reach the state table or Slack is returned so that Lambda
// retries, and after its retries the event lands in the dead-letter queue.
func (h *Handler) Invoke(ctx context.Context, event json.RawMessage) error {
	log := h.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	recs, err := accept(event)
	switch {
	case errors.Is(err, errUnreadable):
		log.ErrorContext(ctx, "unreadable event: not retried", keyReason, err.Error())
		return nil
	case err != nil:
		log.ErrorContext(ctx, "event refused: not retried, neither alerted nor acted on", keyReason, err.Error())
		return nil
	}
	// Only watched records need the sink: an event no rule watches must not fail, and be
	// retried into the dead-letter queue, because the Slack secret cannot be read.
	var watched []*cloudtrail.Record
	for _, rec := range recs {
		if !h.Pipeline.Detector.Wants(rec) {
			log.InfoContext(ctx, "event not watched", keyEventID, rec.EventID, "event_name", rec.EventName)
			continue
		}
		watched = append(watched, rec)
	}
	if len(watched) == 0 {
		return nil
	}
	// Stop a little before Lambda's deadline, so that a slow Slack or AWS ends in this
	// function's own error, which says why, rather than in Lambda killing it.
	if deadline, ok := ctx.Deadline(); ok {
		margin := min(time.Second, time.Until(deadline)/10)
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline.Add(-margin))
		defer cancel()
	}
	sink, err := h.alertSink(ctx)
	if err != nil {
		// Remediation must not wait for Slack: act and record now, and let the alert fail so
		// that Lambda retries it, when the secret may be readable again.
		log.ErrorContext(ctx, "alert sink unavailable: acting now, alerting on retry", "error", err.Error())
		sink = unavailable{fmt.Errorf("alert sink: %w", err)}
	}
	p := *h.Pipeline
	p.Sink = sink
	p.Log = log
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		p.Owner = lc.AwsRequestID
	}
	var failed []error
	for _, rec := range watched {
		if _, err := p.Handle(ctx, rec); err != nil {
			failed = append(failed, err)
		}
	}
	if len(failed) > 0 {
		err := errors.Join(failed...)
		log.ErrorContext(ctx, "invocation failed: Lambda will retry", "error", err.Error())
		return err
	}
	return nil
}

// unavailable is the sink of an invocation whose sink could not be built: every alert fails
// with the reason, so the invocation fails and Lambda retries it.
type unavailable struct{ err error }

func (u unavailable) Notify(context.Context, alert.Alert) (alert.Delivery, error) {
	return alert.Delivery{}, u.err
}

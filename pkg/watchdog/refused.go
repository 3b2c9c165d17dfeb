package watchdog

import (
	"context"
	"log/slog"

	"github.com/iam-watchdog/iam-watchdog/pkg/remediate"
)

// refused handles a finding whose state record failed its check with the state key (changed
// or put together outside the watchdog, or written without the key): nothing in it is acted
// on or resumed, and nothing is written over it, so it stays as evidence. A retry would read
// the same record, so the invocation does not fail: the alert goes out on its own, without
// buttons, saying why nothing was done; when the sink fails too, the error log is the alert.
func (p *Pipeline) refused(ctx context.Context, log *slog.Logger, r *Result, refusal error) *Result {
	log.ErrorContext(ctx, "state record refused: not acted on", "error", refusal.Error())
	kind := r.Finding.Action.Kind
	if kind == "" {
		kind = "none"
	}
	r.Remediation = &remediate.Outcome{Action: kind, Status: remediate.Failed, Reason: refusal.Error()}
	if p.Sink == nil {
		return r
	}
	d, err := p.Sink.Notify(ctx, r.Alert)
	if err != nil {
		log.ErrorContext(ctx, "alert about a refused state record not delivered", "error", err.Error())
		return r
	}
	r.Delivery, r.Alerted = d, true
	return r
}

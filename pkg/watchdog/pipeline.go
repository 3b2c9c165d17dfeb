// Package watchdog is the pipeline: it takes one record through the stages — detect, decide,
// act, notify — and is the only package that knows all of them. The Lambda's handler
// (pkg/eventhandler) and replay (pkg/replay) build its dependencies and call Handle; nothing
// here depends on how a record arrived. What becomes of each alert afterwards is pkg/alert's.
package watchdog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/iam-watchdog/iam-watchdog/pkg/alert"
	"github.com/iam-watchdog/iam-watchdog/pkg/cloudtrail"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/notify"
	"github.com/iam-watchdog/iam-watchdog/pkg/policy"
	"github.com/iam-watchdog/iam-watchdog/pkg/remediate"
	"github.com/iam-watchdog/iam-watchdog/pkg/state"
)

// Log keys, so that every line about a finding can be found the same way.
const (
	keyEventID = "event_id"
	keyRule    = "rule"
	keyActor   = "actor"
	keyStatus  = "status"
	keyReason  = "reason"
	keySource  = "source"
)

// Remediator performs and describes remediation actions (remediate.Remediator): Plan reads
// what the undo record needs, without changing anything, and Do carries the plan out.
type Remediator interface {
	Describe(a detect.Action) string
	Plan(ctx context.Context, a detect.Action) (remediate.Undo, error)
	Do(ctx context.Context, u remediate.Undo) error
}

var _ Remediator = (*remediate.Remediator)(nil)

// Pipeline handles records. Fields left nil switch their stage off: no Store means no
// idempotency (each record is handled as new), no Remediator means auto mode cannot act
// (reported as failed), no Sink means results are only returned.
type Pipeline struct {
	Detector   *detect.Detector
	Config     policy.Config
	Remediator Remediator
	Store      state.Store
	// Codec writes and reads the pieces of authority in the alerts' records (the zero Codec
	// is the plain one).
	Codec alert.Codec
	Sink  notify.Sink
	Log   *slog.Logger
	// Owner names this process or invocation in claims.
	Owner string
	// Lease is how long a claim is held before another invocation may take it over; it must
	// outlast one invocation.
	Lease time.Duration
	// Now is the clock of flood windows; nil means time.Now.
	Now func() time.Time
}

// Result is what became of one finding.
type Result struct {
	alert.Alert
	Decision policy.Decision
	// Alerted is true when the alert was delivered to the Sink (or would be, with none).
	Alerted bool
	// Duplicate is true when the store says the finding was handled before.
	Duplicate bool
	Delivery  alert.Delivery
	// Route is how the alert reached Slack: at once, or kept for the digest (a finding of a
	// threshold that stayed below it included); zero when there was no Sink.
	Route policy.Route
}

// records is the store, as alert records.
func (p *Pipeline) records() alert.Records { return alert.Records{Store: p.Store, Codec: p.Codec} }

func (p *Pipeline) log() *slog.Logger {
	if p.Log != nil {
		return p.Log
	}
	return slog.New(slog.DiscardHandler)
}

// Handle runs one record through detection, decision, remediation and notification. It
// returns an error only when retrying the record can help (the store or the Sink failed, or
// another invocation holds the finding); results gathered so far are returned with it.
func (p *Pipeline) Handle(ctx context.Context, rec *cloudtrail.Record) ([]Result, error) {
	var results []Result
	var errs []error
	for _, f := range p.Detector.Detect(rec) {
		r, err := p.handleFinding(ctx, f)
		if err != nil {
			errs = append(errs, fmt.Errorf("event %s rule %s: %w", f.EventID, f.Rule, err))
		}
		if r != nil {
			results = append(results, *r)
		}
	}
	return results, errors.Join(errs...)
}

func (p *Pipeline) handleFinding(ctx context.Context, f detect.Finding) (*Result, error) {
	log := p.log().With(keyEventID, f.EventID, keyRule, f.Rule, keyActor, f.Actor.ARN)
	d := p.decide(ctx, &f, log)
	if !d.Alert {
		log.InfoContext(ctx, "finding dropped", keyReason, d.Reason)
		return &Result{Alert: alert.Alert{Finding: f}, Decision: d}, nil
	}
	r := &Result{Alert: alert.Alert{Finding: f}, Decision: d}

	var entry alert.Entry
	var stored alert.Pieces
	if p.Store != nil && f.EventID != "" {
		e, err := p.records().Claim(ctx, alert.Entry{Meta: state.Meta{Key: claimKey(f, d), Owner: p.Owner},
			Record: alert.Record{EventID: f.EventID, Rule: f.Rule}}, p.lease())
		switch {
		case errors.Is(err, state.ErrDone):
			r.Duplicate = true
			r.Remediation = &remediate.Outcome{Action: f.Action.Kind, Status: remediate.Skipped,
				Reason: "already handled: this event was delivered before, so it is neither acted on nor alerted again"}
			if f.Action.Kind == "" {
				r.Remediation.Action = "none"
			}
			log.InfoContext(ctx, "duplicate delivery skipped")
			return r, nil
		case err != nil:
			return nil, fmt.Errorf("claim: %w", err)
		}
		entry = e
		if stored, err = p.Codec.Open(ctx, entry); alert.IsUnauthenticated(err) {
			return p.refused(ctx, log, r, err), nil
		} else if err != nil {
			return nil, err
		}
	}

	if entry.Stage == state.Acted && stored.Outcome != nil {
		// A previous invocation acted and then failed to alert: alert with its outcome.
		r.Remediation = stored.Outcome
	} else {
		var intend func(remediate.Undo) error
		var prior *remediate.Undo
		if p.Store != nil && entry.Key != "" {
			intend = func(u remediate.Undo) error { return p.intend(ctx, &entry, f, u) }
			if entry.Stage == state.Acting && stored.Plan != nil {
				prior = stored.Plan
				log.WarnContext(ctx, "resuming an action an earlier attempt planned and may have carried out", "undo", undoJSON(prior))
			}
		}
		var undo *remediate.Undo
		var err error
		if r.Remediation, undo, err = p.act(ctx, f, d, prior, intend); err != nil {
			return nil, err
		}
		if p.Store != nil && entry.Key != "" {
			entry.Stage = state.Acted
			// The undo record stays only for a done action: a planned one that failed or
			// found nothing to do has nothing to reverse. The action, the alert and where it
			// stands are what a click in Slack needs later.
			action := f.Action
			if err := p.Codec.Seal(ctx, &entry, alert.Pieces{Action: &action, Plan: undo, Outcome: r.Remediation, Alert: &r.Alert}); err != nil {
				return nil, err
			}
			entry.SetStatus(alert.InitialStatus(r.Remediation), "watchdog", p.now())
			if err := p.saveUndo(ctx, entry, r); err != nil {
				if undo != nil {
					// The action is done but the outcome is not stored. The undo record was
					// stored before acting (stage acting), so Lambda's retry resumes from it;
					// log it too, so that a person can reverse the change from the log.
					log.ErrorContext(ctx, "outcome of a done action not saved; its undo record, stored before acting, is also here", "undo", undoJSON(undo), "error", err.Error())
				}
				return nil, err
			}
		}
	}
	if r.Remediation != nil {
		log.InfoContext(ctx, "remediation", "action", r.Remediation.Action, keyStatus, r.Remediation.Status, keyReason, r.Remediation.Reason)
	}

	if p.Sink != nil {
		del, err := p.deliver(ctx, &entry, r)
		if err != nil {
			// The remediation is recorded; a retry alerts without acting again.
			return r, fmt.Errorf("notify: %w", err)
		}
		r.Delivery = del
	}
	r.Alerted = true
	log.InfoContext(ctx, "alerted", "severity", f.Severity.String(), keySource, f.Record.Pos.String())
	if p.Store != nil && entry.Key != "" {
		if err := p.recordAlert(ctx, entry, r.Delivery); err != nil {
			return r, fmt.Errorf("record alert: %w", err)
		}
	}
	return r, nil
}

// decide applies the configuration to a finding (policy.Config.Decide) and then what the store
// knows: a change that re-applies what `watchdog undo` just put back, made by the undoer, is
// not reverted (alert.Records.ReappliedUndo). Nothing the caller chose in the request (a user
// agent, a session name) has a say.
func (p *Pipeline) decide(ctx context.Context, f *detect.Finding, log *slog.Logger) policy.Decision {
	d := p.Config.Decide(f)
	if !d.Act || p.Store == nil {
		return d
	}
	m, why := p.records().ReappliedUndo(ctx, f.Action, f.Actor.ARN, f.EventTime, p.Config.UndoGracePeriod())
	if m == nil {
		if why != "" {
			log.InfoContext(ctx, "undo marker not honoured: the change is handled as any other", keyReason, why)
		}
		return d
	}
	at := m.UndoneAt
	if at.IsZero() {
		at = m.At
	}
	d.Act = false
	d.Reason = "re-applies what `watchdog undo` put back at " + at.UTC().Format(time.RFC3339) + "; not reverted"
	log.InfoContext(ctx, "change by watchdog undo recognised", "undone_record", m.StateKey, "undoer", m.Undoer)
	return d
}

// saveUndo stores the outcome and, for a done action, its undo record, before the alert goes
// out: the alert promises an undo command, so the record must exist first.
func (p *Pipeline) saveUndo(ctx context.Context, entry alert.Entry, r *Result) error {
	if err := p.records().Save(ctx, entry); err != nil {
		if r.Remediation != nil && r.Remediation.Status == remediate.Done {
			return fmt.Errorf("record undo for a done action (%s): %w", r.Remediation.Action, err)
		}
		return fmt.Errorf("record outcome: %w", err)
	}
	return nil
}

// claimKey is where a finding is claimed. Findings the watchdog may act on use the key that
// `watchdog undo` and Slack buttons look up; findings it only reports (dry-run, off, or not
// actionable) are kept apart, so that reporting an event first never stops acting on it once
// remediation is switched on.
func claimKey(f detect.Finding, d policy.Decision) string {
	key := alert.Key(f.EventID, f.Rule)
	if d.Act && (d.Mode == policy.Auto || d.Mode == policy.Approve) {
		return key
	}
	return key + "#report"
}

func (p *Pipeline) lease() time.Duration {
	if p.Lease > 0 {
		return p.Lease
	}
	return 2 * time.Minute
}

// intend stores the plan of an action before it is carried out: the undo record, at stage
// acting. If the invocation then ends before the outcome is stored, the record is there for
// `watchdog undo`, and Lambda's retry resumes the action from it instead of taking a second
// look that could no longer tell the watchdog's own change from somebody else's. Nothing is
// done when the plan cannot be stored.
func (p *Pipeline) intend(ctx context.Context, entry *alert.Entry, f detect.Finding, u remediate.Undo) error {
	e := *entry
	e.Stage = state.Acting
	action := f.Action
	if err := p.Codec.Amend(ctx, &e, func(pc *alert.Pieces) { pc.Action, pc.Plan = &action, &u }); err != nil {
		return err
	}
	if err := p.records().Save(ctx, e); err != nil {
		return fmt.Errorf("record the planned %s before acting: %w", f.Action.Kind, err)
	}
	e.Version++ // Save wrote over the version read, and the next write goes over this one
	*entry = e
	return nil
}

// undoJSON is an undo record as the log shows it: the JSON it is stored as, for a person to
// reverse the change by hand.
func undoJSON(u *remediate.Undo) string {
	data, err := json.Marshal(u)
	if err != nil {
		return fmt.Sprintf("%+v", *u)
	}
	return string(data)
}

// act turns a decision into a remediation outcome, acting for real only in auto mode, through
// remediate.Carry: the plan is handed to intend (when set) before anything changes, and nothing
// is done if intend fails (its error is act's); prior, a plan an earlier attempt stored, is
// resumed. The undo record is returned for a done action, for any resumed one, and for one whose
// call failed after an attempt AWS may have acted on (remediate.ErrMayHaveActed).
func (p *Pipeline) act(ctx context.Context, f detect.Finding, d policy.Decision, prior *remediate.Undo, intend func(remediate.Undo) error) (*remediate.Outcome, *remediate.Undo, error) {
	if f.Action.Kind == "" {
		return nil, nil, nil
	}
	o := &remediate.Outcome{Action: f.Action.Kind}
	what := f.Action.Kind
	if p.Remediator != nil {
		what = p.Remediator.Describe(f.Action)
	}
	if prior != nil && (!d.Act || d.Mode != policy.Auto || p.Remediator == nil) {
		// Remediation was switched off (or to dry-run, or approval) since the earlier attempt
		// planned the action, which it may have carried out: nothing new is done, and the undo
		// record is kept.
		why := "remediation is now " + string(d.Mode)
		switch {
		case !d.Act:
			why = d.Reason
		case p.Remediator == nil:
			why = "no AWS clients are configured to act with"
		}
		o.Status, o.Reason = remediate.Skipped, "not resumed ("+why+"): an earlier attempt planned to "+what+
			" and may have done it; its undo record is kept"
		o.Undo = remediate.UndoCommand(f.EventID)
		return o, prior, nil
	}
	if !d.Act {
		o.Status, o.Reason = remediate.Skipped, d.Reason
		return o, nil, nil
	}
	switch d.Mode {
	case policy.DryRun:
		o.Status, o.Reason = remediate.Planned, "dry run: would "+what
		return o, nil, nil
	case policy.Approve:
		o.Status, o.Reason = remediate.Pending, "waiting for approval to "+what
		return o, nil, nil
	}
	if p.Remediator == nil {
		o.Status, o.Reason = remediate.Failed, "no AWS clients are configured to act with"
		return o, nil, nil
	}
	undo, err := remediate.Carry(ctx, p.carrier(f), f.Action, prior, intend)
	if errors.Is(err, remediate.ErrNotRecorded) {
		return nil, nil, err
	}
	if prior != nil {
		what += " (resumed from the plan an earlier attempt stored)"
	}
	switch {
	case errors.Is(err, remediate.ErrPriorState):
		o.Status, o.Reason = remediate.Skipped, err.Error()
	case errors.Is(err, remediate.ErrAlreadyReverted):
		o.Status, o.Reason = remediate.Skipped, "already reverted: "+err.Error()
	case remediate.IsAccessDenied(err):
		o.Status, o.Reason = remediate.Failed, "access denied: "+err.Error()
	case err != nil:
		o.Status, o.Reason = remediate.Failed, err.Error()
	default:
		o.Status, o.Reason = remediate.Done, remediate.Explain(what, undo)
		if remediate.Reversible(f.Action.Kind) {
			o.Undo = remediate.UndoCommand(f.EventID)
		}
		return o, &undo, nil
	}
	mayHaveActed := errors.Is(err, remediate.ErrMayHaveActed)
	if prior != nil || mayHaveActed {
		// The earlier attempt, or a call whose answer was lost, may have acted before this
		// failure: keep the undo record.
		if mayHaveActed {
			o.Reason += "; the call's answer was lost after AWS may have acted, so its undo record is kept"
		} else {
			o.Reason += "; an earlier attempt may have done it, and its undo record is kept"
		}
		if remediate.Reversible(f.Action.Kind) {
			o.Undo = remediate.UndoCommand(f.EventID)
		}
		return o, &undo, nil
	}
	return o, nil, nil
}

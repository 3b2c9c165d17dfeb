package slackaction

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/iam-watchdog/iam-watchdog/pkg/alert"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/notify"
	"github.com/iam-watchdog/iam-watchdog/pkg/remediate"
	"github.com/iam-watchdog/iam-watchdog/pkg/render"
	"github.com/iam-watchdog/iam-watchdog/pkg/state"
)

// Remediator performs and reverses remediation actions (remediate.Remediator).
type Remediator interface {
	Describe(a detect.Action) string
	Plan(ctx context.Context, a detect.Action) (remediate.Undo, error)
	Do(ctx context.Context, u remediate.Undo) error
	Revert(ctx context.Context, u remediate.Undo) error
}

var _ Remediator = (*remediate.Remediator)(nil)

// Slack is what the handler asks of Slack (notify.Bot): update the alert, reply in its thread,
// tell one person something privately, and list a user group.
type Slack interface {
	notify.Threads
	Ephemeral(ctx context.Context, channel, user, text string) error
	GroupMembers(ctx context.Context, group string) ([]string, error)
}

var _ Slack = (*notify.Bot)(nil)

// Click is one button press, as far as it is trusted: Slack signed the request, so the user
// and channel are Slack's word; Key is only looked up.
type Click struct {
	Verb    alert.Verb
	Key     string
	User    string
	Channel string
	// MessageTS is the message whose button was pressed, as Slack says: where a refusal is
	// said when the record itself cannot be trusted to say where its message is.
	MessageTS string
}

// Result says what a click did, for the log and for the person (Text, mrkdwn, shown to them
// alone when not empty).
type Result struct {
	Acted bool
	Text  string
}

// inFlight bounds the remediations one click runs at once for a burst.
const inFlight = 8

// runLease is how long a revert or undo holds an alert before a click may start it again (the
// invocation running it died); it outlasts the function's timeout.
const runLease = 2 * time.Minute

// Act carries out a click that has been authorised: a conditional transition in the store
// first, so that a repeated click or a redelivered request does nothing, then the work, then
// the message and a line in its thread.
func (h *Handler) Act(ctx context.Context, c Click, owner string) (Result, error) {
	log := h.log().With("key", c.Key, "verb", string(c.Verb), "user", c.User)
	if alert.IsFloodKey(c.Key) {
		return Result{Text: ":warning: That button does not name an alert."}, nil
	}
	if c.Verb == alert.Revert && h.HaltReason != "" {
		log.InfoContext(ctx, "revert refused: remediation is switched off")
		return Result{Text: ":no_entry: " + h.HaltReason + "."}, nil
	}
	if res, refused, err := h.checkRecord(ctx, c, log); refused || err != nil {
		return res, err
	}
	now := h.now()
	begun, err := h.records().Update(ctx, c.Key, func(e *alert.Entry) error {
		if !e.HasAlert() || e.TS == "" {
			return state.ErrNotFound
		}
		if err := e.Begin(c.Verb, c.User, now, runLease); err != nil {
			return err
		}
		e.MarkDirty(owner, now)
		return nil
	})
	var refusal *alert.Refusal
	switch {
	case errors.Is(err, state.ErrNotFound):
		log.WarnContext(ctx, "click on an alert the state table does not hold")
		return Result{Text: ":warning: The watchdog has no record of this alert (it may have expired); nothing was changed."}, nil
	case errors.As(err, &refusal):
		log.InfoContext(ctx, "click refused", "status", string(refusal.Status), "by", refusal.By)
		return Result{Text: render.RefusalText(refusal)}, nil
	case err != nil:
		return Result{}, fmt.Errorf("begin %s on %s: %w", c.Verb, c.Key, err)
	}

	a, d, err := h.Codec.Shown(ctx, begun, h.Window)
	if alert.IsUnauthenticated(err) {
		// Changed since checkRecord read it: refused all the same; the click's run expires.
		return h.refuse(ctx, c, err, log), nil
	} else if err != nil {
		return Result{}, err
	}
	follow := render.FollowUp{Who: c.User, Verb: c.Verb, At: now, Alert: a, OK: true}
	if c.Verb != alert.Acknowledge {
		tally := h.runAll(ctx, c.Verb, begun, log)
		follow.OK = tally.done > 0 || tally.failed == 0
		follow.Done, follow.Failed, follow.Detail = tally.done, tally.failed, tally.firstFailure
		detail := fmt.Sprintf("%d done, %d failed, %d skipped", tally.done, tally.failed, tally.skipped)
		_, err := h.records().Update(ctx, c.Key, func(e *alert.Entry) error {
			e.Finish(c.Verb, c.User, h.now(), follow.OK, detail)
			if e.Group != nil {
				e.Group.Tally(c.Verb, tally.done, tally.failed, tally.skipped)
			}
			if tally.leader != nil {
				// The message's remediation line shows the leader's new outcome.
				if err := h.Codec.Amend(ctx, e, func(p *alert.Pieces) {
					if p.Alert != nil {
						p.Alert.Remediation = tally.leader
					}
				}); err != nil {
					return err
				}
			}
			e.MarkDirty(owner, h.now())
			return nil
		})
		if err != nil {
			return Result{}, fmt.Errorf("finish %s on %s (%s): %w", c.Verb, c.Key, detail, err)
		}
		log.InfoContext(ctx, "click carried out", "done", tally.done, "failed", tally.failed, "skipped", tally.skipped)
	} else {
		log.InfoContext(ctx, "alert acknowledged")
	}

	rf := alert.Refresher{Messages: h.Slack, Records: h.records(), Owner: owner, Window: h.Window, Now: h.Now}
	if err := rf.Refresh(ctx, c.Key); err != nil {
		return Result{Acted: true}, fmt.Errorf("update the alert's message: %w", err)
	}
	if err := h.Slack.Reply(ctx, d, follow); err != nil {
		return Result{Acted: true}, fmt.Errorf("reply in the alert's thread: %w", err)
	}
	return Result{Acted: true}, nil
}

// tally counts what a revert or undo did over the findings of an alert.
type tally struct {
	done, failed, skipped int
	firstFailure          string
	// leader is the new outcome of the message's own finding, nil when unchanged.
	leader *remediate.Outcome
}

// runAll reverts or undoes every finding of the alert that is still in the state the verb
// starts from, a few at a time, recording each on its own entry.
func (h *Handler) runAll(ctx context.Context, verb alert.Verb, leader alert.Entry, log *slog.Logger) tally {
	keys := []string{leader.Key}
	if leader.Group != nil {
		keys = append(keys, leader.Group.Members...)
	}
	var t tally
	var mu sync.Mutex
	sem := make(chan struct{}, inFlight)
	var wg sync.WaitGroup
	for _, key := range keys {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			res, outcome, err := h.runOne(ctx, verb, key)
			if err != nil {
				log.ErrorContext(ctx, "remediation from Slack", "member", key, "error", err.Error())
			}
			mu.Lock()
			defer mu.Unlock()
			switch res {
			case resDone:
				t.done++
			case resFailed:
				t.failed++
				if t.firstFailure == "" && err != nil {
					t.firstFailure = err.Error()
				}
			case resSkipped:
				t.skipped++
			}
			if key == leader.Key && outcome != nil {
				t.leader = outcome
			}
		}()
	}
	wg.Wait()
	return t
}

type runResult int

const (
	resNone    runResult = iota // not in a state the verb acts on: nothing to do
	resDone                     // acted
	resFailed                   // tried and failed
	resSkipped                  // IAM says it is already as the verb would make it
)

// runOne reverts or undoes one finding, if its record says it is still to be done.
func (h *Handler) runOne(ctx context.Context, verb alert.Verb, key string) (runResult, *remediate.Outcome, error) {
	e, err := h.records().Get(ctx, key)
	if err != nil {
		return resFailed, nil, err
	}
	stored, err := h.Codec.Open(ctx, e)
	if err != nil {
		return resFailed, nil, err
	}
	var out remediate.Outcome
	if stored.Outcome != nil {
		out = *stored.Outcome
	}
	rem := h.Remediator
	if rem == nil {
		return resFailed, nil, errors.New("no AWS clients are configured to act with")
	}
	now := h.now()
	switch verb {
	case alert.Revert:
		if out.Status != remediate.Pending || stored.Action == nil {
			return resNone, nil, nil
		}
		// The stored action is done only if the rules, run again on the stored CloudTrail
		// record with today's configuration, derive exactly it.
		act, err := h.rederive(key, stored)
		if err != nil {
			return resFailed, nil, err
		}
		what := rem.Describe(act)
		// An undo record on an alert still pending is the plan of an earlier click that ended
		// before it recorded the outcome, and may have acted: it is resumed.
		prior := stored.Plan
		// The undo record is stored before anything changes, so that an action whose outcome
		// cannot be recorded afterwards can still be undone (`watchdog undo`).
		undo, err := remediate.Carry(ctx, rem, act, prior, func(u remediate.Undo) error {
			_, werr := h.records().Update(ctx, key, func(x *alert.Entry) error {
				return h.Codec.Amend(ctx, x, func(p *alert.Pieces) { p.Plan = &u })
			})
			return werr
		})
		if errors.Is(err, remediate.ErrNotRecorded) {
			return resFailed, nil, fmt.Errorf("%s: %w", what, err)
		}
		res := resDone
		next := remediate.Outcome{Action: act.Kind, Status: remediate.Done, Reason: what, Undo: remediate.UndoCommand(e.EventID)}
		switch {
		case errors.Is(err, remediate.ErrAlreadyReverted):
			res, next = resSkipped, remediate.Outcome{Action: act.Kind, Status: remediate.Skipped, Reason: "already reverted: " + err.Error()}
		case remediate.IsAccessDenied(err):
			res, next = resFailed, remediate.Outcome{Action: act.Kind, Status: remediate.Failed, Reason: "access denied: " + err.Error()}
		case err != nil:
			res, next = resFailed, remediate.Outcome{Action: act.Kind, Status: remediate.Failed, Reason: err.Error()}
		}
		// A call whose answer was lost may have acted: its undo record is kept and named.
		mayHaveActed := errors.Is(err, remediate.ErrMayHaveActed)
		if mayHaveActed {
			next.Undo = remediate.UndoCommand(e.EventID)
		}
		if _, werr := h.records().Update(ctx, key, func(x *alert.Entry) error {
			return h.Codec.Amend(ctx, x, func(p *alert.Pieces) {
				p.Outcome = &next
				p.Plan = nil // nothing to reverse unless it was done, or may have been
				if res == resDone || prior != nil || mayHaveActed {
					p.Plan = &undo
				}
			})
		}); werr != nil {
			// The action is done but not recorded: say so loudly, it cannot be undone from here.
			return resFailed, nil, fmt.Errorf("%s was applied but recording it failed: %w", what, werr)
		}
		if res == resFailed {
			return res, &next, errors.New(next.Reason)
		}
		return res, &next, nil

	case alert.Undo:
		if out.Status != remediate.Done || stored.Plan == nil || !e.UndoneAt.IsZero() {
			return resNone, nil, nil
		}
		u := *stored.Plan
		if !alert.SlackUndoable(u.Action) {
			return resFailed, nil, fmt.Errorf("%s is undone with `%s` and your own credentials, not from Slack", u.Action, remediate.UndoCommand(e.EventID))
		}
		err := rem.Revert(ctx, u)
		if err != nil && !errors.Is(err, remediate.ErrAlreadyReverted) {
			return resFailed, nil, err
		}
		if _, werr := h.records().Update(ctx, key, func(x *alert.Entry) error {
			x.UndoneAt = now
			return nil
		}); werr != nil {
			return resFailed, nil, fmt.Errorf("undone, but recording it failed: %w", werr)
		}
		if err != nil {
			return resSkipped, nil, nil
		}
		return resDone, nil, nil
	}
	return resNone, nil, nil
}

// records is the store, as alert records.
func (h *Handler) records() alert.Records { return alert.Records{Store: h.Store, Codec: h.Codec} }

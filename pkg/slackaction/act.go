package slackaction

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/notify"
	"github.com/iam-watchdog/iam-watchdog/pkg/remediate"
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
	Verb    state.Verb
	Key     string
	User    string
	Channel string
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
	if strings.HasPrefix(c.Key, "flood#") {
		return Result{Text: ":warning: That button does not name an alert."}, nil
	}
	if c.Verb == state.Revert && h.Halted != "" {
		log.InfoContext(ctx, "revert refused: remediation is switched off")
		return Result{Text: ":no_entry: " + h.Halted + "."}, nil
	}
	now := h.now()
	begun, err := h.Store.Update(ctx, c.Key, func(e *state.Entry) error {
		if len(e.Alert) == 0 || e.TS == "" {
			return state.ErrNotFound
		}
		if err := e.Begin(c.Verb, c.User, now, runLease); err != nil {
			return err
		}
		e.MarkDirty(owner, now)
		return nil
	})
	var refusal *state.Refusal
	switch {
	case errors.Is(err, state.ErrNotFound):
		log.WarnContext(ctx, "click on an alert the state table does not hold")
		return Result{Text: ":warning: The watchdog has no record of this alert (it may have expired); nothing was changed."}, nil
	case errors.As(err, &refusal):
		log.InfoContext(ctx, "click refused", "status", string(refusal.Status), "by", refusal.By)
		return Result{Text: notify.RefusalText(refusal)}, nil
	case err != nil:
		return Result{}, fmt.Errorf("begin %s on %s: %w", c.Verb, c.Key, err)
	}

	a, d, err := notify.FromEntry(begun, h.Window)
	if err != nil {
		return Result{}, err
	}
	follow := notify.FollowUp{Who: c.User, Verb: c.Verb, At: now, Alert: a, OK: true, Simulated: h.Simulated}
	if c.Verb != state.Acknowledge {
		tally := h.runAll(ctx, c.Verb, begun, log)
		follow.OK = tally.done > 0 || tally.failed == 0
		follow.Done, follow.Failed, follow.Detail = tally.done, tally.failed, tally.firstFailure
		detail := fmt.Sprintf("%d done, %d failed, %d skipped", tally.done, tally.failed, tally.skipped)
		_, err := h.Store.Update(ctx, c.Key, func(e *state.Entry) error {
			e.Finish(c.Verb, c.User, h.now(), follow.OK, detail)
			if e.Group != nil {
				tally.apply(e.Group)
			}
			if tally.leader != nil {
				// The message's remediation line shows the leader's new outcome.
				la, err := notify.DecodeAlert(e.Alert)
				if err == nil {
					la.Remediation = tally.leader
					e.Alert, _ = notify.EncodeAlert(la)
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

	rf := notify.Refresher{Threads: h.Slack, Store: h.Store, Owner: owner, Window: h.Window, Now: h.Now}
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
	verb                  state.Verb
	done, failed, skipped int
	firstFailure          string
	// leader is the new outcome of the message's own finding, nil when unchanged.
	leader *remediate.Outcome
}

// apply moves the burst's outcome counts to what the click did.
func (t tally) apply(g *state.Group) {
	if g.Outcomes == nil {
		g.Outcomes = map[string]int{}
	}
	move := func(from, to string, n int) {
		if n == 0 {
			return
		}
		g.Outcomes[from] -= n
		if g.Outcomes[from] <= 0 {
			delete(g.Outcomes, from)
		}
		g.Outcomes[to] += n
	}
	if t.verb == state.Revert {
		move(string(remediate.Pending), string(remediate.Done), t.done)
		move(string(remediate.Pending), string(remediate.Failed), t.failed)
		move(string(remediate.Pending), string(remediate.Skipped), t.skipped)
		return
	}
	move(string(remediate.Done), "undone", t.done)
}

// runAll reverts or undoes every finding of the alert that is still in the state the verb
// starts from, a few at a time, recording each on its own entry.
func (h *Handler) runAll(ctx context.Context, verb state.Verb, leader state.Entry, log *slog.Logger) tally {
	keys := []string{leader.Key}
	if leader.Group != nil {
		keys = append(keys, leader.Group.Members...)
	}
	t := tally{verb: verb}
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

// runOne reverts or undoes one finding, if its entry says it is still to be done.
func (h *Handler) runOne(ctx context.Context, verb state.Verb, key string) (runResult, *remediate.Outcome, error) {
	e, err := h.Store.Get(ctx, key)
	if err != nil {
		return resFailed, nil, err
	}
	var out remediate.Outcome
	if len(e.Outcome) > 0 {
		if err := json.Unmarshal(e.Outcome, &out); err != nil {
			return resFailed, nil, fmt.Errorf("stored outcome of %s: %w", key, err)
		}
	}
	rem := h.remediator()
	if rem == nil {
		return resFailed, nil, errors.New("no AWS clients are configured to act with")
	}
	now := h.now()
	switch verb {
	case state.Revert:
		if out.Status != remediate.Pending || len(e.Action) == 0 {
			return resNone, nil, nil
		}
		var act detect.Action
		if err := json.Unmarshal(e.Action, &act); err != nil {
			return resFailed, nil, fmt.Errorf("stored action of %s: %w", key, err)
		}
		what := rem.Describe(act)
		// An undo record on an alert still pending is the plan of an earlier click that ended
		// before it recorded the outcome, and may have acted: it is resumed.
		var prior *remediate.Undo
		if len(e.Undo) > 0 {
			prior = new(remediate.Undo)
			if err := json.Unmarshal(e.Undo, prior); err != nil {
				return resFailed, nil, fmt.Errorf("stored undo record of %s: %w", key, err)
			}
		}
		// The undo record is stored before anything changes, so that an action whose outcome
		// cannot be recorded afterwards can still be undone (`watchdog undo`).
		undo, err := remediate.Carry(ctx, rem, act, prior, func(u remediate.Undo) error {
			_, werr := h.Store.Update(ctx, key, func(x *state.Entry) error {
				x.Undo, _ = json.Marshal(u)
				return nil
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
		if _, werr := h.Store.Update(ctx, key, func(x *state.Entry) error {
			x.Outcome, _ = json.Marshal(next)
			x.Undo = nil // nothing to reverse unless it was done, or may have been
			if res == resDone || prior != nil {
				x.Undo, _ = json.Marshal(undo)
			}
			return nil
		}); werr != nil {
			// The action is done but not recorded: say so loudly, it cannot be undone from here.
			return resFailed, nil, fmt.Errorf("%s was applied but recording it failed: %w", what, werr)
		}
		if res == resFailed {
			return res, &next, errors.New(next.Reason)
		}
		return res, &next, nil

	case state.Undo:
		if out.Status != remediate.Done || len(e.Undo) == 0 || !e.UndoneAt.IsZero() {
			return resNone, nil, nil
		}
		var u remediate.Undo
		if err := json.Unmarshal(e.Undo, &u); err != nil {
			return resFailed, nil, fmt.Errorf("stored undo record of %s: %w", key, err)
		}
		if !notify.SlackUndoable(u.Action) {
			return resFailed, nil, fmt.Errorf("%s is undone with `%s` and your own credentials, not from Slack", u.Action, remediate.UndoCommand(e.EventID))
		}
		err := rem.Revert(ctx, u)
		if err != nil && !errors.Is(err, remediate.ErrAlreadyReverted) {
			return resFailed, nil, err
		}
		if _, werr := h.Store.Update(ctx, key, func(x *state.Entry) error {
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

// simulator stands in for AWS in the demo: it changes nothing and says so.
type simulator struct{ describe func(detect.Action) string }

func (s simulator) Describe(a detect.Action) string {
	return "simulated: " + s.describe(a)
}

func (simulator) Plan(_ context.Context, a detect.Action) (remediate.Undo, error) {
	return remediate.Undo{Action: a.Kind, Account: a.Account, Region: a.Region, UserName: a.UserName,
		AccessKeyID: a.AccessKeyID, PolicyARN: a.PolicyARN, PolicyName: a.PolicyName, Trail: a.Trail}, nil
}

func (simulator) Do(context.Context, remediate.Undo) error { return nil }

func (simulator) Revert(context.Context, remediate.Undo) error { return nil }

func (h *Handler) remediator() Remediator {
	if h.Simulated {
		d := func(a detect.Action) string { return a.Kind }
		if h.Remediator != nil {
			d = h.Remediator.Describe
		}
		return simulator{describe: d}
	}
	return h.Remediator
}

func labelOf(v state.Verb) string { return notify.VerbLabel(v) }

package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/remediate"
	"github.com/iam-watchdog/iam-watchdog/pkg/state"
)

// undo reverses every action recorded for an event, with the caller's own credentials.
func undo(ctx context.Context, args []string, io ios) error {
	fs := flag.NewFlagSet("undo", flag.ContinueOnError)
	var pf pipelineFlags
	pf.register(fs, false)
	ids, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(ids) != 1 {
		return usageError{errors.New("undo needs exactly one EVENT_ID")}
	}
	eventID := ids[0]
	cfg, err := pf.policyConfig()
	if err != nil {
		return err
	}
	awsCfg, err := awsConfig(ctx)
	if err != nil {
		return err
	}
	spec := pf.state
	if spec == "" {
		spec = defaultStatePath()
	}
	store, err := openStore(ctx, spec, func() (aws.Config, error) { return awsCfg, nil })
	if err != nil {
		return err
	}
	rem, err := remediator(ctx, awsCfg, cfg)
	if err != nil {
		return err
	}
	found, err := undoEvent(ctx, store, rem, eventID, io.out)
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("no action is recorded for event %s in %s", eventID, spec)
	}
	return nil
}

// reverter is the one remediation call undo makes (remediate.Remediator).
type reverter interface {
	Revert(ctx context.Context, u remediate.Undo) error
}

var _ reverter = (*remediate.Remediator)(nil)

// undoEvent reverses every action recorded for eventID in store, saying what became of each on
// w, and records each undo. It reports whether anything at all was recorded for the event.
// `watchdog undo` and the demo share it.
func undoEvent(ctx context.Context, store state.Store, rem reverter, eventID string, w io.Writer) (found bool, err error) {
	for _, r := range detect.Rules() {
		if r.Action == "" {
			continue
		}
		e, err := store.Get(ctx, state.Key(eventID, r.ID))
		if errors.Is(err, state.ErrNotFound) {
			continue
		}
		if err != nil {
			return found, err
		}
		found = true
		switch {
		case len(e.Undo) == 0:
			fmt.Fprintf(w, "%s: nothing to undo (no action was taken: %s)\n", r.ID, outcomeText(e.Outcome))
			continue
		case !e.UndoneAt.IsZero():
			fmt.Fprintf(w, "%s: already undone at %s\n", r.ID, e.UndoneAt.UTC().Format(time.RFC3339))
			continue
		}
		var u remediate.Undo
		if err := json.Unmarshal(e.Undo, &u); err != nil {
			return found, fmt.Errorf("undo record for %s: %w", e.Key, err)
		}
		if err := rem.Revert(ctx, u); err != nil {
			return found, fmt.Errorf("undo %s for event %s: %w", u.Action, eventID, err)
		}
		// Update, not Save: a click in Slack may have changed the entry since it was read.
		if _, err := store.Update(ctx, e.Key, func(cur *state.Entry) error {
			cur.UndoneAt = time.Now()
			return nil
		}); err != nil {
			return found, fmt.Errorf("undone, but recording it failed: %w", err)
		}
		fmt.Fprintf(w, "%s: undone %s\n", r.ID, u.Action)
	}
	return found, nil
}

func outcomeText(raw json.RawMessage) string {
	var o remediate.Outcome
	if json.Unmarshal(raw, &o) != nil || o.Status == "" {
		return "no outcome recorded"
	}
	return string(o.Status) + ", " + o.Reason
}

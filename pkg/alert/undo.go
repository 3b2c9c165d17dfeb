package alert

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/remediate"
	"github.com/iam-watchdog/iam-watchdog/pkg/state"
)

// Reverter is the one remediation call undoing an event makes (remediate.Remediator).
type Reverter interface {
	Revert(ctx context.Context, u remediate.Undo) error
}

var _ Reverter = (*remediate.Remediator)(nil)

// UndoEvent reverses every action recorded for eventID, saying what became of each on w, and
// records each undo. It reports whether anything at all was recorded for the event.
// `watchdog undo` runs it, and the demo shows it.
func UndoEvent(ctx context.Context, records Records, rem Reverter, eventID string, w io.Writer) (found bool, err error) {
	for _, r := range detect.Rules() {
		if r.Action == "" {
			continue
		}
		e, err := records.Get(ctx, Key(eventID, r.ID))
		if errors.Is(err, state.ErrNotFound) {
			continue
		}
		if err != nil {
			return found, err
		}
		found = true
		p, err := records.Codec.Open(ctx, e)
		if err != nil {
			return found, err
		}
		switch {
		case p.Plan == nil:
			fmt.Fprintf(w, "%s: nothing to undo (no action was taken: %s)\n", r.ID, outcomeText(p.Outcome))
			continue
		case !e.UndoneAt.IsZero():
			fmt.Fprintf(w, "%s: already undone at %s\n", r.ID, e.UndoneAt.UTC().Format(time.RFC3339))
			continue
		}
		u := *p.Plan
		if err := rem.Revert(ctx, u); err != nil {
			return found, fmt.Errorf("undo %s for event %s: %w", u.Action, eventID, err)
		}
		// Update, not Save: a click in Slack may have changed the record since it was read.
		if _, err := records.Update(ctx, e.Key, func(cur *Entry) error {
			cur.UndoneAt = time.Now()
			return nil
		}); err != nil {
			return found, fmt.Errorf("undone, but recording it failed: %w", err)
		}
		fmt.Fprintf(w, "%s: undone %s\n", r.ID, u.Action)
	}
	return found, nil
}

func outcomeText(o *remediate.Outcome) string {
	if o == nil || o.Status == "" {
		return "no outcome recorded"
	}
	return string(o.Status) + ", " + o.Reason
}

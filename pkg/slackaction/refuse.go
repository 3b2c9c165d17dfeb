package slackaction

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/iam-watchdog/iam-watchdog/pkg/alert"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/render"
	"github.com/iam-watchdog/iam-watchdog/pkg/state"
)

// checkRecord checks the clicked alert's record with the state key before the click changes
// anything. A record that fails is refused (refuse); one the table does not hold is left to
// Act, which says so.
func (h *Handler) checkRecord(ctx context.Context, c Click, log *slog.Logger) (Result, bool, error) {
	e, err := h.records().Get(ctx, c.Key)
	if errors.Is(err, state.ErrNotFound) {
		return Result{}, false, nil
	}
	if err != nil {
		return Result{}, false, fmt.Errorf("read %s: %w", c.Key, err)
	}
	if _, err := h.Codec.Open(ctx, e); alert.IsUnauthenticated(err) {
		return h.refuse(ctx, c, err, log), true, nil
	} else if err != nil {
		return Result{}, false, err
	}
	return Result{}, false, nil
}

// refuse answers a click on an alert whose record failed its check: nothing is done, the
// refusal is logged at error level, said in the thread of the message clicked for everyone
// watching it, and told to the clicker. Where the message is comes from Slack's request, not
// from the record, whose message fields are not authenticated.
func (h *Handler) refuse(ctx context.Context, c Click, refusal error, log *slog.Logger) Result {
	log.ErrorContext(ctx, "state record refused: the click did nothing", "error", refusal.Error())
	detail := render.VerbLabel(c.Verb) + " pressed by " + c.User + " was refused, and nothing was done: " + refusal.Error()
	if d := (alert.Delivery{Channel: c.Channel, TS: c.MessageTS}); d.Channel != "" && d.TS != "" {
		// The event is named from the button's key, which the watchdog put there.
		eventID, _, _ := strings.Cut(c.Key, "#")
		f := render.FollowUp{Who: c.User, At: h.now(), Alert: alert.Alert{Finding: detect.Finding{EventID: eventID}}, Detail: detail}
		if err := h.Slack.Reply(ctx, d, f); err != nil {
			log.ErrorContext(ctx, "could not say in the alert's thread that its record was refused", "error", err.Error())
		}
	}
	return Result{Text: ":no_entry: " + render.VerbLabel(c.Verb) + " refused; nothing was done. " + refusal.Error() +
		". Someone changed the watchdog's state table: tell whoever runs it."}
}

package clienv

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/iam-watchdog/iam-watchdog/pkg/alert"
	"github.com/iam-watchdog/iam-watchdog/pkg/policy"
)

// Undo reverses every action recorded for eventID in the store spec names (`watchdog undo`),
// with the caller's own credentials (and, in other accounts, the member role the config names).
// It looks the event up first: a local file needs no credentials to say that nothing is
// recorded. Before each call alert.UndoEvent records an undo marker naming the caller, so that
// auto mode does not revert the undo.
func (e *Env) Undo(ctx context.Context, cfg policy.Config, spec, eventID string, w io.Writer) error {
	if strings.HasPrefix(spec, "dynamodb://") {
		if err := e.Credentials(ctx); err != nil {
			return err
		}
	}
	st, err := e.Store(spec)
	if err != nil {
		return err
	}
	notFound := fmt.Errorf("no action is recorded for %s in %s", eventID, spec)
	if found, err := alert.Recorded(ctx, alert.Records{Store: st}, eventID); err != nil {
		return err
	} else if !found {
		return notFound
	}
	codec, err := e.Codec(cfg, spec)
	if err != nil {
		return err
	}
	rem, caller, err := e.Remediator(ctx, cfg)
	if err != nil {
		return err
	}
	found, err := alert.UndoEvent(ctx, alert.Records{Store: st, Codec: codec}, rem, eventID, caller.ARN, w)
	if err == nil && !found {
		return notFound
	}
	return err
}

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
	// The codec first: a shared table without state_key_arn is refused before it is read.
	records, err := e.Records(cfg, spec)
	if err != nil {
		return err
	}
	// Reading the table needs credentials: say so in one sentence, not the SDK's.
	if strings.HasPrefix(spec, "dynamodb://") {
		if err := e.Credentials(ctx); err != nil {
			return err
		}
	}
	notFound := fmt.Errorf("no action is recorded for %s in %s", eventID, spec)
	if found, err := alert.Recorded(ctx, records, eventID); err != nil {
		return err
	} else if !found {
		return notFound
	}
	rem, caller, err := e.Remediator(ctx, cfg)
	if err != nil {
		return err
	}
	found, err := alert.UndoEvent(ctx, records, rem, eventID, caller.ARN, w)
	if err == nil && !found {
		return notFound
	}
	return err
}

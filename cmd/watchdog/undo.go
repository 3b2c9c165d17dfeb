package main

import (
	"cmp"
	"context"
	"errors"
	"flag"

	"github.com/iam-watchdog/iam-watchdog/pkg/clienv"
)

// runUndo reverses every action recorded for an event (clienv.Env.Undo): it looks the event up
// in the state store before it asks for credentials.
func runUndo(ctx context.Context, args []string, std stdio) error {
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
	cfg, err := pf.policyConfig()
	if err != nil {
		return err
	}
	return pf.env(ctx).Undo(ctx, cfg, cmp.Or(pf.state, clienv.DefaultStatePath()), ids[0], std.out)
}

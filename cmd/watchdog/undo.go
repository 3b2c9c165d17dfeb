package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/iam-watchdog/iam-watchdog/pkg/alert"
)

// runUndo reverses every action recorded for an event, with the caller's own credentials (and,
// in other accounts, the member role the config names). Before each call it records an undo
// marker naming the caller, so that auto mode does not revert the undo (alert.UndoEvent).
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
	codec, err := stateCodec(cfg, spec, func() (aws.Config, error) { return awsCfg, nil })
	if err != nil {
		return err
	}
	rem, caller, err := remediator(ctx, awsCfg, cfg)
	if err != nil {
		return err
	}
	found, err := alert.UndoEvent(ctx, alert.Records{Store: store, Codec: codec}, rem, eventID, caller.ARN, std.out)
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("no action is recorded for event %s in %s", eventID, spec)
	}
	return nil
}

package eventhandler_test

import (
	"context"
	"log/slog"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/iam-watchdog/iam-watchdog/internal/watchdogtest"
	"github.com/iam-watchdog/iam-watchdog/pkg/eventhandler"
	"github.com/iam-watchdog/iam-watchdog/pkg/lambdaenv"
	"github.com/iam-watchdog/iam-watchdog/pkg/state"
)

const (
	functionRole = "arn:aws:iam::" + watchdogtest.Account + ":role/iam-watchdog-WatchdogFunctionRole-Q1W2E3"
)

func envFrom(vars map[string]string) lambdaenv.Env {
	return lambdaenv.From(func(k string) string { return vars[k] })
}

// New builds without calling AWS; the state table is used only when named.
func TestNew(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	awsCfg := aws.Config{Region: "us-east-1"}
	h, err := eventhandler.New(envFrom(map[string]string{"WATCHDOG_ROLE_ARN": functionRole}), awsCfg, log)
	if err != nil {
		t.Fatal(err)
	}
	if h.Pipeline.Store != nil || h.Pipeline.Remediator == nil || h.Sink == nil || !slices.Contains(h.Pipeline.Config.SelfRoleARNs, functionRole) {
		t.Fatalf("handler %+v, pipeline %+v", h, h.Pipeline)
	}
	// Without a Slack secret, alerts go to the function's log: nothing to fetch, nothing to fail.
	if sink, err := h.Sink(context.Background()); err != nil || sink == nil {
		t.Fatalf("sink without SLACK_SECRET_ARN: %v %v", sink, err)
	}
	h, err = eventhandler.New(envFrom(map[string]string{"STATE_TABLE": "iam-watchdog-state", "REMEDIATION_MODE": "auto"}), awsCfg, log)
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := h.Pipeline.Store.(*state.DynamoDB); !ok || d.Table != "iam-watchdog-state" {
		t.Fatalf("store %#v: want the DynamoDB table", h.Pipeline.Store)
	}
	if _, err := eventhandler.New(envFrom(map[string]string{"REMEDIATION_MODE": "auto"}), awsCfg, log); err == nil {
		t.Fatal("auto without a state table built")
	}
}

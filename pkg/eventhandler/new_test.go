package eventhandler_test

import (
	"context"
	"log/slog"
	"slices"
	"strings"
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
	const stateKey = "arn:aws:kms:us-east-1:123456789012:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
	h, err = eventhandler.New(envFrom(map[string]string{"STATE_TABLE": "iam-watchdog-state", "STATE_KEY_ARN": stateKey, "REMEDIATION_MODE": "auto"}), awsCfg, log)
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := h.Pipeline.Store.(*state.DynamoDB); !ok || d.Table != "iam-watchdog-state" || h.Pipeline.Codec.KeyARN != stateKey || h.Pipeline.Codec.KMS == nil {
		t.Fatalf("store %#v, codec %+v: want the DynamoDB table, authenticated with the state key", h.Pipeline.Store, h.Pipeline.Codec)
	}
	// The table may hold no unauthenticated record: no key, no start.
	if _, err := eventhandler.New(envFrom(map[string]string{"STATE_TABLE": "iam-watchdog-state", "REMEDIATION_MODE": "auto"}), awsCfg, log); err == nil || !strings.Contains(err.Error(), "STATE_KEY_ARN") {
		t.Fatalf("New with a table and no state key = %v; want an error naming STATE_KEY_ARN", err)
	}
	if _, err := eventhandler.New(envFrom(map[string]string{"REMEDIATION_MODE": "auto"}), awsCfg, log); err == nil {
		t.Fatal("auto without a state table built")
	}
}

package eventhandler_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/iam-watchdog/iam-watchdog/internal/watchdogtest"
	"github.com/iam-watchdog/iam-watchdog/pkg/alert"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/eventhandler"
	"github.com/iam-watchdog/iam-watchdog/pkg/notify"
	"github.com/iam-watchdog/iam-watchdog/pkg/policy"
	"github.com/iam-watchdog/iam-watchdog/pkg/state"
)

// handler is a Lambda handler over a dry-run pipeline and the real file store. Its sink
// constructor counts its calls and fails while *sinkErr is set.
func handler(t *testing.T, alerts *watchdogtest.Calls[alert.Alert], built *atomic.Int32, sinkErr *error) (*eventhandler.Handler, *state.File, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	store := watchdogtest.OpenStore(t)
	var applied watchdogtest.Calls[detect.Action]
	h := &eventhandler.Handler{
		Pipeline: watchdogtest.Pipeline(policy.DryRun, watchdogtest.Applying(&applied, watchdogtest.Reverted), store, nil),
		Log:      slog.New(slog.NewJSONHandler(&logs, nil)),
		Sink: func(context.Context) (notify.Sink, error) {
			built.Add(1)
			if *sinkErr != nil {
				return nil, *sinkErr
			}
			return watchdogtest.Delivering(alerts, watchdogtest.SlackMessage, nil), nil
		},
	}
	return h, store, &logs
}

func TestInvokeUnreadableEvent(t *testing.T) {
	for name, event := range map[string]string{
		"not JSON":          `{"detail-type": "AWS API Call via CloudTrail", "detail": {`,
		"record lacks name": string(watchdogtest.Envelope(`{"eventSource": "iam.amazonaws.com", "eventTime": "2024-05-02T09:03:51Z"}`)),
		"a number":          `42`,
	} {
		t.Run(name, func(t *testing.T) {
			var alerts watchdogtest.Calls[alert.Alert]
			var built atomic.Int32
			var sinkErr error
			h, _, logs := handler(t, &alerts, &built, &sinkErr)
			if err := h.Invoke(context.Background(), []byte(event)); err != nil {
				t.Fatalf("Invoke: %v; an unreadable event is not retried", err)
			}
			if !strings.Contains(logs.String(), `"level":"ERROR"`) || !strings.Contains(logs.String(), "unreadable event") {
				t.Fatalf("logs do not report the unreadable event at error level:\n%s", logs)
			}
			if len(watchdogtest.KeyAlerts(&alerts)) != 0 || built.Load() != 0 {
				t.Fatalf("%d alerts, sink built %d times: want none", len(watchdogtest.KeyAlerts(&alerts)), built.Load())
			}
		})
	}
}

func TestInvokeUnwatchedEvent(t *testing.T) {
	var alerts watchdogtest.Calls[alert.Alert]
	var built atomic.Int32
	// Slack's secret cannot be read: an event no rule watches needs no sink, so it must not
	// fail (and be retried into the dead-letter queue) for that.
	sinkErr := errors.New("secretsmanager: GetSecretValue: AccessDeniedException")
	h, _, logs := handler(t, &alerts, &built, &sinkErr)
	if err := h.Invoke(context.Background(), watchdogtest.Envelope(watchdogtest.DescribeInstances("5e0c2f6e-0001-4d7a-9b2e-000000000001"))); err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	if len(watchdogtest.KeyAlerts(&alerts)) != 0 {
		t.Fatalf("%d alerts for an unwatched event", len(watchdogtest.KeyAlerts(&alerts)))
	}
	if !strings.Contains(logs.String(), "event not watched") {
		t.Fatalf("logs do not say the event was not watched:\n%s", logs)
	}
}

func TestInvokeSinkBuiltOnceAndRetried(t *testing.T) {
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req-1"})
	var alerts watchdogtest.Calls[alert.Alert]
	var built atomic.Int32
	sinkErr := errors.New("secretsmanager: GetSecretValue: throttled")
	h, store, _ := handler(t, &alerts, &built, &sinkErr)
	first := watchdogtest.Envelope(watchdogtest.CreateAccessKey("5e0c2f6e-0002-4d7a-9b2e-000000000002", watchdogtest.Alice))

	err := h.Invoke(ctx, first)
	if !errors.Is(err, sinkErr) || !strings.Contains(err.Error(), "alert sink") {
		t.Fatalf("Invoke with a failing sink constructor: %v; want its error, so that Lambda retries", err)
	}
	if built.Load() != 1 || len(watchdogtest.KeyAlerts(&alerts)) != 0 {
		t.Fatalf("sink built %d times, %d alerts", built.Load(), len(watchdogtest.KeyAlerts(&alerts)))
	}

	// The secret can be read again: the retry builds the sink and handles the event.
	sinkErr = nil
	if err := h.Invoke(ctx, first); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if built.Load() != 2 || len(watchdogtest.KeyAlerts(&alerts)) != 1 {
		t.Fatalf("retry: sink built %d times, %d alerts; want 2 and 1", built.Load(), len(watchdogtest.KeyAlerts(&alerts)))
	}
	if e := watchdogtest.Entry(t, store, "5e0c2f6e-0002-4d7a-9b2e-000000000002"); e.Owner != "req-1" || e.Stage != state.Alerted {
		t.Fatalf("store entry %+v: want alerted, claimed by the request ID", e)
	}

	// Warm invocations reuse the sink.
	ctx2 := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req-2"})
	if err := h.Invoke(ctx2, watchdogtest.Envelope(watchdogtest.CreateAccessKey("5e0c2f6e-0003-4d7a-9b2e-000000000003", watchdogtest.Alice))); err != nil {
		t.Fatal(err)
	}
	if built.Load() != 2 || len(watchdogtest.KeyAlerts(&alerts)) != 2 {
		t.Fatalf("warm invoke: sink built %d times, %d alerts; want 2 and 2", built.Load(), len(watchdogtest.KeyAlerts(&alerts)))
	}
}

func TestInvokeReturnsPipelineFailures(t *testing.T) {
	var built atomic.Int32
	var sinkErr error
	var alerts watchdogtest.Calls[alert.Alert]
	h, _, logs := handler(t, &alerts, &built, &sinkErr)
	slackDown := errors.New("slack: 503 service unavailable")
	h.Sink = func(context.Context) (notify.Sink, error) {
		return watchdogtest.Delivering(&alerts, alert.Delivery{}, slackDown), nil
	}
	err := h.Invoke(context.Background(), watchdogtest.Envelope(watchdogtest.CreateAccessKey("5e0c2f6e-0004-4d7a-9b2e-000000000004", watchdogtest.Alice)))
	if !errors.Is(err, slackDown) {
		t.Fatalf("Invoke: %v; want the sink's error, so that Lambda retries", err)
	}
	if !strings.Contains(logs.String(), "Lambda will retry") {
		t.Fatalf("logs do not report the failure:\n%s", logs)
	}
}

// The watchdog's own calls reach it through EventBridge too; they end quietly.
func TestInvokeOwnCall(t *testing.T) {
	var alerts watchdogtest.Calls[alert.Alert]
	var built atomic.Int32
	var sinkErr error
	h, store, _ := handler(t, &alerts, &built, &sinkErr)
	const eventID = "5e0c2f6e-0005-4d7a-9b2e-000000000005"
	if err := h.Invoke(context.Background(), watchdogtest.Envelope(watchdogtest.CreateAccessKey(eventID, watchdogtest.WatchdogSession))); err != nil {
		t.Fatal(err)
	}
	if len(watchdogtest.KeyAlerts(&alerts)) != 0 {
		t.Fatalf("%d alerts for the watchdog's own call", len(watchdogtest.KeyAlerts(&alerts)))
	}
	if _, err := store.Get(context.Background(), alert.Key(eventID, watchdogtest.KeyRule)); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("store entry for the watchdog's own call: %v", err)
	}
}

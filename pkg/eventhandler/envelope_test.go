package eventhandler_test

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/iam-watchdog/iam-watchdog/internal/watchdogtest"
	"github.com/iam-watchdog/iam-watchdog/pkg/alert"
)

// TestInvokeAcceptsOnlyEventBridgeEnvelopes: the function takes only what EventBridge delivers
// from CloudTrail (issue 13, point 1). Every other payload an invoker could hand it — naming a
// user and account of their choosing — is logged at error level with the reason, not retried
// (nil), and neither alerted nor acted on. The bootstrap test under aws-lambda-rie
// (functions/watchdog TestBootstrapRefusesForgedPayloads) does the same against moto in auto mode.
func TestInvokeAcceptsOnlyEventBridgeEnvelopes(t *testing.T) {
	const id = "5e0c2f6e-0013-4d7a-9b2e-000000000001"
	record := watchdogtest.CreateAccessKey(id, watchdogtest.Alice)
	envelope := func(source, detailType, account string) string {
		return `{"version": "0", "id": "b2", "detail-type": ` + detailType + `, "source": ` + source +
			`, "account": ` + account + `, "time": "2024-05-02T09:03:51Z", "region": "us-east-1", "resources": [], "detail": ` + record + `}`
	}
	tests := []struct {
		name, event, reason string
	}{
		{"bare record", record, "a bare CloudTrail record"},
		{"log file", `{"Records": [` + record + `]}`, "a CloudTrail log file"},
		{"log file after the envelope's keys", `{"source": "aws.iam", "detail-type": "AWS API Call via CloudTrail", "account": "123456789012", "detail": ` + record + `, "Records": [` + record + `]}`, "a CloudTrail log file"},
		{"lookup-events output", `{"Events": [{"EventId": "x", "CloudTrailEvent": ` + strconv.Quote(record) + `}]}`, "lookup-events output"},
		{"JSON array", `[` + string(watchdogtest.Envelope(record)) + `]`, "a JSON array"},
		{"account differs from recipientAccountId", envelope(`"aws.iam"`, `"AWS API Call via CloudTrail"`, `"210987654321"`), `event account "210987654321" is not the record's recipientAccountId "123456789012"`},
		{"no account", strings.Replace(envelope(`"aws.iam"`, `"AWS API Call via CloudTrail"`, `""`), `"account": "",`, "", 1), `no "account"`},
		{"account not a string", envelope(`"aws.iam"`, `"AWS API Call via CloudTrail"`, `123456789012`), `"account" is not a non-empty string`},
		{"source not AWS", envelope(`"my.app"`, `"AWS API Call via CloudTrail"`, `"123456789012"`), `source "my.app" is not an AWS service`},
		{"source aws. alone", envelope(`"aws."`, `"AWS API Call via CloudTrail"`, `"123456789012"`), `is not an AWS service`},
		{"no source", strings.Replace(envelope(`""`, `"AWS API Call via CloudTrail"`, `"123456789012"`), `"source": "",`, "", 1), `no "source"`},
		{"detail-type not CloudTrail's", envelope(`"aws.iam"`, `"EC2 Instance State-change Notification"`, `"123456789012"`), "is not a CloudTrail event"},
		{"no detail-type", strings.Replace(envelope(`"aws.iam"`, `""`, `"123456789012"`), `"detail-type": "",`, "", 1), `no "detail-type"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var alerts watchdogtest.Calls[alert.Alert]
			var built atomic.Int32
			var sinkErr error
			h, store, logs := handler(t, &alerts, &built, &sinkErr)
			if err := h.Invoke(context.Background(), []byte(tc.event)); err != nil {
				t.Fatalf("Invoke: %v; a refused event is not retried", err)
			}
			if !loggedError(t, logs.String(), tc.reason) {
				t.Fatalf("logs do not give the reason %q at error level:\n%s", tc.reason, logs)
			}
			if n := len(watchdogtest.KeyAlerts(&alerts)); n != 0 || built.Load() != 0 {
				t.Fatalf("%d alerts, sink built %d times: want none", n, built.Load())
			}
			if _, err := store.Get(context.Background(), alert.Key(id, watchdogtest.KeyRule)); err == nil {
				t.Fatal("the refused event's finding was claimed in the store")
			}
		})
	}

	// The same record in a well-formed envelope is a finding: the refusals above are the rule's.
	var alerts watchdogtest.Calls[alert.Alert]
	var built atomic.Int32
	var sinkErr error
	h, _, logs := handler(t, &alerts, &built, &sinkErr)
	if err := h.Invoke(context.Background(), []byte(envelope(`"aws.iam"`, `"AWS API Call via CloudTrail"`, `"123456789012"`))); err != nil {
		t.Fatal(err)
	}
	if n := len(watchdogtest.KeyAlerts(&alerts)); n != 1 || strings.Contains(logs.String(), "refused") {
		t.Fatalf("%d alerts for the well-formed envelope, want 1; logs:\n%s", n, logs)
	}
}

// loggedError reports whether a JSON log line at error level has a reason containing reason.
func loggedError(t *testing.T, logs, reason string) bool {
	t.Helper()
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var l struct{ Level, Reason string }
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if l.Level == "ERROR" && strings.Contains(l.Reason, reason) {
			return true
		}
	}
	return false
}

package auditrun

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/iam-watchdog/iam-watchdog/internal/watchdogtest"
	"github.com/iam-watchdog/iam-watchdog/pkg/schedule"
)

const scheduleARN = "arn:aws:scheduler:us-east-1:123456789012:schedule/default/iam-watchdog-audit"

var tickAt = time.Date(2026, 3, 1, 7, 0, 12, 0, time.UTC)

func invocation(edit func(m map[string]any)) []byte {
	m := map[string]any{"source": InvocationSource, "schedule_arn": scheduleARN, "scheduled_time": "2026-03-01T07:00:00Z", "execution_id": "d32c5kddcf5bb8c3", "attempt": "1"}
	if edit != nil {
		edit(m)
	}
	b, _ := json.Marshal(m)
	return b
}

// TestInvokeRunsOnlyTheSchedule: the schedule's invocation ticks; anything else is refused with a
// logged reason, runs nothing, and is no error (a retry would read the same bytes).
func TestInvokeRunsOnlyTheSchedule(t *testing.T) {
	for _, tc := range []struct {
		name    string
		payload []byte
		refused string // in the log; "" runs the tick
	}{
		{"the schedule's invocation", invocation(nil), ""},
		{"a later attempt", invocation(func(m map[string]any) { m["attempt"] = "3" }), ""},
		{"a CloudTrail event", watchdogtest.Envelope(watchdogtest.CreateAccessKey("evt-1", watchdogtest.Alice)), "unknown field"},
		{"another schedule", invocation(func(m map[string]any) {
			m["schedule_arn"] = strings.Replace(scheduleARN, "iam-watchdog-audit", "mine", 1)
		}), "is not " + scheduleARN},
		{"another source", invocation(func(m map[string]any) { m["source"] = "aws.events" }), "want \\\"iam-watchdog.schedule"},
		{"an extra field", invocation(func(m map[string]any) { m["accounts"] = []string{"111111111111"} }), "unknown field"},
		{"no execution ID", invocation(func(m map[string]any) { m["execution_id"] = "" }), "no execution ID"},
		{"attempt not a count", invocation(func(m map[string]any) { m["attempt"] = "<aws.scheduler.attempt-number>" }), "is not a count"},
		{"scheduled time unfilled", invocation(func(m map[string]any) { m["scheduled_time"] = "<aws.scheduler.scheduled-time>" }), "not RFC 3339"},
		{"a replay of an old invocation", invocation(func(m map[string]any) { m["scheduled_time"] = "2026-02-20T07:00:00Z" }), "is not within"},
		{"scheduled in the future", invocation(func(m map[string]any) { m["scheduled_time"] = "2026-03-01T08:00:00Z" }), "is not within"},
		{"not JSON", []byte(`"tick"`), "not the schedule's object"},
		{"two values", append(invocation(nil), invocation(nil)...), "more than one JSON value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs strings.Builder
			ran := false
			h := &Handler{
				Ticker: &schedule.Ticker{Store: watchdogtest.OpenStore(t), Jobs: []schedule.Job{{Name: "probe", Run: func(context.Context, time.Time) error {
					ran = true
					return nil
				}}}},
				ScheduleARN: scheduleARN, Log: jsonLogger(&logs), Now: func() time.Time { return tickAt },
			}
			if err := h.Invoke(t.Context(), tc.payload); err != nil {
				t.Fatalf("Invoke: %v", err)
			}
			if ran != (tc.refused == "") {
				t.Errorf("the tick ran %t, want %t; log:\n%s", ran, tc.refused == "", logs.String())
			}
			if tc.refused != "" && (!strings.Contains(logs.String(), "invocation refused") || !strings.Contains(logs.String(), tc.refused)) {
				t.Errorf("log lacks the refusal %q:\n%s", tc.refused, logs.String())
			}
		})
	}
}

// TestInvokeFailsWithTheJob: a failing job fails the invocation, so that Lambda retries it.
func TestInvokeFailsWithTheJob(t *testing.T) {
	h := &Handler{
		Ticker: &schedule.Ticker{Store: watchdogtest.OpenStore(t), Jobs: []schedule.Job{{Name: "audit", Run: func(context.Context, time.Time) error {
			return errors.New("slack is down")
		}}}},
		ScheduleARN: scheduleARN, Now: func() time.Time { return tickAt },
	}
	if err := h.Invoke(t.Context(), invocation(nil)); err == nil || !strings.Contains(err.Error(), "slack is down") {
		t.Errorf("Invoke = %v, want the job's error", err)
	}
	h.ScheduleARN = ""
	if err := h.Invoke(t.Context(), invocation(nil)); err != nil {
		t.Errorf("without AUDIT_SCHEDULE_ARN: %v, want a refusal, not an error", err)
	}
}

package watchdog_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/smithy-go"

	"github.com/iam-watchdog/iam-watchdog/internal/watchdogtest"
	"github.com/iam-watchdog/iam-watchdog/pkg/alert"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/policy"
	"github.com/iam-watchdog/iam-watchdog/pkg/remediate"
	"github.com/iam-watchdog/iam-watchdog/pkg/state"
	"github.com/iam-watchdog/iam-watchdog/pkg/watchdog"
)

// handleOne runs rec through p and returns the one result for the access-key rule.
func handleOne(t *testing.T, p *watchdog.Pipeline, record string) (watchdog.Result, error) {
	t.Helper()
	results, err := p.Handle(context.Background(), watchdogtest.Parse(t, record))
	var found []watchdog.Result
	for _, r := range results {
		if r.Finding.Rule == watchdogtest.KeyRule {
			found = append(found, r)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d results for %s (error %v): want 1", len(found), watchdogtest.KeyRule, err)
	}
	return found[0], err
}

// seal stores pieces of authority in an entry, as an earlier invocation would have.
func seal(t *testing.T, e *alert.Entry, p alert.Pieces) {
	t.Helper()
	if err := (alert.Codec{}).Seal(context.Background(), e, p); err != nil {
		t.Fatal(err)
	}
}

// plan is the undo record stored as JSON.
func plan(t *testing.T, raw string) *remediate.Undo {
	t.Helper()
	var u remediate.Undo
	if err := json.Unmarshal([]byte(raw), &u); err != nil {
		t.Fatal(err)
	}
	return &u
}

// claim claims the access-key finding of eventID for an earlier invocation whose lease ran out.
func claim(t *testing.T, s state.Store, eventID string) alert.Entry {
	t.Helper()
	e, err := alert.Records{Store: s}.Claim(context.Background(), alert.Entry{Meta: state.Meta{Key: alert.Key(eventID, watchdogtest.KeyRule), Owner: "invocation-0"},
		Record: alert.Record{EventID: eventID, Rule: watchdogtest.KeyRule}}, -time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestDryRunPlans(t *testing.T) {
	const eventID = "9d1a3b52-0001-4c1e-8f00-000000000001"
	var applied watchdogtest.Calls[detect.Action]
	var alerts watchdogtest.Calls[alert.Alert]
	store := watchdogtest.OpenStore(t)
	p := watchdogtest.Pipeline(policy.DryRun, watchdogtest.Applying(&applied, watchdogtest.Reverted), store, watchdogtest.Delivering(&alerts, alert.Delivery{}, nil))

	r, err := handleOne(t, p, watchdogtest.CreateAccessKey(eventID, watchdogtest.Alice))
	if err != nil {
		t.Fatal(err)
	}
	wantAction := detect.Action{Kind: detect.DeactivateAccessKey, UserName: "bob", AccessKeyID: watchdogtest.NewKeyID, Account: watchdogtest.Account}
	if r.Finding.Action != wantAction {
		t.Fatalf("finding proposes %+v, want %+v", r.Finding.Action, wantAction)
	}
	o := r.Remediation
	if o == nil || o.Status != remediate.Planned || o.Reason != "dry run: would "+watchdogtest.Describe(wantAction) || o.Undo != "" {
		t.Fatalf("outcome %+v: want planned, with the description and no undo", o)
	}
	if n := len(watchdogtest.KeyActions(&applied)); n != 0 {
		t.Fatalf("Apply called %d times in dry-run", n)
	}
	got := watchdogtest.KeyAlerts(&alerts)
	if len(got) != 1 || got[0].Remediation == nil || got[0].Remediation.Status != remediate.Planned {
		t.Fatalf("alerts %+v: want one, planned", got)
	}
	if !r.Alerted || r.Duplicate || !r.Decision.Alert || !r.Decision.Act {
		t.Fatalf("result %+v", r)
	}
	if e := watchdogtest.Entry(t, store, eventID); e.Stage != state.Alerted || watchdogtest.UndoText(t, e) != "" {
		t.Fatalf("store entry %+v: want alerted, no undo", e)
	}
}

func TestAutoActsRecordsUndoAndAlertsOnce(t *testing.T) {
	const eventID = "9d1a3b52-0002-4c1e-8f00-000000000002"
	var applied watchdogtest.Calls[detect.Action]
	var alerts watchdogtest.Calls[alert.Alert]
	store := watchdogtest.OpenStore(t)
	p := watchdogtest.Pipeline(policy.Auto, watchdogtest.Applying(&applied, watchdogtest.Reverted), store, watchdogtest.Delivering(&alerts, watchdogtest.SlackMessage, nil))

	r, err := handleOne(t, p, watchdogtest.CreateAccessKey(eventID, watchdogtest.Alice))
	if err != nil {
		t.Fatal(err)
	}
	acts := watchdogtest.KeyActions(&applied)
	if len(acts) != 1 || acts[0].AccessKeyID != watchdogtest.NewKeyID || acts[0].UserName != "bob" {
		t.Fatalf("Apply calls %+v: want one, for bob's new key", acts)
	}
	o := r.Remediation
	if o == nil || o.Status != remediate.Done || o.Undo != "watchdog undo "+eventID || o.Reason != watchdogtest.Describe(acts[0]) {
		t.Fatalf("outcome %+v: want done with the undo command", o)
	}
	if r.Delivery != watchdogtest.SlackMessage || !r.Alerted {
		t.Fatalf("result %+v: want alerted with the Slack message", r)
	}
	if got := watchdogtest.KeyAlerts(&alerts); len(got) != 1 || got[0].Remediation.Undo != "watchdog undo "+eventID {
		t.Fatalf("alerts %+v: want one that shows the undo command", got)
	}

	e := watchdogtest.Entry(t, store, eventID)
	if e.Stage != state.Alerted || e.Channel != watchdogtest.SlackMessage.Channel || e.TS != watchdogtest.SlackMessage.TS || e.EventID != eventID || e.Rule != watchdogtest.KeyRule {
		t.Fatalf("store entry %+v: want alerted with the Slack message", e)
	}
	var undo remediate.Undo
	if err := json.Unmarshal([]byte(watchdogtest.UndoText(t, e)), &undo); err != nil {
		t.Fatalf("stored undo %s: %v", watchdogtest.UndoText(t, e), err)
	}
	if want, _ := watchdogtest.Reverted(acts[0]); undo != want {
		t.Fatalf("stored undo %+v, want %+v", undo, want)
	}
	if so := watchdogtest.StoredOutcome(t, e); so != *o {
		t.Fatalf("stored outcome %+v, want %+v", so, *o)
	}

	// EventBridge delivers at least once: the same record again, even to another invocation,
	// neither acts nor alerts.
	for _, owner := range []string{"invocation-1", "invocation-2"} {
		again := *p
		again.Owner = owner
		r, err := handleOne(t, &again, watchdogtest.CreateAccessKey(eventID, watchdogtest.Alice))
		if err != nil {
			t.Fatalf("redelivery to %s: %v", owner, err)
		}
		if !r.Duplicate || r.Alerted || r.Remediation == nil || r.Remediation.Status != remediate.Skipped ||
			!strings.Contains(r.Remediation.Reason, "already handled") {
			t.Fatalf("redelivery to %s: result %+v, outcome %+v", owner, r, r.Remediation)
		}
	}
	if len(watchdogtest.KeyActions(&applied)) != 1 || len(watchdogtest.KeyAlerts(&alerts)) != 1 {
		t.Fatalf("after redelivery: %d Apply calls and %d alerts, want 1 and 1", len(watchdogtest.KeyActions(&applied)), len(watchdogtest.KeyAlerts(&alerts)))
	}
	if e2 := watchdogtest.Entry(t, store, eventID); e2.Owner != "invocation-1" || e2.Stage != state.Alerted {
		t.Fatalf("redelivery changed the entry: %+v", e2)
	}
}

// A finding no API can undo is alerted and recorded, and its redelivery skipped too.
func TestNoActionFinding(t *testing.T) {
	const eventID = "9d1a3b52-0003-4c1e-8f00-000000000003"
	const rule = "root-console-signin"
	var applied watchdogtest.Calls[detect.Action]
	var alerts watchdogtest.Calls[alert.Alert]
	store := watchdogtest.OpenStore(t)
	p := watchdogtest.Pipeline(policy.Auto, watchdogtest.Applying(&applied, watchdogtest.Reverted), store, watchdogtest.Delivering(&alerts, watchdogtest.SlackMessage, nil))
	for i := range 2 {
		results, err := p.Handle(context.Background(), watchdogtest.Parse(t, watchdogtest.RootSignin(eventID)))
		if err != nil {
			t.Fatalf("handle %d: %v", i, err)
		}
		results = slices.DeleteFunc(results, func(r watchdog.Result) bool { return r.Finding.Rule != rule })
		if len(results) != 1 {
			t.Fatalf("handle %d: %d results for %s, want 1", i, len(results), rule)
		}
		r := results[0]
		switch {
		case i == 0 && (r.Remediation != nil || !r.Alerted):
			t.Fatalf("first delivery: %+v", r)
		case i == 1 && (!r.Duplicate || r.Remediation == nil || r.Remediation.Action != "none" || r.Remediation.Status != remediate.Skipped):
			t.Fatalf("redelivery: %+v, outcome %+v", r, r.Remediation)
		}
	}
	if n := len(watchdogtest.RuleAlerts(&alerts, rule)); len(applied.All()) != 0 || n != 1 {
		t.Fatalf("%d Apply calls and %d alerts, want 0 and 1", len(applied.All()), n)
	}
	if e, err := (alert.Records{Store: store}).Get(context.Background(), alert.Key(eventID, rule)+"#report"); err != nil || e.Stage != state.Alerted || watchdogtest.Pieces(t, e).Outcome != nil {
		t.Fatalf("store entry %+v, %v: want alerted without an outcome", e, err)
	}
}

func TestSinkFailureRetriesAlertWithoutActingAgain(t *testing.T) {
	const eventID = "9d1a3b52-0004-4c1e-8f00-000000000004"
	var applied watchdogtest.Calls[detect.Action]
	var alerts watchdogtest.Calls[alert.Alert]
	store := watchdogtest.OpenStore(t)
	slackDown := errors.New("slack: 503 service unavailable")
	p := watchdogtest.Pipeline(policy.Auto, watchdogtest.Applying(&applied, watchdogtest.Reverted), store, watchdogtest.Delivering(&alerts, alert.Delivery{}, slackDown))

	r, err := handleOne(t, p, watchdogtest.CreateAccessKey(eventID, watchdogtest.Alice))
	if !errors.Is(err, slackDown) {
		t.Fatalf("error %v: want the sink's error, so that Lambda retries", err)
	}
	if r.Alerted || r.Remediation == nil || r.Remediation.Status != remediate.Done {
		t.Fatalf("result %+v: want acted, not alerted", r)
	}
	e := watchdogtest.Entry(t, store, eventID)
	if e.Stage != state.Acted || watchdogtest.UndoText(t, e) == "" || watchdogtest.StoredOutcome(t, e).Status != remediate.Done {
		t.Fatalf("store entry %+v: want acted with the undo saved", e)
	}

	// The retry (Lambda keeps the request ID, so the owner is the same) alerts with the stored
	// outcome and does not act again.
	var retried watchdogtest.Calls[alert.Alert]
	p.Sink = watchdogtest.Delivering(&retried, watchdogtest.SlackMessage, nil)
	r, err = handleOne(t, p, watchdogtest.CreateAccessKey(eventID, watchdogtest.Alice))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(watchdogtest.KeyActions(&applied)); n != 1 {
		t.Fatalf("Apply called %d times, want 1", n)
	}
	got := watchdogtest.KeyAlerts(&retried)
	if len(got) != 1 || got[0].Remediation == nil || got[0].Remediation.Status != remediate.Done ||
		got[0].Remediation.Undo != "watchdog undo "+eventID {
		t.Fatalf("retry alerts %+v: want one with the stored, done outcome", got)
	}
	if !r.Alerted || r.Duplicate {
		t.Fatalf("retry result %+v", r)
	}
	if e := watchdogtest.Entry(t, store, eventID); e.Stage != state.Alerted || e.TS != watchdogtest.SlackMessage.TS || watchdogtest.UndoText(t, e) == "" {
		t.Fatalf("store entry after retry %+v", e)
	}
}

func TestRemediationErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		err    error
		status remediate.Status
		reason []string
	}{
		{
			name:   "already reverted",
			err:    fmt.Errorf("deactivate access key: %w: %w", remediate.ErrAlreadyReverted, &smithy.GenericAPIError{Code: "NoSuchEntity", Message: "The Access Key with id AKIA... cannot be found."}),
			status: remediate.Skipped,
			reason: []string{"already reverted"},
		},
		{
			name:   "access denied",
			err:    fmt.Errorf("deactivate access key: %w", &smithy.GenericAPIError{Code: "AccessDenied", Message: "not authorized to perform: iam:UpdateAccessKey"}),
			status: remediate.Failed,
			reason: []string{"access denied", "iam:UpdateAccessKey"},
		},
		{
			name:   "other error",
			err:    errors.New("deactivate access key: connection reset by peer"),
			status: remediate.Failed,
			reason: []string{"connection reset by peer"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eventID := "9d1a3b52-0005-4c1e-8f00-" + strings.ReplaceAll(tc.name, " ", "-")
			var applied watchdogtest.Calls[detect.Action]
			var alerts watchdogtest.Calls[alert.Alert]
			store := watchdogtest.OpenStore(t)
			fail := func(detect.Action) (remediate.Undo, error) { return remediate.Undo{}, tc.err }
			p := watchdogtest.Pipeline(policy.Auto, watchdogtest.Applying(&applied, fail), store, watchdogtest.Delivering(&alerts, watchdogtest.SlackMessage, nil))

			r, err := handleOne(t, p, watchdogtest.CreateAccessKey(eventID, watchdogtest.Alice))
			if err != nil {
				t.Fatalf("a remediation error must not fail the record (a retry cannot help): %v", err)
			}
			o := r.Remediation
			if o == nil || o.Status != tc.status || o.Undo != "" {
				t.Fatalf("outcome %+v: want %s without an undo command", o, tc.status)
			}
			for _, w := range tc.reason {
				if !strings.Contains(o.Reason, w) {
					t.Errorf("reason %q does not contain %q", o.Reason, w)
				}
			}
			if len(watchdogtest.KeyActions(&applied)) != 1 || len(watchdogtest.KeyAlerts(&alerts)) != 1 {
				t.Fatalf("%d Apply calls and %d alerts, want 1 and 1", len(watchdogtest.KeyActions(&applied)), len(watchdogtest.KeyAlerts(&alerts)))
			}
			if e := watchdogtest.Entry(t, store, eventID); e.Stage != state.Alerted || watchdogtest.UndoText(t, e) != "" {
				t.Fatalf("store entry %+v: want alerted without an undo", e)
			}
		})
	}
}

// Auto mode without AWS clients reports the failure instead of pretending.
func TestAutoWithoutRemediator(t *testing.T) {
	var alerts watchdogtest.Calls[alert.Alert]
	p := watchdogtest.Pipeline(policy.Auto, nil, watchdogtest.OpenStore(t), watchdogtest.Delivering(&alerts, watchdogtest.SlackMessage, nil))
	r, err := handleOne(t, p, watchdogtest.CreateAccessKey("9d1a3b52-0006-4c1e-8f00-000000000006", watchdogtest.Alice))
	if err != nil {
		t.Fatal(err)
	}
	if o := r.Remediation; o == nil || o.Status != remediate.Failed || o.Undo != "" {
		t.Fatalf("outcome %+v: want failed", o)
	}
}

func TestBusyClaimThenTakeover(t *testing.T) {
	const eventID = "9d1a3b52-0007-4c1e-8f00-000000000007"
	ctx := context.Background()
	var applied watchdogtest.Calls[detect.Action]
	var alerts watchdogtest.Calls[alert.Alert]
	store := watchdogtest.OpenStore(t)
	p := watchdogtest.Pipeline(policy.Auto, watchdogtest.Applying(&applied, watchdogtest.Reverted), store, watchdogtest.Delivering(&alerts, watchdogtest.SlackMessage, nil))
	p.Lease = time.Minute

	other := state.Entry{Meta: state.Meta{Key: alert.Key(eventID, watchdogtest.KeyRule), Owner: "invocation-0"}, Body: json.RawMessage(`{"event_id":"` + eventID + `","rule":"` + watchdogtest.KeyRule + `"}`)}
	if _, err := store.Claim(ctx, other, time.Hour); err != nil {
		t.Fatal(err)
	}
	results, err := p.Handle(ctx, watchdogtest.Parse(t, watchdogtest.CreateAccessKey(eventID, watchdogtest.Alice)))
	if !errors.Is(err, state.ErrBusy) {
		t.Fatalf("error %v: want one wrapping state.ErrBusy", err)
	}
	results = slices.DeleteFunc(results, func(r watchdog.Result) bool { return r.Finding.Rule != watchdogtest.KeyRule })
	if len(results) != 0 || len(watchdogtest.KeyActions(&applied)) != 0 || len(watchdogtest.KeyAlerts(&alerts)) != 0 {
		t.Fatalf("busy: %d results, %d Apply calls, %d alerts: want nothing done", len(results), len(watchdogtest.KeyActions(&applied)), len(watchdogtest.KeyAlerts(&alerts)))
	}
	if e := watchdogtest.Entry(t, store, eventID); e.Owner != "invocation-0" || e.Stage != state.Claimed {
		t.Fatalf("busy handling changed the other claim: %+v", e)
	}

	// invocation-0 crashes and its lease runs out: its claim now ends in the past.
	if _, err := store.Claim(ctx, other, -time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := handleOne(t, p, watchdogtest.CreateAccessKey(eventID, watchdogtest.Alice)); err != nil {
		t.Fatalf("after the lease ran out: %v", err)
	}
	if len(watchdogtest.KeyActions(&applied)) != 1 || len(watchdogtest.KeyAlerts(&alerts)) != 1 {
		t.Fatalf("takeover: %d Apply calls and %d alerts, want 1 and 1", len(watchdogtest.KeyActions(&applied)), len(watchdogtest.KeyAlerts(&alerts)))
	}
	e := watchdogtest.Entry(t, store, eventID)
	if e.Owner != p.Owner || e.Stage != state.Alerted || watchdogtest.UndoText(t, e) == "" {
		t.Fatalf("store entry after takeover %+v", e)
	}
	if r, err := handleOne(t, p, watchdogtest.CreateAccessKey(eventID, watchdogtest.Alice)); err != nil || !r.Duplicate {
		t.Fatalf("after takeover, redelivery: %+v %v", r, err)
	}
	if len(watchdogtest.KeyActions(&applied)) != 1 || len(watchdogtest.KeyAlerts(&alerts)) != 1 {
		t.Fatal("the work was done more than once")
	}
}

// An invocation that acted, saved its outcome and crashed before alerting: the one that takes
// over alerts with that outcome and does not act again.
func TestTakeoverAfterActedAlertsStoredOutcome(t *testing.T) {
	const eventID = "9d1a3b52-0008-4c1e-8f00-000000000008"
	ctx := context.Background()
	var applied watchdogtest.Calls[detect.Action]
	var alerts watchdogtest.Calls[alert.Alert]
	store := watchdogtest.OpenStore(t)
	p := watchdogtest.Pipeline(policy.Auto, watchdogtest.Applying(&applied, watchdogtest.Reverted), store, watchdogtest.Delivering(&alerts, watchdogtest.SlackMessage, nil))

	e := claim(t, store, eventID)
	done := remediate.Outcome{Action: detect.DeactivateAccessKey, Status: remediate.Done, Reason: "deactivated", Undo: remediate.UndoCommand(eventID)}
	e.Stage = state.Acted
	seal(t, &e, alert.Pieces{Outcome: &done, Plan: plan(t, `{"action":"deactivate_access_key","user_name":"bob","access_key_id":"`+watchdogtest.NewKeyID+`","at":"2024-05-02T09:03:52Z"}`)})
	if err := (alert.Records{Store: store}).Save(ctx, e); err != nil {
		t.Fatal(err)
	}

	if _, err := handleOne(t, p, watchdogtest.CreateAccessKey(eventID, watchdogtest.Alice)); err != nil {
		t.Fatal(err)
	}
	got := watchdogtest.KeyAlerts(&alerts)
	if len(watchdogtest.KeyActions(&applied)) != 0 || len(got) != 1 || got[0].Remediation == nil || *got[0].Remediation != done {
		t.Fatalf("%d Apply calls, alerts %+v: want no action and the stored outcome", len(watchdogtest.KeyActions(&applied)), got)
	}
	if after := watchdogtest.Entry(t, store, eventID); after.Stage != state.Alerted || watchdogtest.UndoText(t, after) != watchdogtest.UndoText(t, e) {
		t.Fatalf("store entry %+v: want alerted with the first invocation's undo", after)
	}
}

// An invocation that stored its plan (stage acting) and crashed, maybe after acting: the one
// that takes over resumes the plan in auto mode — a NoSuchEntity then being the first one's own
// change; when the call fails now, the undo record is kept all the same (the first one may have
// acted) — and, once remediation needs approval instead, acts no more but keeps the undo record.
func TestTakeoverAtActingResumesThePlan(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mode    policy.Mode
		answer  error
		applies int
		status  remediate.Status
	}{
		{"auto, not yet done", policy.Auto, nil, 1, remediate.Done},
		{"auto, done by the first", policy.Auto, fmt.Errorf("detach: %w", remediate.ErrAlreadyReverted), 1, remediate.Done},
		{"auto, failing now", policy.Auto, errors.New("Throttling: Rate exceeded"), 1, remediate.Failed},
		{"approval now", policy.Approve, nil, 0, remediate.Skipped},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const eventID = "9d1a3b52-0018-4c1e-8f00-000000000018"
			ctx := context.Background()
			var applied watchdogtest.Calls[detect.Action]
			var alerts watchdogtest.Calls[alert.Alert]
			store := watchdogtest.OpenStore(t)
			p := watchdogtest.Pipeline(tc.mode, watchdogtest.Applying(&applied, func(a detect.Action) (remediate.Undo, error) { return remediate.Undo{}, tc.answer }),
				store, watchdogtest.Delivering(&alerts, watchdogtest.SlackMessage, nil))

			e := claim(t, store, eventID)
			planned := `{"action":"deactivate_access_key","user_name":"bob","access_key_id":"` + watchdogtest.NewKeyID + `","at":"2024-05-02T09:03:52Z"}`
			e.Stage = state.Acting
			seal(t, &e, alert.Pieces{Plan: plan(t, planned)})
			if err := (alert.Records{Store: store}).Save(ctx, e); err != nil {
				t.Fatal(err)
			}

			r, err := handleOne(t, p, watchdogtest.CreateAccessKey(eventID, watchdogtest.Alice))
			if err != nil {
				t.Fatal(err)
			}
			acts := watchdogtest.KeyActions(&applied)
			if len(acts) != tc.applies || tc.applies == 1 && acts[0].AccessKeyID != watchdogtest.NewKeyID {
				t.Errorf("actions %+v: want %d, of the stored plan", acts, tc.applies)
			}
			if o := r.Remediation; o == nil || o.Status != tc.status || o.Undo == "" {
				t.Errorf("outcome %+v: want %s with the undo command", o, tc.status)
			}
			if after := watchdogtest.Entry(t, store, eventID); after.Stage != state.Alerted || watchdogtest.UndoText(t, after) != planned {
				t.Errorf("store entry %+v: want alerted, keeping the planned undo record", after)
			}
		})
	}
}

func TestOwnCallIsDropped(t *testing.T) {
	const eventID = "9d1a3b52-0009-4c1e-8f00-000000000009"
	var applied watchdogtest.Calls[detect.Action]
	var alerts watchdogtest.Calls[alert.Alert]
	store := watchdogtest.OpenStore(t)
	p := watchdogtest.Pipeline(policy.Auto, watchdogtest.Applying(&applied, watchdogtest.Reverted), store, watchdogtest.Delivering(&alerts, watchdogtest.SlackMessage, nil))

	r, err := handleOne(t, p, watchdogtest.CreateAccessKey(eventID, watchdogtest.WatchdogSession))
	if err != nil {
		t.Fatal(err)
	}
	if r.Decision.Alert || r.Alerted || r.Remediation != nil {
		t.Fatalf("result %+v: want dropped", r)
	}
	if len(watchdogtest.KeyActions(&applied)) != 0 || len(watchdogtest.KeyAlerts(&alerts)) != 0 {
		t.Fatalf("%d Apply calls and %d alerts, want none", len(watchdogtest.KeyActions(&applied)), len(watchdogtest.KeyAlerts(&alerts)))
	}
	if _, err := store.Get(context.Background(), alert.Key(eventID, watchdogtest.KeyRule)); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("store entry for the watchdog's own call: %v", err)
	}
}

func TestApproveWaits(t *testing.T) {
	const eventID = "9d1a3b52-0010-4c1e-8f00-000000000010"
	var applied watchdogtest.Calls[detect.Action]
	var alerts watchdogtest.Calls[alert.Alert]
	p := watchdogtest.Pipeline(policy.Approve, watchdogtest.Applying(&applied, watchdogtest.Reverted), watchdogtest.OpenStore(t), watchdogtest.Delivering(&alerts, watchdogtest.SlackMessage, nil))

	r, err := handleOne(t, p, watchdogtest.CreateAccessKey(eventID, watchdogtest.Alice))
	if err != nil {
		t.Fatal(err)
	}
	if o := r.Remediation; o == nil || o.Status != remediate.Pending || !strings.Contains(o.Reason, watchdogtest.Describe(r.Finding.Action)) || o.Undo != "" {
		t.Fatalf("outcome %+v: want pending, naming the action", o)
	}
	if len(watchdogtest.KeyActions(&applied)) != 0 || len(watchdogtest.KeyAlerts(&alerts)) != 1 {
		t.Fatalf("%d Apply calls and %d alerts, want 0 and 1", len(watchdogtest.KeyActions(&applied)), len(watchdogtest.KeyAlerts(&alerts)))
	}
}

// Decisions not to act reach the alert as skipped outcomes with the decision's reason.
func TestModeOffSkips(t *testing.T) {
	var applied watchdogtest.Calls[detect.Action]
	var alerts watchdogtest.Calls[alert.Alert]
	p := watchdogtest.Pipeline(policy.Off, watchdogtest.Applying(&applied, watchdogtest.Reverted), watchdogtest.OpenStore(t), watchdogtest.Delivering(&alerts, watchdogtest.SlackMessage, nil))
	r, err := handleOne(t, p, watchdogtest.CreateAccessKey("9d1a3b52-0011-4c1e-8f00-000000000011", watchdogtest.Alice))
	if err != nil {
		t.Fatal(err)
	}
	if o := r.Remediation; o == nil || o.Status != remediate.Skipped || o.Reason != r.Decision.Reason || o.Reason == "" {
		t.Fatalf("outcome %+v, decision %+v", o, r.Decision)
	}
	if len(watchdogtest.KeyActions(&applied)) != 0 || len(watchdogtest.KeyAlerts(&alerts)) != 1 {
		t.Fatalf("%d Apply calls and %d alerts, want 0 and 1", len(watchdogtest.KeyActions(&applied)), len(watchdogtest.KeyAlerts(&alerts)))
	}
}

// Without a store every delivery is new, and without a sink results are only returned.
func TestWithoutStoreOrSink(t *testing.T) {
	var applied watchdogtest.Calls[detect.Action]
	p := watchdogtest.Pipeline(policy.DryRun, watchdogtest.Applying(&applied, watchdogtest.Reverted), nil, nil)
	for range 2 {
		r, err := handleOne(t, p, watchdogtest.CreateAccessKey("9d1a3b52-0012-4c1e-8f00-000000000012", watchdogtest.Alice))
		if err != nil || r.Duplicate || !r.Alerted || r.Remediation.Status != remediate.Planned {
			t.Fatalf("result %+v, %v", r, err)
		}
	}
}

// Reporting an event in dry-run first must not stop the watchdog from acting on it once
// remediation is switched on: the two are claimed apart.
func TestDryRunThenAutoActs(t *testing.T) {
	const eventID = "7a7a7a7a-0001-4c1e-8f00-000000000001"
	var applied watchdogtest.Calls[detect.Action]
	var alerts watchdogtest.Calls[alert.Alert]
	store := watchdogtest.OpenStore(t)
	dry := watchdogtest.Pipeline(policy.DryRun, watchdogtest.Applying(&applied, watchdogtest.Reverted), store, watchdogtest.Delivering(&alerts, alert.Delivery{}, nil))
	if _, err := handleOne(t, dry, watchdogtest.CreateAccessKey(eventID, watchdogtest.Alice)); err != nil {
		t.Fatal(err)
	}
	auto := watchdogtest.Pipeline(policy.Auto, watchdogtest.Applying(&applied, watchdogtest.Reverted), store, watchdogtest.Delivering(&alerts, alert.Delivery{}, nil))
	r, err := handleOne(t, auto, watchdogtest.CreateAccessKey(eventID, watchdogtest.Alice))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(watchdogtest.KeyActions(&applied)); n != 1 || r.Duplicate || r.Remediation == nil || r.Remediation.Status != remediate.Done {
		t.Fatalf("auto after dry-run: %d Apply calls, outcome %+v; want 1, done", n, r.Remediation)
	}
	// And a redelivery in auto mode is still a duplicate.
	if r, err := handleOne(t, auto, watchdogtest.CreateAccessKey(eventID, watchdogtest.Alice)); err != nil || !r.Duplicate || len(watchdogtest.KeyActions(&applied)) != 1 {
		t.Fatalf("redelivery in auto: %+v, %v; want a duplicate, no second Apply", r, err)
	}
}

package alert

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/iam-watchdog/iam-watchdog/pkg/cloudtrail"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/remediate"
	"github.com/iam-watchdog/iam-watchdog/pkg/state"
)

// storedEntry is an entry as the state table holds it, every field set, in the form watchdogs
// before this package wrote it (one JSON object for the claim and the record).
const storedEntry = `{
	"key": "ev-1#access-key-created", "event_id": "ev-1", "rule": "access-key-created",
	"stage": "alerted", "owner": "lambda-req-1", "lease_until": "2024-05-02T09:06:00Z",
	"outcome": {"action": "deactivate_access_key", "status": "done", "reason": "deactivate access key AKIA1 of user bob", "undo": "watchdog undo ev-1"},
	"undo": {"action": "deactivate_access_key", "account": "123456789012", "user_name": "bob", "access_key_id": "AKIA1", "at": "2024-05-02T09:03:59Z"},
	"channel": "C0SEC", "ts": "1714640631.000100", "undone_at": "2024-05-02T10:00:00Z",
	"updated_at": "2024-05-02T10:00:00Z", "expires_at": "2024-07-31T09:04:00Z", "version": 7,
	"action": {"action": "deactivate_access_key", "account": "123456789012", "user_name": "bob", "access_key_id": "AKIA1"},
	"alert": ALERT,
	"status": "reverted", "status_by": "watchdog", "status_since": "2024-05-02T09:04:00Z",
	"events": [{"who": "U0A", "what": "undo", "at": "2024-05-02T10:00:00Z"}],
	"group": {"members": ["ev-2#access-key-created"], "targets": ["arn:aws:iam::123456789012:user/bob"], "outcomes": {"done": 2}},
	"leader": "ev-0#access-key-created", "window_ends": "2024-05-02T09:14:00Z",
	"dirty": true, "refresher": "lambda-req-2", "refresher_until": "2024-05-02T10:00:30Z"
}`

func jsonEqual(t *testing.T, want, got []byte) {
	t.Helper()
	var w, g any
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(w, g) {
		t.Errorf("JSON differs:\n got %s\nwant %s", got, want)
	}
}

// TestStoredEntryRoundTrip: what the state table holds reads into the record and its pieces
// field for field, and writes back as the same JSON, so that a deployment keeps its records
// (and their undo records) across this package's changes.
func TestStoredEntryRoundTrip(t *testing.T) {
	// The stored alert is a whole finding: written here as an older watchdog wrote it.
	storedAlert, err := json.Marshal(map[string]any{
		"finding":     detect.Finding{Rule: "access-key-created", Category: "access_key_created", Severity: detect.High, EventID: "ev-1", Target: "arn:aws:iam::123456789012:user/bob"},
		"remediation": remediate.Outcome{Action: detect.DeactivateAccessKey, Status: remediate.Done, Reason: "r"},
		"pos":         cloudtrail.Position{Name: "event", Line: 1, Index: -1},
	})
	if err != nil {
		t.Fatal(err)
	}
	stored := strings.Replace(storedEntry, "ALERT", string(storedAlert), 1)
	var se state.Entry
	if err := json.Unmarshal([]byte(stored), &se); err != nil {
		t.Fatal(err)
	}
	e, err := decode(se)
	if err != nil {
		t.Fatal(err)
	}
	at := func(s string) time.Time { v, _ := time.Parse(time.RFC3339, s); return v }
	want := Record{
		EventID: "ev-1", Rule: "access-key-created", Channel: "C0SEC", TS: "1714640631.000100", UndoneAt: at("2024-05-02T10:00:00Z"),
		Status: Reverted, StatusBy: "watchdog", StatusSince: at("2024-05-02T09:04:00Z"),
		Events: []Event{{Who: "U0A", What: "undo", At: at("2024-05-02T10:00:00Z")}},
		Group:  &Group{Members: []string{"ev-2#access-key-created"}, Targets: []string{"arn:aws:iam::123456789012:user/bob"}, Outcomes: map[string]int{"done": 2}},
		Leader: "ev-0#access-key-created", WindowEnds: at("2024-05-02T09:14:00Z"),
		Dirty: true, Refresher: "lambda-req-2", RefresherUntil: at("2024-05-02T10:00:30Z"),
	}
	got := e.Record
	got.sealed = sealed{}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("record\n got %+v\nwant %+v", got, want)
	}
	if e.Key != "ev-1#access-key-created" || e.Stage != state.Alerted || e.Owner != "lambda-req-1" || e.Version != 7 {
		t.Errorf("meta %+v", e.Meta)
	}
	p, err := Codec{}.Open(t.Context(), e)
	if err != nil {
		t.Fatal(err)
	}
	if p.Action == nil || *p.Action != (detect.Action{Kind: detect.DeactivateAccessKey, Account: "123456789012", UserName: "bob", AccessKeyID: "AKIA1"}) {
		t.Errorf("action %+v", p.Action)
	}
	if p.Plan == nil || *p.Plan != (remediate.Undo{Action: detect.DeactivateAccessKey, Account: "123456789012", UserName: "bob", AccessKeyID: "AKIA1", At: at("2024-05-02T09:03:59Z")}) {
		t.Errorf("plan %+v", p.Plan)
	}
	if p.Outcome == nil || p.Outcome.Status != remediate.Done || p.Outcome.Undo != "watchdog undo ev-1" {
		t.Errorf("outcome %+v", p.Outcome)
	}
	if p.Alert == nil || p.Alert.Finding.Rule != "access-key-created" || p.Alert.Finding.Severity != detect.High || p.Alert.Finding.Record == nil || p.Alert.Finding.Record.Pos.Name != "event" {
		t.Errorf("alert %+v", p.Alert)
	}

	back, err := e.encode()
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(back)
	if err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, []byte(stored), data)
}

// TestCodecSealOpen: what Seal writes, Open reads back; a piece left nil is removed; the alert
// keeps of its CloudTrail record where it was read, the raw record byte for byte and its
// detail-type, and not its thread.
func TestCodecSealOpen(t *testing.T) {
	ctx := context.Background()
	var c Codec
	act := detect.Action{Kind: detect.DetachUserPolicy, UserName: "carol", PolicyARN: "arn:aws:iam::aws:policy/AdministratorAccess"}
	plan := remediate.Undo{Action: act.Kind, UserName: act.UserName, PolicyARN: act.PolicyARN}
	out := remediate.Outcome{Action: act.Kind, Status: remediate.Pending, Reason: "waiting for approval"}
	rec := &cloudtrail.Record{Pos: cloudtrail.Position{Name: "s3://b/k.json.gz", Index: 3}, Raw: json.RawMessage("{ \"big\" :\n\"record <&>\" }"),
		DetailType: "AWS API Call via CloudTrail", EventName: "AttachUserPolicy"}
	a := Alert{Finding: detect.Finding{Rule: "user-managed-policy-attached", EventID: "ev-9", Action: act, Record: rec}, Remediation: &out,
		Thread: &Thread{Key: "ev-9#user-managed-policy-attached", Status: Pending}}

	e := Entry{Meta: state.Meta{Key: "ev-9#user-managed-policy-attached"}}
	if err := c.Seal(ctx, &e, Pieces{Action: &act, Plan: &plan, Outcome: &out, Alert: &a}); err != nil {
		t.Fatal(err)
	}
	p, err := c.Open(ctx, e)
	if err != nil {
		t.Fatal(err)
	}
	if *p.Action != act || *p.Plan != plan || *p.Outcome != out {
		t.Errorf("pieces %+v %+v %+v", p.Action, p.Plan, p.Outcome)
	}
	if got := p.Alert.Finding.Record; p.Alert.Thread != nil || got == nil || got.Pos != rec.Pos || string(got.Raw) != string(rec.Raw) ||
		got.DetailType != rec.DetailType || got.EventName != "" {
		t.Errorf("stored alert %+v, record %+v: want the position, the raw record and its detail-type, and no thread", p.Alert, got)
	}
	if !e.HasAlert() {
		t.Error("HasAlert is false after sealing an alert")
	}

	p.Plan, p.Alert = nil, nil
	if err := c.Seal(ctx, &e, p); err != nil {
		t.Fatal(err)
	}
	p, err = c.Open(ctx, e)
	if err != nil || p.Plan != nil || p.Alert != nil || p.Action == nil || p.Outcome == nil || e.HasAlert() {
		t.Errorf("after removing the plan and the alert: %+v %v", p, err)
	}

	e.sealed.Undo = json.RawMessage(`{"action": 5}`)
	if _, err := c.Open(ctx, e); err == nil {
		t.Error("Open read an undo record of the wrong shape")
	}
}

// TestRecordsOverAStore: records go through a real store, with its claims and versions.
func TestRecordsOverAStore(t *testing.T) {
	ctx := context.Background()
	f, err := state.OpenFile(filepath.Join(t.TempDir(), "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	rs := Records{Store: f}
	key := Key("ev-1", "access-key-created")
	e, err := rs.Claim(ctx, Entry{Meta: state.Meta{Key: key, Owner: "a"}, Record: Record{EventID: "ev-1", Rule: "access-key-created"}}, time.Minute)
	if err != nil || e.Stage != state.Claimed || e.EventID != "ev-1" {
		t.Fatalf("claim: %+v %v", e, err)
	}
	act := detect.Action{Kind: detect.DeactivateAccessKey, UserName: "bob"}
	if err := rs.Codec.Seal(ctx, &e, Pieces{Action: &act}); err != nil {
		t.Fatal(err)
	}
	e.Stage = state.Acted
	if err := rs.Save(ctx, e); err != nil {
		t.Fatal(err)
	}
	refused := errors.New("no")
	if _, err := rs.Update(ctx, key, func(x *Entry) error { x.TS = "1.2"; return refused }); !errors.Is(err, refused) {
		t.Fatalf("refused update: %v", err)
	}
	got, err := rs.Update(ctx, key, func(x *Entry) error { x.SetMessage(Delivery{Channel: "C1", TS: "1.2"}); return nil })
	if err != nil || got.TS != "1.2" || got.Stage != state.Acted || got.Version != 3 {
		t.Fatalf("update: %+v %v", got, err)
	}
	got, err = rs.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	p, err := rs.Codec.Open(ctx, got)
	if err != nil || p.Action == nil || *p.Action != act || got.Message() != (Delivery{Channel: "C1", TS: "1.2"}) {
		t.Fatalf("read back %+v, pieces %+v, %v", got, p, err)
	}
	if _, err := rs.Claim(ctx, Entry{Meta: state.Meta{Key: key, Owner: "b"}}, time.Minute); !errors.Is(err, state.ErrBusy) {
		t.Errorf("a second claim: %v, want state.ErrBusy", err)
	}
}

package remediate

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
)

// priorFunc is a PriorStates answering with a function, recording what it was asked.
type priorFunc struct {
	answer func(account, user string, t time.Time) (Prior, error)
	asked  []time.Time
}

func (p *priorFunc) UserBefore(_ context.Context, account, user string, t time.Time) (Prior, error) {
	p.asked = append(p.asked, t)
	return p.answer(account, user, t)
}

const (
	readOnlyDoc  = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`
	widerDoc     = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*","iam:PassRole"],"Resource":"*"}]}`
	fullAdminDoc = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`
	adminARN     = "arn:aws:iam::aws:policy/AdministratorAccess"
)

var (
	eventAt    = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	snapshotAt = time.Date(2026, 3, 1, 7, 0, 0, 0, time.UTC)
)

// TestPlanAt walks PlanAt through what a snapshot can say about each action it reverts to.
func TestPlanAt(t *testing.T) {
	detach := detect.Action{Kind: detect.DetachUserPolicy, UserName: "bob", PolicyARN: adminARN, Account: "123456789012"}
	del := detect.Action{Kind: detect.DeleteUserPolicy, UserName: "bob", PolicyName: "extra", Account: "123456789012"}
	known := func(attached []string, inline map[string]string, fullAdmin ...string) func(string, string, time.Time) (Prior, error) {
		return func(string, string, time.Time) (Prior, error) {
			return Prior{Known: true, TakenAt: snapshotAt, Attached: attached, Inline: inline, FullAdmin: fullAdmin}, nil
		}
	}
	unknown := func(string, string, time.Time) (Prior, error) {
		return Prior{Why: "no audit snapshot of account 123456789012 is kept"}, nil
	}
	for _, tc := range []struct {
		name      string
		action    detect.Action
		at        time.Time
		answer    func(string, string, time.Time) (Prior, error)
		restore   bool
		current   string // the inline document IAM holds now
		wantErr   error
		wantPrior []string // substrings of Undo.Prior, or of the error
		restored  string   // the Undo's RestoreDocument
		calls     []string
	}{
		{name: "managed policy attached before", action: detach, at: eventAt, answer: known([]string{adminARN}, nil),
			wantErr: ErrPriorState, wantPrior: []string{"not detached", "2026-03-01T07:00:00Z", "attached to user bob before this event"}},
		{name: "managed policy not attached before", action: detach, at: eventAt, answer: known(nil, nil),
			wantPrior: []string{"the audit snapshot of 2026-03-01T07:00:00Z shows it was not attached before this event"}},
		{name: "no snapshot", action: detach, at: eventAt, answer: unknown,
			wantPrior: []string{"prior state unknown: no audit snapshot of account 123456789012 is kept"}},
		{name: "snapshots unreadable", action: detach, at: eventAt, answer: func(string, string, time.Time) (Prior, error) { return Prior{}, errors.New("MAC mismatch") },
			wantPrior: []string{"prior state unknown: the audit snapshots could not be read: MAC mismatch"}},
		{name: "event without a time", action: detach, answer: known([]string{adminARN}, nil),
			wantPrior: []string{"prior state unknown: the event has no time"}},
		{name: "inline policy new", action: del, at: eventAt, answer: known(nil, map[string]string{"other": readOnlyDoc}), current: widerDoc,
			wantPrior: []string{"shows no inline policy extra on user bob before this event"}, calls: []string{"GetUserPolicy"}},
		{name: "inline policy put again unchanged", action: del, at: eventAt, answer: known(nil, map[string]string{"extra": readOnlyDoc}),
			current: "{ \"Statement\": [ {\"Resource\":\"*\", \"Action\":\"s3:GetObject\",\"Effect\":\"Allow\"} ], \"Version\": \"2012-10-17\" }",
			wantErr: ErrPriorState, wantPrior: []string{"not deleted", "this same document"}, calls: []string{"GetUserPolicy"}},
		{name: "inline policy overwritten, restoring", action: del, at: eventAt, answer: known(nil, map[string]string{"extra": readOnlyDoc}), current: widerDoc, restore: true,
			wantPrior: []string{"put inline policy extra of user bob in account 123456789012 back to the document the audit snapshot of 2026-03-01T07:00:00Z shows"}, restored: readOnlyDoc, calls: []string{"GetUserPolicy"}},
		{name: "inline policy overwritten, not restoring", action: del, at: eventAt, answer: known(nil, map[string]string{"extra": readOnlyDoc}), current: widerDoc,
			wantPrior: []string{"held another document before this event: " + readOnlyDoc, "RestoreInlinePolicies",
				`aws iam put-user-policy --user-name 'bob' --policy-name 'extra' --policy-document '` + readOnlyDoc + `'`}, calls: []string{"GetUserPolicy"}},
		{name: "inline policy overwrote a full-admin one", action: del, at: eventAt, answer: known(nil, map[string]string{"extra": fullAdminDoc}, "extra"), current: widerDoc, restore: true,
			wantPrior: []string{"allows every action on every resource, so it is not put back"}, calls: []string{"GetUserPolicy"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeIAM{t: t, getUserPolicy: func(*iam.GetUserPolicyInput) (*iam.GetUserPolicyOutput, error) {
				return &iam.GetUserPolicyOutput{PolicyDocument: aws.String(url.PathEscape(tc.current))}, nil
			}}
			snaps := &priorFunc{answer: tc.answer}
			r := &Remediator{Clients: &fakeClients{iam: f}, Snapshots: snaps, RestoreInline: tc.restore, Now: func() time.Time { return eventAt }}
			u, err := r.PlanAt(t.Context(), tc.action, tc.at)
			text := u.Prior
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("error %v, want %v", err, tc.wantErr)
				}
				text = err.Error()
			} else if err != nil {
				t.Fatal(err)
			}
			for _, want := range tc.wantPrior {
				if !strings.Contains(text, want) {
					t.Errorf("%q lacks %q", text, want)
				}
			}
			if u.RestoreDocument != tc.restored {
				t.Errorf("RestoreDocument %q, want %q", u.RestoreDocument, tc.restored)
			}
			if tc.action.Kind == detect.DeleteUserPolicy && err == nil && u.PolicyDocument != tc.current {
				t.Errorf("the undo record saved %q, want the overwriting document %q (undo puts it back)", u.PolicyDocument, tc.current)
			}
			if !slices.Equal(f.calls, tc.calls) {
				t.Errorf("IAM calls %v, want %v (PlanAt only reads)", f.calls, tc.calls)
			}
			if tc.at.IsZero() != (len(snaps.asked) == 0) || (len(snaps.asked) == 1 && !snaps.asked[0].Equal(tc.at)) {
				t.Errorf("snapshots asked about %v, want the event's time %v", snaps.asked, tc.at)
			}
		})
	}
}

// TestPlanAtOtherActions: actions a snapshot says nothing about plan as Plan does, without
// asking; a remediator without snapshots too.
func TestPlanAtOtherActions(t *testing.T) {
	snaps := &priorFunc{answer: func(string, string, time.Time) (Prior, error) { t.Error("snapshots asked"); return Prior{}, nil }}
	r := &Remediator{Clients: &fakeClients{iam: &fakeIAM{t: t}}, Snapshots: snaps, QuarantinePolicyARN: "arn:aws:iam::123456789012:policy/q"}
	u, err := r.PlanAt(t.Context(), detect.Action{Kind: detect.QuarantineUser, UserName: "bob"}, eventAt)
	if err != nil || u.Prior != "" || u.PolicyARN != "arn:aws:iam::123456789012:policy/q" {
		t.Errorf("quarantine: %+v, %v", u, err)
	}
	bare := &Remediator{Clients: &fakeClients{iam: &fakeIAM{t: t}}}
	u, err = bare.PlanAt(t.Context(), detect.Action{Kind: detect.DetachUserPolicy, UserName: "bob", PolicyARN: adminARN}, eventAt)
	if err != nil || u.Prior != "" {
		t.Errorf("without snapshots: %+v, %v; want Plan's plan, no prior", u, err)
	}
}

// TestRestoreDoAndRevert: a restore puts the snapshot's document; its revert puts the
// overwriting one back, as a delete's revert does.
func TestRestoreDoAndRevert(t *testing.T) {
	var put []string
	f := &fakeIAM{t: t, putUserPolicy: func(in *iam.PutUserPolicyInput) error { put = append(put, aws.ToString(in.PolicyDocument)); return nil }}
	r := &Remediator{Clients: &fakeClients{iam: f}}
	u := Undo{Action: detect.DeleteUserPolicy, UserName: "bob", PolicyName: "extra", PolicyDocument: widerDoc, RestoreDocument: readOnlyDoc}
	if err := r.Do(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	if err := r.Revert(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(put, []string{readOnlyDoc, widerDoc}) || slices.Contains(f.calls, "DeleteUserPolicy") {
		t.Errorf("calls %v putting %v; want the snapshot's document, then the overwriting one, and no delete", f.calls, put)
	}
}

func TestExplain(t *testing.T) {
	for _, tc := range []struct {
		u    Undo
		want string
	}{
		{Undo{}, "detach X"},
		{Undo{Prior: "prior state unknown: none"}, "detach X; prior state unknown: none"},
		{Undo{Prior: "put it back", RestoreDocument: "{}"}, "put it back"},
	} {
		if got := Explain("detach X", tc.u); got != tc.want {
			t.Errorf("Explain(%+v) = %q, want %q", tc.u, got, tc.want)
		}
	}
}

package watchdog_test

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/iam-watchdog/iam-watchdog/internal/mototest"
	"github.com/iam-watchdog/iam-watchdog/internal/watchdogtest"
	"github.com/iam-watchdog/iam-watchdog/pkg/alert"
	"github.com/iam-watchdog/iam-watchdog/pkg/audit"
	"github.com/iam-watchdog/iam-watchdog/pkg/auditstore"
	"github.com/iam-watchdog/iam-watchdog/pkg/policy"
	"github.com/iam-watchdog/iam-watchdog/pkg/remediate"
	"github.com/iam-watchdog/iam-watchdog/pkg/state"
)

const (
	snapDoc  = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`
	widerDoc = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*","iam:PassRole"],"Resource":"*"}]}`
)

// userPolicyRecord is a CloudTrail record of alice changing bob's policies at at: AttachUserPolicy
// of policyARN, or PutUserPolicy of an inline policy with doc.
func userPolicyRecord(eventID, eventName string, at time.Time, params map[string]string) string {
	p, _ := json.Marshal(params)
	return fmt.Sprintf(`{"eventVersion": "1.10", "userIdentity": %s, "eventTime": %q, "eventSource": "iam.amazonaws.com",
		"eventName": %q, "awsRegion": "us-east-1", "sourceIPAddress": "198.51.100.40", "userAgent": "aws-cli/2.15.30",
		"requestParameters": %s, "responseElements": null, "eventID": %q, "readOnly": false, "eventType": "AwsApiCall",
		"recipientAccountId": %q}`, watchdogtest.Alice, at.UTC().Format(time.RFC3339), eventName, p, eventID, mototest.AccountID)
}

// TestRevertToSnapshotMoto runs events through the pipeline in auto mode against moto_server,
// with the snapshot a real audit of moto took (pkg/audit) kept where remediation reads it
// (pkg/auditstore on the pipeline's state file): a managed policy the snapshot shows attached
// is kept and the alert says why; an inline policy that overwrote another is put back to the
// snapshot's document, and `watchdog undo`'s code puts the overwriting one back; without the
// opt-in it is deleted and the alert gives the snapshot's document and how to put it back;
// without a snapshot, or with one taken after the event, remediation acts as before and says the
// prior state was unknown.
func TestRevertToSnapshotMoto(t *testing.T) {
	srv := mototest.Start(t)
	cfg := srv.Config(t)
	fx := mototest.NewFixture(cfg)
	fx.CreateUser(t, "bob")
	kept := fx.CreatePolicy(t, "kept")
	fx.Attach(t, "bob", kept)
	fx.PutInline(t, "bob", "extra", snapDoc)
	fx.PutInline(t, "bob", "notes", snapDoc)

	snapAt := time.Now().Add(-time.Hour).Truncate(time.Second)
	au, err := audit.New(audit.Options{ReportPoll: 10 * time.Millisecond, ReportWait: 20 * time.Second, Now: func() time.Time { return snapAt }})
	if err != nil {
		t.Fatal(err)
	}
	report := au.Account(t.Context(), audit.NewClients(cfg))
	snap, ok := report.Snapshots[mototest.AccountID]
	if !ok {
		t.Fatalf("the audit took no snapshot: %+v", report.Results)
	}
	store := watchdogtest.OpenStore(t)
	if err := (&auditstore.Store{State: store}).SaveSnapshot(t.Context(), snap); err != nil {
		t.Fatal(err)
	}
	pipeline := func(st state.Store, restore bool) (*remediate.Remediator, func(string) (remediate.Outcome, error)) {
		rem := &remediate.Remediator{Clients: remediate.NewStatic(cfg, mototest.AccountID), Snapshots: &auditstore.Store{State: st}, RestoreInline: restore}
		var alerts watchdogtest.Calls[alert.Alert]
		p := watchdogtest.Pipeline(policy.Auto, rem, st, watchdogtest.Delivering(&alerts, alert.Delivery{}, nil))
		return rem, func(rec string) (remediate.Outcome, error) {
			results, err := p.Handle(t.Context(), watchdogtest.Parse(t, rec))
			if err != nil || len(results) != 1 || results[0].Remediation == nil {
				return remediate.Outcome{}, fmt.Errorf("results %+v, %v", results, err)
			}
			return *results[0].Remediation, nil
		}
	}
	after := snapAt.Add(30 * time.Minute)
	taken := snapAt.UTC().Format(time.RFC3339)

	t.Run("an attached policy the snapshot shows is kept", func(t *testing.T) {
		_, handle := pipeline(store, true)
		o, err := handle(userPolicyRecord("evt-attach-again", "AttachUserPolicy", after, map[string]string{"userName": "bob", "policyArn": kept}))
		if err != nil {
			t.Fatal(err)
		}
		if o.Status != remediate.Skipped || !strings.Contains(o.Reason, "not detached: the audit snapshot of "+taken) {
			t.Errorf("outcome %+v, want skipped, naming the snapshot of %s", o, taken)
		}
		if got := fx.Attached(t, "bob"); !slices.Contains(got, kept) {
			t.Errorf("bob's policies %v: the policy attached before the event was detached", got)
		}
	})

	t.Run("an overwritten inline policy is restored, and undone", func(t *testing.T) {
		rem, handle := pipeline(store, true)
		fx.PutInline(t, "bob", "extra", widerDoc)
		o, err := handle(userPolicyRecord("evt-overwrite", "PutUserPolicy", after, map[string]string{"userName": "bob", "policyName": "extra", "policyDocument": widerDoc}))
		if err != nil {
			t.Fatal(err)
		}
		if o.Status != remediate.Done || !strings.Contains(o.Reason, "back to the document the audit snapshot of "+taken) || o.Undo == "" {
			t.Errorf("outcome %+v, want done, restored to the snapshot of %s, with an undo command", o, taken)
		}
		if got := fx.Inline(t, "bob", "extra"); got != snapDoc {
			t.Errorf("bob's inline policy is %s after the revert, want the snapshot's %s", got, snapDoc)
		}
		found, err := alert.UndoEvent(t.Context(), alert.Records{Store: store}, rem, "evt-overwrite", "arn:aws:iam::"+mototest.AccountID+":user/admin", io.Discard)
		if err != nil || !found {
			t.Fatalf("undo: found %t, %v", found, err)
		}
		if got := fx.Inline(t, "bob", "extra"); got != widerDoc {
			t.Errorf("bob's inline policy is %s after undo, want the overwriting %s back", got, widerDoc)
		}
	})

	t.Run("without the opt-in the overwriting policy is deleted", func(t *testing.T) {
		_, handle := pipeline(store, false)
		fx.PutInline(t, "bob", "notes", widerDoc)
		o, err := handle(userPolicyRecord("evt-overwrite-2", "PutUserPolicy", after, map[string]string{"userName": "bob", "policyName": "notes", "policyDocument": widerDoc}))
		if err != nil {
			t.Fatal(err)
		}
		if o.Status != remediate.Done || !strings.Contains(o.Reason, "held another document before this event: "+snapDoc) || !strings.Contains(o.Reason, "aws iam put-user-policy --user-name 'bob' --policy-name 'notes'") {
			t.Errorf("outcome %+v, want done, giving the snapshot's document and the command that puts it back", o)
		}
		if got := fx.Inline(t, "bob", "notes"); got != mototest.Absent {
			t.Errorf("bob's inline policy notes is %s, want it deleted", got)
		}
	})

	t.Run("without a snapshot the prior state is unknown", func(t *testing.T) {
		_, handle := pipeline(watchdogtest.OpenStore(t), true)
		fx.CreateUser(t, "carol")
		fx.Attach(t, "carol", kept)
		o, err := handle(userPolicyRecord("evt-no-snapshot", "AttachUserPolicy", after, map[string]string{"userName": "carol", "policyArn": kept}))
		if err != nil {
			t.Fatal(err)
		}
		if o.Status != remediate.Done || !strings.Contains(o.Reason, "prior state unknown: no audit snapshot of account "+mototest.AccountID) {
			t.Errorf("outcome %+v, want done, saying the prior state is unknown", o)
		}
		if got := fx.Attached(t, "carol"); slices.Contains(got, kept) {
			t.Errorf("carol still has %s", kept)
		}
	})

	t.Run("a snapshot taken after the event is not used", func(t *testing.T) {
		_, handle := pipeline(store, true)
		fx.Attach(t, "bob", kept) // the snapshot shows it attached, but it was taken after this event
		before := snapAt.Add(-10 * time.Minute)
		o, err := handle(userPolicyRecord("evt-before-snapshot", "AttachUserPolicy", before, map[string]string{"userName": "bob", "policyArn": kept}))
		if err != nil {
			t.Fatal(err)
		}
		if o.Status != remediate.Done || !strings.Contains(o.Reason, "prior state unknown: every audit snapshot of account "+mototest.AccountID+" kept was taken at or after the event") {
			t.Errorf("outcome %+v, want done as without a snapshot, saying why", o)
		}
		if got := fx.Attached(t, "bob"); slices.Contains(got, kept) {
			t.Errorf("bob still has %s: the later snapshot was used", kept)
		}
	})
}

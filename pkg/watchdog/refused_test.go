package watchdog_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/iam-watchdog/iam-watchdog/internal/mototest"
	"github.com/iam-watchdog/iam-watchdog/internal/watchdogtest"
	"github.com/iam-watchdog/iam-watchdog/pkg/alert"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/policy"
	"github.com/iam-watchdog/iam-watchdog/pkg/remediate"
	"github.com/iam-watchdog/iam-watchdog/pkg/state"
)

// brokenKMS fails every call, as KMS unreachable or throttled does.
type brokenKMS struct{}

func (brokenKMS) GenerateMac(context.Context, *kms.GenerateMacInput, ...func(*kms.Options)) (*kms.GenerateMacOutput, error) {
	return nil, errors.New("connection reset")
}

func (brokenKMS) VerifyMac(context.Context, *kms.VerifyMacInput, ...func(*kms.Options)) (*kms.VerifyMacOutput, error) {
	return nil, errors.New("connection reset")
}

// TestPipelineRefusesTamperedRecord: a record left at stage acting, whose plan would be resumed,
// fails its check with the state key (moto's KMS): written without a key, or with its plan
// changed after it was sealed. The pipeline resumes nothing and writes nothing over it, logs the
// refusal at error level, and alerts on its own (no buttons) saying why; it does not fail the
// invocation, since a retry would read the same record, not even when the alert cannot be sent
// (the error log is then the alert). KMS failing is not a refusal: that fails the invocation, so
// that Lambda retries.
func TestPipelineRefusesTamperedRecord(t *testing.T) {
	cfg := mototest.Start(t).Config(t)
	client := kms.NewFromConfig(cfg)
	keyed := alert.Codec{KeyARN: mototest.CreateStateKey(t, client), KMS: client}
	forged := `{"action":"deactivate_access_key","user_name":"administrator","access_key_id":"AKIAADMINISTRATOR001","at":"2024-05-02T09:03:52Z"}`
	for _, tc := range []struct {
		name     string
		sealWith alert.Codec
		tamper   bool
		sinkErr  error
	}{
		{"written without a key", alert.Codec{}, false, nil},
		{"plan changed after sealing", keyed, true, nil},
		{"written without a key, sink down", alert.Codec{}, false, errors.New("slack is down")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const eventID = "9d1a3b52-0031-4c1e-8f00-000000000031"
			ctx := context.Background()
			var applied watchdogtest.Calls[detect.Action]
			var alerts watchdogtest.Calls[alert.Alert]
			store := watchdogtest.OpenStore(t)
			p := watchdogtest.Pipeline(policy.Auto, watchdogtest.Applying(&applied, watchdogtest.Reverted), store,
				watchdogtest.Delivering(&alerts, watchdogtest.SlackMessage, tc.sinkErr))
			p.Codec = keyed
			logs := &watchdogtest.LogBuffer{}
			p.Log = slog.New(slog.NewJSONHandler(logs, nil))

			e := claim(t, store, eventID)
			e.Stage = state.Acting
			sealed := forged
			if tc.tamper {
				sealed = `{"action":"deactivate_access_key","user_name":"bob","access_key_id":"` + watchdogtest.NewKeyID + `","at":"2024-05-02T09:03:52Z"}`
			}
			if err := tc.sealWith.Seal(ctx, &e, alert.Pieces{Plan: plan(t, sealed)}); err != nil {
				t.Fatal(err)
			}
			if err := (alert.Records{Store: store}).Save(ctx, e); err != nil {
				t.Fatal(err)
			}
			if tc.tamper {
				// Someone with write access changes the plan; the MAC stays.
				if _, err := store.Update(ctx, e.Key, func(se *state.Entry) error {
					se.Body = []byte(strings.Replace(string(se.Body), `"user_name":"bob"`, `"user_name":"administrator"`, 1))
					return nil
				}); err != nil {
					t.Fatal(err)
				}
			}
			before := watchdogtest.Entry(t, store, eventID)

			r, err := handleOne(t, p, watchdogtest.CreateAccessKey(eventID, watchdogtest.Alice))
			if err != nil {
				t.Fatalf("Handle = %v; a refused record must not fail the invocation (a retry reads the same record)", err)
			}
			if n := len(applied.All()); n != 0 {
				t.Errorf("%d actions taken on a refused record", n)
			}
			if o := r.Remediation; o == nil || o.Status != remediate.Failed || !strings.Contains(o.Reason, "refused") || !strings.Contains(o.Reason, keyed.KeyARN) {
				t.Errorf("outcome %+v: want failed, saying the record was refused and naming the state key", o)
			}
			got := alerts.All()
			if len(got) != 1 || got[0].Thread != nil || got[0].Remediation == nil || !strings.Contains(got[0].Remediation.Reason, "refused") {
				t.Errorf("alerts %+v: want one, alone (no buttons), saying why nothing was done", got)
			}
			if r.Alerted != (tc.sinkErr == nil) {
				t.Errorf("alerted %t with sink error %v", r.Alerted, tc.sinkErr)
			}
			after := watchdogtest.Entry(t, store, eventID)
			if after.Stage != before.Stage || watchdogtest.UndoText(t, after) != watchdogtest.UndoText(t, before) {
				t.Errorf("the refused record was written over: stage %s → %s", before.Stage, after.Stage)
			}
			l := logs.String()
			if !strings.Contains(l, `"level":"ERROR"`) || !strings.Contains(l, "state record refused") {
				t.Errorf("no error logged:\n%s", l)
			}
			if tc.sinkErr != nil && !strings.Contains(l, "not delivered") {
				t.Errorf("the undelivered alert is not in the error log:\n%s", l)
			}
		})
	}
	t.Run("KMS unavailable", func(t *testing.T) {
		const eventID = "9d1a3b52-0032-4c1e-8f00-000000000032"
		var applied watchdogtest.Calls[detect.Action]
		var alerts watchdogtest.Calls[alert.Alert]
		store := watchdogtest.OpenStore(t)
		p := watchdogtest.Pipeline(policy.Auto, watchdogtest.Applying(&applied, watchdogtest.Reverted), store, watchdogtest.Delivering(&alerts, watchdogtest.SlackMessage, nil))
		p.Codec = alert.Codec{KeyARN: keyed.KeyARN, KMS: brokenKMS{}}
		if _, err := p.Handle(context.Background(), watchdogtest.Parse(t, watchdogtest.CreateAccessKey(eventID, watchdogtest.Alice))); err == nil || !strings.Contains(err.Error(), "kms:GenerateMac") {
			t.Errorf("Handle = %v; want the KMS failure, so that Lambda retries", err)
		}
		if len(applied.All()) != 0 || len(alerts.All()) != 0 {
			t.Error("acted or alerted although the plan could not be sealed")
		}
	})
}

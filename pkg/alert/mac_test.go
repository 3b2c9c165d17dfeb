package alert_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/iam-watchdog/iam-watchdog/internal/mototest"
	"github.com/iam-watchdog/iam-watchdog/internal/tampertest"
	"github.com/iam-watchdog/iam-watchdog/pkg/alert"
	"github.com/iam-watchdog/iam-watchdog/pkg/cloudtrail"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/remediate"
	"github.com/iam-watchdog/iam-watchdog/pkg/state"
)

const (
	account       = "123456789012"
	quarantineARN = "arn:aws:iam::" + account + ":policy/iam-watchdog-DenyUnlessMFA"
	mfaRule       = "mfa-deactivated"
)

// stateKMS is moto with an HMAC key shaped as the stack's, and a table like the stack's.
type stateKMS struct {
	kms    *kms.Client
	keyARN string
	db     *dynamodb.Client
	tables int
}

func startStateKMS(t *testing.T) *stateKMS {
	t.Helper()
	cfg := mototest.Start(t).Config(t)
	c := kms.NewFromConfig(cfg)
	return &stateKMS{kms: c, keyARN: mototest.CreateStateKey(t, c), db: dynamodb.NewFromConfig(cfg)}
}

// stores are the two places records live: the CLI's file and the functions' table.
func (s *stateKMS) stores() map[string]func(t *testing.T) *tampertest.Target {
	return map[string]func(t *testing.T) *tampertest.Target{
		"file": func(t *testing.T) *tampertest.Target {
			return tampertest.File(t, filepath.Join(t.TempDir(), "state.json"))
		},
		"dynamodb": func(t *testing.T) *tampertest.Target {
			s.tables++
			table := fmt.Sprintf("state-%d", s.tables)
			mototest.CreateStateTable(t, s.db, table)
			return tampertest.DynamoDB(t, s.db, table)
		},
	}
}

// quarantineRecord is a CloudTrail record of user turning their MFA off.
func quarantineRecord(eventID, user string) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"eventVersion": "1.08",
		"userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::%[3]s:user/%[2]s", "accountId": %[3]q, "userName": %[2]q},
		"eventTime": "2024-05-02T09:03:51Z", "eventSource": "iam.amazonaws.com", "eventName": "DeactivateMFADevice",
		"awsRegion": "us-east-1", "requestParameters": {"userName": %[2]q, "serialNumber": "arn:aws:iam::%[3]s:mfa/%[2]s"},
		"eventID": %[1]q, "eventType": "AwsApiCall", "recipientAccountId": %[3]q}`, eventID, user, account))
}

// writeQuarantine stores, as the pipeline does, a done quarantine of user with its undo record.
func writeQuarantine(t *testing.T, records alert.Records, eventID, user string) string {
	t.Helper()
	return writeQuarantineAs(t, records, eventID, user, mfaRule)
}

// writeQuarantineAs stores a done quarantine as writeQuarantine does, as the record of rule.
func writeQuarantineAs(t *testing.T, records alert.Records, eventID, user, rule string) string {
	t.Helper()
	key := alert.Key(eventID, rule)
	act := detect.Action{Kind: detect.QuarantineUser, UserName: user, Account: account}
	plan := remediate.Undo{Action: act.Kind, Account: account, UserName: user, PolicyARN: quarantineARN}
	out := remediate.Outcome{Action: act.Kind, Status: remediate.Done, Reason: "quarantined " + user, Undo: remediate.UndoCommand(eventID)}
	rec := &cloudtrail.Record{Raw: quarantineRecord(eventID, user), DetailType: "AWS API Call via CloudTrail", Pos: cloudtrail.Position{Name: "event", Index: -1}}
	a := alert.Alert{Finding: detect.Finding{Rule: rule, EventID: eventID, Action: act, Record: rec, Target: "arn:aws:iam::" + account + ":user/" + user}, Remediation: &out}
	_, err := records.Update(t.Context(), key, func(e *alert.Entry) error {
		e.EventID, e.Rule, e.Stage = eventID, rule, state.Acted
		return records.Codec.Seal(t.Context(), e, alert.Pieces{Action: &act, Plan: &plan, Outcome: &out, Alert: &a})
	})
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func open(t *testing.T, records alert.Records, key string) (alert.Pieces, error) {
	t.Helper()
	e, err := records.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	return records.Codec.Open(t.Context(), e)
}

// TestCodecRefusesTamperedRecords: in the CLI's file and in the functions' table, against
// moto's KMS, a record is refused after each tampering someone who can write the store could
// do: a piece changed (the policy ARN swapped for AdministratorAccess), a piece or the event
// moved from another record, a piece removed, the MAC removed, another record's MAC, another
// record (MAC and all) copied to this key, and the record rewritten without a key. The refusal
// is an *UnauthenticatedError naming the record and the state key; the other record is still
// read.
func TestCodecRefusesTamperedRecords(t *testing.T) {
	s := startStateKMS(t)
	codec := alert.Codec{KeyARN: s.keyARN, KMS: s.kms}
	for storeName, newStore := range s.stores() {
		for _, tc := range tampertest.Cases() {
			t.Run(storeName+"/"+tc.Name, func(t *testing.T) {
				tg := newStore(t)
				records := alert.Records{Store: tg.Store, Codec: codec}
				victim := writeQuarantine(t, records, "ev-victim", "mallory")
				other := writeQuarantine(t, records, "ev-other", "bob")
				if p, err := open(t, records, victim); err != nil || p.Plan == nil || p.Plan.PolicyARN != quarantineARN {
					t.Fatalf("untampered record: %+v, %v", p.Plan, err)
				}

				tc.Apply(t, tg, victim, other)
				p, err := open(t, records, victim)
				var refused *alert.UnauthenticatedError
				if !errors.As(err, &refused) {
					t.Fatalf("tampered record opened: plan %+v, action %+v, error %v", p.Plan, p.Action, err)
				}
				if refused.Key != victim || !strings.Contains(err.Error(), s.keyARN) || !strings.Contains(err.Error(), "refused") {
					t.Errorf("refusal %q: want it to name the record %s and the key %s", err, victim, s.keyARN)
				}
				if p.Plan != nil || p.Action != nil {
					t.Errorf("a refused record gave pieces: %+v", p)
				}
				if _, err := open(t, records, other); err != nil {
					t.Errorf("the record tampering took from: %v", err)
				}
			})
		}
	}
}

// TestCodecRoundTrip: through the file and the table, what Seal wrote Open reads back, at one
// kms:GenerateMac per Seal and one kms:VerifyMac per Open, and none for a claim that holds no
// piece yet; re-encoding around the pieces (the state file indented by hand) still verifies.
func TestCodecRoundTrip(t *testing.T) {
	s := startStateKMS(t)
	for storeName, newStore := range s.stores() {
		t.Run(storeName, func(t *testing.T) {
			tg := newStore(t)
			counted := &mototest.MACCounter{Client: s.kms}
			records := alert.Records{Store: tg.Store, Codec: alert.Codec{KeyARN: s.keyARN, KMS: counted}}

			claim, err := records.Claim(t.Context(), alert.Entry{Meta: state.Meta{Key: alert.Key("ev-new", mfaRule), Owner: "a"}}, 60_000_000_000)
			if err != nil {
				t.Fatal(err)
			}
			if p, err := records.Codec.Open(t.Context(), claim); err != nil || p.Action != nil || counted.Verify.Load() != 0 {
				t.Fatalf("a fresh claim: %+v, %v, %d VerifyMac calls; want no pieces and no call", p, err, counted.Verify.Load())
			}

			key := writeQuarantine(t, records, "ev-1", "carol")
			if n := counted.Generate.Load(); n != 1 {
				t.Errorf("%d GenerateMac calls for one Seal, want 1", n)
			}
			p, err := open(t, records, key)
			if err != nil {
				t.Fatal(err)
			}
			if n := counted.Verify.Load(); n != 1 {
				t.Errorf("%d VerifyMac calls for one Open, want 1", n)
			}
			if p.Plan.PolicyARN != quarantineARN || p.Action.UserName != "carol" || p.Outcome.Status != remediate.Done ||
				p.Alert == nil || string(p.Alert.Finding.Record.Raw) != string(quarantineRecord("ev-1", "carol")) {
				t.Fatalf("read back %+v %+v %+v %+v", p.Plan, p.Action, p.Outcome, p.Alert)
			}
			// Fields beside the pieces (status, message, who) change without a new MAC.
			if _, err := records.Update(t.Context(), key, func(e *alert.Entry) error { e.SetMessage(alert.Delivery{Channel: "C1", TS: "1.2"}); return nil }); err != nil {
				t.Fatal(err)
			}
			if _, err := open(t, records, key); err != nil || counted.Generate.Load() != 1 {
				t.Errorf("after a status change: %v, %d GenerateMac calls", err, counted.Generate.Load())
			}
		})
	}
	t.Run("file indented by hand", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "state.json")
		tg := tampertest.File(t, path)
		records := alert.Records{Store: tg.Store, Codec: alert.Codec{KeyARN: s.keyARN, KMS: s.kms}}
		key := writeQuarantine(t, records, "ev-2", "dave")
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := json.Indent(&b, data, "", "    "); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		if p, err := open(t, records, key); err != nil || p.Plan == nil || p.Plan.UserName != "dave" {
			t.Fatalf("indented file: %+v, %v", p.Plan, err)
		}
	})
}

// failingKMS answers every MAC call with err.
type failingKMS struct{ err error }

func (f failingKMS) GenerateMac(context.Context, *kms.GenerateMacInput, ...func(*kms.Options)) (*kms.GenerateMacOutput, error) {
	return nil, f.err
}

func (f failingKMS) VerifyMac(context.Context, *kms.VerifyMacInput, ...func(*kms.Options)) (*kms.VerifyMacOutput, error) {
	return nil, f.err
}

// TestCodecKMSUnavailable: KMS failing (unreachable, throttled, access denied) is not a refusal
// of the record, which may be sound: the error wraps KMS's, names the call and the key, and a
// retry may succeed. Sealing fails the same way, and nothing is written.
func TestCodecKMSUnavailable(t *testing.T) {
	s := startStateKMS(t)
	tg := tampertest.File(t, filepath.Join(t.TempDir(), "state.json"))
	good := alert.Records{Store: tg.Store, Codec: alert.Codec{KeyARN: s.keyARN, KMS: s.kms}}
	key := writeQuarantine(t, good, "ev-1", "erin")
	down := errors.New("connection refused")
	broken := alert.Records{Store: tg.Store, Codec: alert.Codec{KeyARN: s.keyARN, KMS: failingKMS{down}}}
	_, err := open(t, broken, key)
	if !errors.Is(err, down) || alert.IsUnauthenticated(err) || !strings.Contains(err.Error(), "kms:VerifyMac") || !strings.Contains(err.Error(), s.keyARN) {
		t.Errorf("Open with KMS down: %v; want KMS's error, naming VerifyMac and the key, not a refusal", err)
	}
	e, _ := good.Get(t.Context(), key)
	before := e
	err = broken.Codec.Seal(t.Context(), &e, alert.Pieces{Action: &detect.Action{Kind: detect.QuarantineUser}})
	if !errors.Is(err, down) || !strings.Contains(err.Error(), "kms:GenerateMac") {
		t.Errorf("Seal with KMS down: %v", err)
	}
	if p, err := good.Codec.Open(t.Context(), e); err != nil || p.Plan == nil {
		t.Errorf("a failed Seal changed the entry: %+v, %v (was %+v)", p, err, before.Key)
	}
}

// TestLargeEventFitsTheTable: the leader of a full burst (MaxGroup findings) whose event is as
// large as EventBridge allows (256 KB) is stored in moto's DynamoDB, which enforces the 400 KB
// item limit. A record that compresses well reads back byte for byte; one that does not (random
// padding) is left out, and the alert is stored without it (Revert now then refuses).
func TestLargeEventFitsTheTable(t *testing.T) {
	s := startStateKMS(t)
	tg := s.stores()["dynamodb"](t)
	records := alert.Records{Store: tg.Store, Codec: alert.Codec{KeyARN: s.keyARN, KMS: s.kms}}
	random := make([]byte, 190<<10)
	if _, err := rand.Read(random); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		pad  string
		kept bool
	}{
		// Request parameters padded with quotes and escapes throughout.
		{"compressible", strings.Repeat(`{"k":"v\"<&>","n":[1,2,3]},`, 250<<10/27) + "0", true},
		{"incompressible", `"` + base64.StdEncoding.EncodeToString(random) + `"`, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			eventID := "ev-big-" + tt.name
			raw := json.RawMessage(fmt.Sprintf(`{"eventVersion":"1.08","eventID":%q,"eventTime":"2024-05-02T09:03:51Z","eventSource":"iam.amazonaws.com","eventName":"DeactivateMFADevice","requestParameters":{"userName":"frank","pad":[%s]}}`, eventID, tt.pad))
			if len(raw) < 250<<10 || len(raw) > 256<<10 {
				t.Fatalf("record of %d bytes; want about 256 KB", len(raw))
			}
			key := alert.Key(eventID, mfaRule)
			act := detect.Action{Kind: detect.QuarantineUser, UserName: "frank"}
			a := alert.Alert{Finding: detect.Finding{Rule: mfaRule, EventID: eventID, Action: act,
				Record: &cloudtrail.Record{Raw: raw, Pos: cloudtrail.Position{Name: "event", Index: -1}}}}
			g := &alert.Group{}
			for i := range alert.MaxGroup - 1 {
				g.Join(fmt.Sprintf("%08d-aaaa-4bbb-8ccc-dddddddddddd#%s", i, mfaRule), fmt.Sprintf("arn:aws:iam::%s:user/burst-user-%04d", account, i), "done")
			}
			_, err := records.Update(t.Context(), key, func(e *alert.Entry) error {
				e.Group = g
				return records.Codec.Seal(t.Context(), e, alert.Pieces{Action: &act, Alert: &a})
			})
			if err != nil {
				t.Fatalf("store the leader of a full burst with a 256 KB event: %v", err)
			}
			p, err := open(t, records, key)
			if err != nil || p.Alert == nil || p.Alert.Finding.Record == nil {
				t.Fatalf("read back: %+v, %v", p.Alert, err)
			}
			if got := p.Alert.Finding.Record.Raw; tt.kept != bytes.Equal(got, raw) || (!tt.kept && got != nil) {
				t.Errorf("raw record of %d bytes read back as %d bytes; want it kept: %t", len(raw), len(got), tt.kept)
			}
		})
	}
}

// countingReverter counts the reverts asked of it.
type countingReverter struct{ reverted []remediate.Undo }

func (c *countingReverter) Revert(_ context.Context, u remediate.Undo) error {
	c.reverted = append(c.reverted, u)
	return nil
}

// TestUndoEventChecksEveryRecordFirst: an event with two records, the later (in rule order) one
// tampered with, is not undone in part: UndoEvent refuses before it reverts anything.
func TestUndoEventChecksEveryRecordFirst(t *testing.T) {
	s := startStateKMS(t)
	codec := alert.Codec{KeyARN: s.keyARN, KMS: s.kms}
	var copied tampertest.Case
	for _, tc := range tampertest.Cases() {
		if tc.Name == "another record copied to this key" {
			copied = tc
		}
	}
	if copied.Apply == nil {
		t.Fatal("tampertest has no copy case")
	}
	for storeName, newStore := range s.stores() {
		t.Run(storeName, func(t *testing.T) {
			tg := newStore(t)
			records := alert.Records{Store: tg.Store, Codec: codec}
			first := writeQuarantine(t, records, "ev-both", "mallory") // mfa-deactivated: undone first
			later := writeQuarantineAs(t, records, "ev-both", "mallory", "cloudtrail-logging-stopped")
			copied.Apply(t, tg, later, first)

			var rev countingReverter
			found, err := alert.UndoEvent(t.Context(), records, &rev, "ev-both", "arn:aws:iam::"+account+":user/admin", io.Discard)
			if !found || !alert.IsUnauthenticated(err) || !strings.Contains(err.Error(), "nothing was undone") {
				t.Fatalf("UndoEvent = %v, %v; want found and an unauthenticated record refused", found, err)
			}
			if len(rev.reverted) != 0 {
				t.Errorf("%d reverts before the tampered record was refused: %+v", len(rev.reverted), rev.reverted)
			}
		})
	}
}

package auditstore

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/iam-watchdog/iam-watchdog/internal/mototest"
	"github.com/iam-watchdog/iam-watchdog/pkg/alert"
	"github.com/iam-watchdog/iam-watchdog/pkg/audit"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/state"
)

const (
	account      = "123456789012"
	readOnlyDoc  = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`
	fullAdminDoc = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`
)

var day1 = time.Date(2026, 3, 1, 7, 0, 0, 0, time.UTC)

func fileStore(t *testing.T) *Store {
	t.Helper()
	st, err := state.OpenFile(filepath.Join(t.TempDir(), "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	return &Store{State: st, Now: func() time.Time { return day1 }}
}

func snapshotAt(at time.Time, inline string) audit.Snapshot {
	return audit.Snapshot{Account: account, TakenAt: at, Users: map[string]audit.UserPolicies{
		"bob": {ARN: "arn:aws:iam::" + account + ":user/bob", Attached: []string{"arn:aws:iam::aws:policy/ReadOnlyAccess"}, Inline: map[string]string{"extra": inline, "admin": fullAdminDoc}},
	}}
}

// TestUserBefore keeps the two latest snapshots and answers from the latest one taken before
// the event, within SnapshotMaxAge, and says why when there is none.
func TestUserBefore(t *testing.T) {
	for name, s := range map[string]*Store{"file": fileStore(t), "dynamodb in moto": dynamoStore(t)} {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			day0, day2 := day1.Add(-24*time.Hour), day1.Add(24*time.Hour)
			for _, snap := range []audit.Snapshot{snapshotAt(day0, readOnlyDoc), snapshotAt(day2, readOnlyDoc), snapshotAt(day1, readOnlyDoc), snapshotAt(day1, readOnlyDoc)} {
				if err := s.SaveSnapshot(ctx, snap); err != nil {
					t.Fatal(err)
				}
			}
			kept, err := s.Snapshots(ctx, account)
			if err != nil {
				t.Fatal(err)
			}
			if len(kept) != 2 || !kept[0].TakenAt.Equal(day2) || !kept[1].TakenAt.Equal(day1) {
				t.Fatalf("kept %d snapshots, want day 2 then day 1 (the late day 1 replaced day 0, and once)", len(kept))
			}
			for _, tc := range []struct {
				what    string
				account string
				user    string
				at      time.Time
				known   bool
				taken   time.Time
				why     string
			}{
				{"after both", account, "bob", day2.Add(time.Hour), true, day2, ""},
				{"between them", account, "bob", day2.Add(-time.Hour), true, day1, ""},
				{"at the latest's time", account, "bob", day2, true, day1, ""},
				{"before both", account, "bob", day1.Add(-time.Minute), false, time.Time{}, "taken at or after the event"},
				{"long after", account, "bob", day2.Add(SnapshotMaxAge + time.Minute), false, time.Time{}, "more than 192h0m0s older than it"},
				{"a user created since", account, "carol", day2.Add(time.Hour), false, time.Time{}, "holds no user carol"},
				{"another account", "210987654321", "bob", day2.Add(time.Hour), false, time.Time{}, "no audit snapshot of account 210987654321"},
				{"no account", "", "bob", day2.Add(time.Hour), false, time.Time{}, "the event names no account"},
			} {
				p, err := s.UserBefore(ctx, tc.account, tc.user, tc.at)
				if err != nil {
					t.Fatalf("%s: %v", tc.what, err)
				}
				if p.Known != tc.known || !p.TakenAt.Equal(tc.taken) || !strings.Contains(p.Why, tc.why) {
					t.Errorf("%s: %+v, want known %t, taken %s, why containing %q", tc.what, p, tc.known, tc.taken, tc.why)
				}
				if tc.known && (p.Inline["extra"] == "" || len(p.Attached) != 1 || len(p.FullAdmin) != 1 || p.FullAdmin[0] != "admin") {
					t.Errorf("%s: policies %+v, want bob's, with his full-admin inline policy marked", tc.what, p)
				}
			}
		})
	}
}

// TestSnapshotsRefuseTampering: an item that is not what seal wrote for it, or holds another
// account's snapshot, is an error, never a snapshot: with the state key, a value without a MAC,
// one changed, and one moved from another item are refused as unauthenticated.
func TestSnapshotsRefuseTampering(t *testing.T) {
	ctx := t.Context()
	srv := mototest.Start(t)
	kc := kms.NewFromConfig(srv.Config(t))
	codec := alert.Codec{KeyARN: mototest.CreateStateKey(t, kc), KMS: kc}
	key := SnapshotKey(account)
	sealed := func(c alert.Codec, at string, kind string, v any) envelope {
		t.Helper()
		e, err := seal(ctx, c, at, kind, v)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	good := sealed(codec, key, kindSnapshots, snapshots{Latest: &audit.Snapshot{Account: account, TakenAt: day1, Users: map[string]audit.UserPolicies{}}})
	changed := good
	changed.Data = sealed(alert.Codec{}, key, kindSnapshots, snapshots{Latest: &audit.Snapshot{Account: account, TakenAt: day1.Add(time.Hour)}}).Data
	unsigned := good
	unsigned.MAC = ""
	for _, tc := range []struct {
		what   string
		codec  alert.Codec
		env    envelope
		want   string
		unauth bool
	}{
		{"another account's snapshot", alert.Codec{}, sealed(alert.Codec{}, key, kindSnapshots, snapshots{Latest: &audit.Snapshot{Account: "999999999999", TakenAt: day1}}), "holds account 999999999999's", false},
		{"another kind", alert.Codec{}, sealed(alert.Codec{}, key, kindResults, results{At: day1}), `holds "results", not snapshots`, false},
		{"not gzip", alert.Codec{}, envelope{Kind: kindSnapshots, Encoding: encodingGzipJSON, Data: "bm90IGd6aXA="}, "not gzip", false},
		{"not base64", alert.Codec{}, envelope{Kind: kindSnapshots, Encoding: encodingGzipJSON, Data: "%%%"}, "not Base64", false},
		{"another encoding", alert.Codec{}, envelope{Kind: kindSnapshots, Encoding: "json", Data: "{}"}, `unknown encoding "json"`, false},
		{"no MAC", codec, unsigned, "carries no MAC", true},
		{"its data changed", codec, changed, "does not match", true},
		{"moved from another account's item", codec, sealed(codec, SnapshotKey("210987654321"), kindSnapshots, snapshots{Latest: &audit.Snapshot{Account: account, TakenAt: day1}}), "does not match", true},
	} {
		s := fileStore(t)
		s.Codec = tc.codec
		body, _ := json.Marshal(body{Audit: &tc.env})
		if _, err := s.State.Update(ctx, key, func(e *state.Entry) error { e.Body = body; return nil }); err != nil {
			t.Fatal(err)
		}
		_, err := s.UserBefore(ctx, account, "bob", day1.Add(time.Hour))
		if err == nil || !strings.Contains(err.Error(), tc.want) || alert.IsUnauthenticated(err) != tc.unauth {
			t.Errorf("%s: %v, want an error containing %q (unauthenticated %t)", tc.what, err, tc.want, tc.unauth)
		}
	}
	s := fileStore(t)
	s.Codec = codec
	if err := s.SaveSnapshot(ctx, snapshotAt(day1, readOnlyDoc)); err != nil {
		t.Fatal(err)
	}
	if p, err := s.UserBefore(ctx, account, "bob", day1.Add(time.Hour)); err != nil || !p.Known {
		t.Errorf("a snapshot sealed with the state key: %+v, %v", p, err)
	}
}

// TestResults keeps failures and errors, not passes, and gives them back with the catalogue's
// words; before any, nothing is found.
func TestResults(t *testing.T) {
	ctx := t.Context()
	s := fileStore(t)
	if _, _, found, err := s.LastResults(ctx); found || err != nil {
		t.Fatalf("before any audit: found %t, %v", found, err)
	}
	mfa, _ := audit.Lookup("user-mfa")
	in := []audit.Result{
		{Check: "user-mfa", Account: account, Resource: "arn:aws:iam::" + account + ":user/bob", Status: audit.Fail, Severity: detect.High, Detail: "no MFA", Title: mfa.Title},
		{Check: "root-mfa", Account: account, Resource: "arn:aws:iam::" + account + ":root", Status: audit.Error, Severity: detect.Critical, Detail: "no root row"},
		{Check: "support-role", Account: account, Resource: "arn:aws:iam::" + account + ":root", Status: audit.Pass, Severity: detect.Low},
		{Check: "retired-check", Account: account, Resource: "arn:aws:iam::" + account + ":root", Status: audit.Fail, Severity: detect.Low},
	}
	if err := s.SaveResults(ctx, day1, in); err != nil {
		t.Fatal(err)
	}
	out, at, found, err := s.LastResults(ctx)
	if err != nil || !found || !at.Equal(day1) {
		t.Fatalf("found %t at %s, %v", found, at, err)
	}
	if len(out) != 3 {
		t.Fatalf("%d results kept, want the 3 failures and errors: %+v", len(out), out)
	}
	if out[0].Key() != in[0].Key() || out[0].Title != mfa.Title || out[0].Why != mfa.Why || out[0].CIS != "1.10" || out[0].Detail != "no MFA" || out[0].Severity != detect.High {
		t.Errorf("user-mfa came back as %+v", out[0])
	}
	if out[2].Title != "retired-check" {
		t.Errorf("a check the catalogue no longer has came back titled %q, want its ID", out[2].Title)
	}
}

// TestSealTooBig: a value DynamoDB could not hold is an error saying so, not a cut-off item.
func TestSealTooBig(t *testing.T) {
	var rs []storedResult
	for i := range 200000 {
		rs = append(rs, storedResult{Check: fmt.Sprintf("c%d", i), Resource: fmt.Sprintf("arn:aws:iam::%012d:user/%x", i, i*7919)})
	}
	_, err := seal(context.Background(), alert.Codec{}, ResultsKey, kindResults, results{Results: rs})
	if err == nil || !strings.Contains(err.Error(), "more than a state-table item may hold") {
		t.Errorf("seal of %d results: %v, want too big", len(rs), err)
	}
}

// dynamoStore is a Store on a state table in moto_server, shaped as template.yaml's, its values
// authenticated with a state key in moto's KMS, as in the Lambda.
func dynamoStore(t *testing.T) *Store {
	t.Helper()
	srv := mototest.Start(t)
	cfg := srv.Config(t)
	db := dynamodb.NewFromConfig(cfg)
	mototest.CreateStateTable(t, db, "state")
	kc := kms.NewFromConfig(cfg)
	return &Store{State: &state.DynamoDB{API: db, Table: "state"}, Codec: alert.Codec{KeyARN: mototest.CreateStateKey(t, kc), KMS: kc}}
}

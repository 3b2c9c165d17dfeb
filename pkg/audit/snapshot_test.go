package audit

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// TestSnapshotMoto takes a snapshot through the whole audit of a moto account and reads the
// documents back exactly as they were put: GetAccountAuthorizationDetails sends them
// URL-encoded, and a '+', a '%' and spaces inside must survive the decoding.
func TestSnapshotMoto(t *testing.T) {
	srv := startMoto(t)
	cfg := srv.Config(t)
	s := iamSetup{t, iam.NewFromConfig(cfg), srv.Endpoint}
	tricky := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::a+b/100% done/*"}]}`
	readS3 := s.policy("read-s3", readOnlyDoc)
	other := s.policy("other", readOnlyDoc)
	s.group("Developers", readS3)
	s.user("alice", "Developers")
	s.attachUser("alice", readS3)
	s.attachUser("alice", other)
	s.inline("alice", "tricky", tricky)
	s.inline("alice", "plain", readOnlyDoc)
	s.user("bob")

	taken := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	report := mustAuditor(t, fastOptions(taken)).Account(t.Context(), NewClients(cfg))
	snap, ok := report.Snapshots["123456789012"]
	if !ok {
		t.Fatalf("no snapshot of the account: %v", report.Snapshots)
	}
	want := Snapshot{Account: "123456789012", TakenAt: taken, Users: map[string]UserPolicies{
		"alice": {ARN: "arn:aws:iam::123456789012:user/alice", Attached: sorted(readS3, other), Inline: map[string]string{"tricky": tricky, "plain": readOnlyDoc}},
		"bob":   {ARN: "arn:aws:iam::123456789012:user/bob", Attached: []string{}, Inline: map[string]string{}},
	}}
	if !reflect.DeepEqual(snap, want) {
		t.Errorf("snapshot\n got %+v\nwant %+v", snap, want)
	}

	b, err := json.Marshal(snap)
	if err != nil {
		t.Fatal(err)
	}
	var back Snapshot
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, snap) {
		t.Errorf("JSON round trip: %+v, %v\n%s", back, err, b)
	}

	for _, tc := range []struct {
		user, policy    string
		attached, known bool
	}{{"alice", readS3, true, true}, {"bob", readS3, false, true}, {"carol", readS3, false, false}} {
		if a, k := snap.WasAttached(tc.user, tc.policy); a != tc.attached || k != tc.known {
			t.Errorf("WasAttached(%s) = %v, %v; want %v, %v", tc.user, a, k, tc.attached, tc.known)
		}
	}
	if doc, existed, known := snap.InlineDocument("alice", "tricky"); doc != tricky || !existed || !known {
		t.Errorf("InlineDocument(alice, tricky) = %q, %v, %v", doc, existed, known)
	}
	if _, existed, known := snap.InlineDocument("bob", "tricky"); existed || !known {
		t.Errorf("InlineDocument(bob, tricky): existed %v known %v", existed, known)
	}
	if _, _, known := snap.InlineDocument("carol", "x"); known {
		t.Error("InlineDocument knows a user the snapshot lacks")
	}

	// The snapshot is the audit's own copy: changing the account afterwards does not change it.
	if _, err := s.iam.DeleteUserPolicy(t.Context(), &iam.DeleteUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("tricky")}); err != nil {
		t.Fatal(err)
	}
	if _, existed, _ := snap.InlineDocument("alice", "tricky"); !existed {
		t.Error("the snapshot lost a policy deleted after it was taken")
	}
}

func sorted(s ...string) []string {
	slices.Sort(s)
	return s
}

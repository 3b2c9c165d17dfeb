package replay

import (
	"testing"
	"time"

	"github.com/iam-watchdog/iam-watchdog/pkg/cloudtrail"
)

func TestParseLogPath(t *testing.T) {
	d := func(s string) time.Time { t, _ := time.Parse(time.RFC3339, s); return t }
	for _, tc := range []struct {
		path     string
		ok       bool
		account  string
		region   string
		from, to string
	}{
		{"archive/AWSLogs/", true, "", "", "", ""},
		{"AWSLogs/111122223333/", true, "111122223333", "", "", ""},
		{"AWSLogs/o-abc123/111122223333/CloudTrail/", true, "111122223333", "", "", ""},
		{"x/AWSLogs/111122223333/CloudTrail/eu-west-1/", true, "111122223333", "eu-west-1", "", ""},
		{"AWSLogs/111122223333/CloudTrail/eu-west-1/2024/", true, "111122223333", "eu-west-1", "2023-12-31T00:00:00Z", "2025-01-01T00:15:00Z"},
		{"AWSLogs/111122223333/CloudTrail/eu-west-1/2024/02/", true, "111122223333", "eu-west-1", "2024-01-31T00:00:00Z", "2024-03-01T00:15:00Z"},
		{"AWSLogs/111122223333/CloudTrail/eu-west-1/2024/02/29/", true, "111122223333", "eu-west-1", "2024-02-28T00:00:00Z", "2024-03-01T00:15:00Z"},
		{"AWSLogs/111122223333/CloudTrail/eu-west-1/2024/02/29/111122223333_CloudTrail_eu-west-1_20240229T1205Z_x.json.gz", true,
			"111122223333", "eu-west-1", "2024-02-28T12:05:00Z", "2024-02-29T12:21:00Z"},
		{"AWSLogs/111122223333/CloudTrail/eu-west-1/2024/02/29/other-name.json", true, "111122223333", "eu-west-1", "2024-02-28T00:00:00Z", "2024-03-01T00:15:00Z"},
		{"AWSLogs/111122223333/CloudTrail-Digest/eu-west-1/", false, "", "", "", ""},
		{"logs/2024/05/01/file.json.gz", false, "", "", "", ""},
	} {
		lp, ok := parseLogPath(tc.path)
		if ok != tc.ok || ok && (lp.account != tc.account || lp.region != tc.region || !lp.from.Equal(d(tc.from)) || !lp.to.Equal(d(tc.to))) {
			t.Errorf("%s: %+v %v; want %s %s [%s, %s) %v", tc.path, lp, ok, tc.account, tc.region, tc.from, tc.to, tc.ok)
		}
	}
}

func TestScopeKeeps(t *testing.T) {
	sc, err := ParseScope("2024-05-01", "2024-05-01T12:00:00Z", "111122223333", "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	rec := func(at, account, region string) *cloudtrail.Record {
		r := &cloudtrail.Record{AWSRegion: region, RecipientAccountID: account}
		r.EventTime, _ = time.Parse(time.RFC3339, at)
		return r
	}
	for _, tc := range []struct {
		rec  *cloudtrail.Record
		want bool
	}{
		{rec("2024-05-01T00:00:00Z", "111122223333", "us-east-1"), true},
		{rec("2024-05-01T11:59:59Z", "111122223333", "us-east-1"), true},
		{rec("2024-05-01T12:00:00Z", "111122223333", "us-east-1"), false}, // until is exclusive
		{rec("2024-04-30T23:59:59Z", "111122223333", "us-east-1"), false},
		{rec("2024-05-01T06:00:00Z", "444455556666", "us-east-1"), false},
		{rec("2024-05-01T06:00:00Z", "111122223333", "eu-west-1"), false},
		{&cloudtrail.Record{AWSRegion: "us-east-1", UserIdentity: cloudtrail.UserIdentity{AccountID: "111122223333"},
			EventTime: time.Date(2024, 5, 1, 6, 0, 0, 0, time.UTC)}, true}, // the actor's account when no recipient
	} {
		if got := sc.Keeps(tc.rec); got != tc.want {
			t.Errorf("keeps(%s %s %s) = %v", tc.rec.EventTime, tc.rec.Account(), tc.rec.AWSRegion, got)
		}
	}
	if !(Scope{}).Keeps(rec("1999-01-01T00:00:00Z", "", "")) {
		t.Error("the empty scope refuses a record")
	}
}

package alert

import (
	"fmt"
	"testing"
	"time"

	"github.com/iam-watchdog/iam-watchdog/pkg/cloudtrail"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
)

// record decodes one CloudTrail record.
func record(t *testing.T, raw string) *cloudtrail.Record {
	t.Helper()
	recs, errs := cloudtrail.Decode("test", []byte(raw))
	if len(errs) > 0 || len(recs) != 1 {
		t.Fatalf("decode: %v", errs)
	}
	return recs[0]
}

// A group's list tells its events apart: the sign-in with MFA from the one without, the failed
// one, the second inline policy on the same user.
func TestNewMember(t *testing.T) {
	signin := func(result, mfa, errorMessage string) string {
		errField := ""
		if errorMessage != "" {
			errField = `"errorMessage": "` + errorMessage + `",`
		}
		return `{"eventVersion": "1.10", "userIdentity": {"type": "Root", "arn": "arn:aws:iam::123456789012:root", "accountId": "123456789012"},
			"eventTime": "2024-05-02T09:03:51Z", "eventSource": "signin.amazonaws.com", "eventName": "ConsoleLogin", "awsRegion": "us-east-1",
			"sourceIPAddress": "198.51.100.9", ` + errField + ` "responseElements": {"ConsoleLogin": "` + result + `"},
			"additionalEventData": {"MFAUsed": "` + mfa + `"}, "eventID": "ev-1", "recipientAccountId": "123456789012"}`
	}
	t0 := time.Date(2024, 5, 2, 9, 3, 51, 0, time.UTC)
	for _, tc := range []struct {
		name string
		f    detect.Finding
		want Member
	}{
		{"root sign-in with MFA",
			detect.Finding{EventID: "ev-1", Region: "us-east-1", EventTime: t0, Severity: detect.High, EventName: "ConsoleLogin", Target: "arn:aws:iam::123456789012:root",
				Actor: detect.Actor{SourceIP: "198.51.100.9"}, Record: record(t, signin("Success", "Yes", ""))},
			Member{EventID: "ev-1", Region: "us-east-1", Time: t0, SourceIP: "198.51.100.9", Severity: detect.High, Call: "ConsoleLogin", Outcome: "success", MFA: "MFA", Target: "arn:aws:iam::123456789012:root"}},
		{"root sign-in without MFA",
			detect.Finding{EventID: "ev-1", Severity: detect.Critical, EventName: "ConsoleLogin", Record: record(t, signin("Success", "No", ""))},
			Member{EventID: "ev-1", Severity: detect.Critical, Call: "ConsoleLogin", Outcome: "success", MFA: "no MFA"}},
		{"failed root sign-in",
			detect.Finding{EventID: "ev-1", Severity: detect.Medium, EventName: "ConsoleLogin", Record: record(t, signin("Failure", "No", "Failed authentication"))},
			Member{EventID: "ev-1", Severity: detect.Medium, Call: "ConsoleLogin", Outcome: "failure", MFA: "no MFA"}},
		{"sign-in of unknown outcome",
			detect.Finding{EventID: "ev-1", Severity: detect.Medium, EventName: "ConsoleLogin", Record: record(t, signin("", "", ""))},
			Member{EventID: "ev-1", Severity: detect.Medium, Call: "ConsoleLogin", Outcome: "outcome unknown"}},
		{"second inline policy",
			detect.Finding{EventID: "ev-2", Severity: detect.Medium, EventName: "PutUserPolicy", Target: "arn:aws:iam::123456789012:user/bob",
				Action: detect.Action{Kind: detect.DeleteUserPolicy, UserName: "bob", PolicyName: "debug-2"}},
			Member{EventID: "ev-2", Severity: detect.Medium, Call: "PutUserPolicy", Target: "arn:aws:iam::123456789012:user/bob, inline policy debug-2"}},
		{"denied call in an MFA session",
			detect.Finding{EventID: "ev-3", Severity: detect.Low, EventName: "GetObject", Record: record(t, `{"eventVersion": "1.10", "eventTime": "2024-05-02T09:03:51Z",
				"userIdentity": {"type": "AssumedRole", "arn": "arn:aws:sts::123456789012:assumed-role/app/s", "sessionContext": {"attributes": {"mfaAuthenticated": "true"}}},
				"eventSource": "s3.amazonaws.com", "eventName": "GetObject", "errorCode": "AccessDenied", "eventID": "ev-3"}`)},
			Member{EventID: "ev-3", Severity: detect.Low, Call: "GetObject", Outcome: "failed (AccessDenied)", MFA: "MFA"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := NewMember(tc.f); got != tc.want {
				t.Errorf("NewMember:\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// A threshold's window slides: findings older than the window are forgotten, a retried finding
// is counted once, and the finding that brings the window to the count reaches it, with the
// others described for its message.
func TestCount(t *testing.T) {
	t0 := time.Date(2024, 5, 2, 9, 0, 0, 0, time.UTC)
	var e Entry
	count := func(i int, at time.Duration) bool {
		return e.Count(fmt.Sprintf("ev-%d#r", i), Member{EventID: fmt.Sprintf("ev-%d", i)}, t0.Add(at), 3, 5*time.Minute)
	}
	if count(1, 0) || count(2, time.Minute) {
		t.Fatal("reached with two of three")
	}
	if count(2, 2*time.Minute) {
		t.Fatal("a retried finding was counted twice")
	}
	if count(3, 5*time.Minute+30*time.Second) { // ev-1 is older than the window by now
		t.Fatal("reached with a finding older than the window")
	}
	if !count(4, 5*time.Minute+45*time.Second) {
		t.Fatal("three findings within five minutes did not reach a count of three")
	}
	events, n := e.Rate.Before("ev-4#r")
	if n != 2 || len(events) != 2 || events[0].EventID != "ev-2" || events[1].EventID != "ev-3" {
		t.Errorf("before the leader: %d, %+v; want ev-2 and ev-3", n, events)
	}
	if want := t0.Add(5*time.Minute + 45*time.Second + 5*time.Minute + 24*time.Hour); !e.ExpiresAt.Equal(want) {
		t.Errorf("expires %s, want a day after the window of the last finding, %s", e.ExpiresAt, want)
	}
	e.Announce(Delivery{Channel: "C1", TS: "1.1"})
	if e.Rate != nil || e.TS != "1.1" {
		t.Errorf("after the message: rate %+v, ts %q; want the window emptied", e.Rate, e.TS)
	}
}

// Only the latest events of a long window are kept, so that a large threshold stays small.
func TestCountKeepsTheLatestEvents(t *testing.T) {
	t0 := time.Date(2024, 5, 2, 9, 0, 0, 0, time.UTC)
	var e Entry
	for i := range 100 {
		if e.Count(fmt.Sprintf("ev-%03d#r", i), Member{EventID: fmt.Sprintf("ev-%03d", i)}, t0.Add(time.Duration(i)*time.Second), 100, time.Hour) != (i == 99) {
			t.Fatalf("finding %d: reached %t", i, i != 99)
		}
	}
	events, n := e.Rate.Before("ev-099#r")
	if n != 99 || len(events) != MaxListed-1 || events[0].EventID != "ev-080" {
		t.Errorf("before: %d others, %d events from %s; want 99 others and the latest %d events", n, len(events), events[0].EventID, MaxListed-1)
	}
	g := NewGroup(detect.Finding{EventID: "ev-099"}, "none", events, n, "100 in 1h")
	if g.Total() != 100 || len(g.Events) != MaxListed || g.Unlisted() != 100-MaxListed || g.Events[MaxListed-1].EventID != "ev-099" {
		t.Errorf("group total %d, %d events listed (last %s), %d unlisted", g.Total(), len(g.Events), g.Events[len(g.Events)-1].EventID, g.Unlisted())
	}
}

func TestOutranks(t *testing.T) {
	var idx Entry
	if idx.Outranks(detect.Critical) {
		t.Error("an index written before severities were kept outranked")
	}
	idx.Lead("ev-1#r", "inv-1", detect.High, time.Now(), time.Minute, 10*time.Minute)
	if !idx.Outranks(detect.Critical) || idx.Outranks(detect.High) || idx.Outranks(detect.Medium) {
		t.Error("only a more severe finding outranks the burst's message")
	}
}

// A group lists its events up to MaxListed and counts the rest.
func TestGroupLists(t *testing.T) {
	g := NewGroup(detect.Finding{EventID: "leader"}, "none", nil, 0, "")
	for i := range 30 {
		r := Record{Group: g, TS: "1.1"}
		if ok, err := r.JoinBurst(fmt.Sprintf("m%d#r", i), "", "none", Member{EventID: fmt.Sprintf("m%d", i)}); !ok || err != nil {
			t.Fatalf("join %d: %t %v", i, ok, err)
		}
	}
	if g.Total() != 31 || len(g.Events) != MaxListed || g.Unlisted() != 31-MaxListed || g.Events[0].EventID != "leader" {
		t.Errorf("total %d, listed %d, unlisted %d, first %s", g.Total(), len(g.Events), g.Unlisted(), g.Events[0].EventID)
	}
}

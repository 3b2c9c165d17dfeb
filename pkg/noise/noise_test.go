package noise

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/iam-watchdog/iam-watchdog/internal/watchdogtest"
	"github.com/iam-watchdog/iam-watchdog/pkg/cloudtrail"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/policy"
)

// event is an example event's record with its ID, time and caller's user name set.
func event(t *testing.T, name, id string, at time.Time, user string) *cloudtrail.Record {
	t.Helper()
	var edit func(map[string]any)
	if user != "" {
		edit = watchdogtest.IAMUser(user)
	}
	return watchdogtest.Example(t, name, id, at, edit)
}

// The report counts what the pipeline routed: records handled in the order of their times
// whatever order they come in, each finding once, immediate messages by the severity they read,
// per channel and day, and the digest.
func TestDeliver(t *testing.T) {
	cfg, err := policy.Parse([]byte("slack: {channels: {critical: C0ALERTS}}\nrules: {access-key-created: {mode: auto}}"))
	if err != nil {
		t.Fatal(err)
	}
	day1 := time.Date(2024, 5, 2, 9, 0, 0, 0, time.UTC)
	day2 := day1.Add(24 * time.Hour)
	var recs []*cloudtrail.Record
	// Twelve denied calls by mallory within two minutes: ten reach the threshold, two join its message.
	for i := range 12 {
		recs = append(recs, event(t, "unauthorized_api_calls/alert-ec2-describe-unauthorized.json", fmt.Sprintf("mallory-%02d", i), day1.Add(time.Duration(i)*10*time.Second), "mallory"))
	}
	// Given out of order: the sign-in without MFA happened after the one with MFA, and is posted anew.
	recs = append(recs,
		event(t, "root_signin/alert-root-success-no-mfa.json", "root-2", day1.Add(3*time.Minute), ""),
		event(t, "root_signin/alert-root-success-mfa.json", "root-1", day1, ""),
		event(t, "iam_user_created/alert-create-user.json", "new-user", day2, ""),
		event(t, "access_key_created/alert-self.json", "own-key", day2, ""), // medium, and reverted in auto mode
	)
	recs = append(recs, recs[0]) // CloudTrail delivers an event twice now and then
	rep, err := Deliver(context.Background(), cfg, recs, func(err error) { t.Error(err) })
	if err != nil {
		t.Fatal(err)
	}
	want := Report{Findings: 16, Days: 2, FirstDay: "2024-05-02", LastDay: "2024-05-03", Accounts: 1,
		Immediate: 4, Updates: 2, DigestEntries: 10, DigestMessages: 2, ImmediatePerAccountDay: 2, OtherImmediatePerAccountDay: 1}
	got := *rep
	got.ImmediateBySeverity, got.FindingsBySeverity, got.ImmediateFindingsBySeverity, got.DigestEntriesBySeverity = nil, nil, nil, nil
	got.Channels, got.PerDay, got.TopRules, got.TopCallers = nil, nil, nil, nil
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("report\n got %+v\nwant %+v", got, want)
	}
	for name, m := range map[string]map[string]int{
		"immediate_by_severity":          {"critical": 1, "high": 1, "medium": 1, "low": 1},
		"findings_by_severity":           {"critical": 1, "high": 1, "medium": 1, "low": 13},
		"immediate_findings_by_severity": {"critical": 1, "high": 1, "medium": 1, "low": 3},
		"digest_entries_by_severity":     {"low": 10},
	} {
		got := map[string]map[string]int{"immediate_by_severity": rep.ImmediateBySeverity, "findings_by_severity": rep.FindingsBySeverity,
			"immediate_findings_by_severity": rep.ImmediateFindingsBySeverity, "digest_entries_by_severity": rep.DigestEntriesBySeverity}[name]
		for s := detect.Info; s <= detect.Critical; s++ {
			if got[s.String()] != m[s.String()] {
				t.Errorf("%s[%s] = %d, want %d (all: %v)", name, s, got[s.String()], m[s.String()], got)
			}
		}
	}
	if len(rep.Channels) != 2 || rep.Channels[0].Channel != "C0ALERTS" || rep.Channels[0].Immediate != 1 ||
		rep.Channels[1].Channel != DefaultChannel || rep.Channels[1].Immediate != 3 || rep.Channels[1].DigestEntries != 10 ||
		rep.Channels[1].ImmediateByDay["2024-05-02"] != 2 || rep.Channels[1].ImmediateByDay["2024-05-03"] != 1 {
		t.Errorf("channels %+v", rep.Channels)
	}
	if len(rep.PerDay) != 2 || rep.PerDay[0] != (Day{"2024-05-02", 3, 9}) || rep.PerDay[1] != (Day{"2024-05-03", 1, 1}) {
		t.Errorf("per day %+v", rep.PerDay)
	}
	if rep.TopRules[0] != (Top{Name: "root-console-signin", Immediate: 2, Findings: 2}) ||
		rep.TopRules[1] != (Top{Name: "unauthorized-api-calls", Immediate: 1, DigestEntries: 9, Findings: 12}) ||
		rep.TopCallers[0].Name != "arn:aws:iam::123456789012:root" {
		t.Errorf("top rules %+v, callers %+v", rep.TopRules, rep.TopCallers)
	}
	var text strings.Builder
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"16 findings over 2 day(s), 2024-05-02 to 2024-05-03, 1 account(s)", "posted at once        4 messages (2.00 per account-day; 1.00 below high)",
		"digest               10 entries in 2 message(s)", "C0ALERTS", "unauthorized-api-calls"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, text.String())
		}
	}
}

package render

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/iam-watchdog/iam-watchdog/internal/alerttest"
	"github.com/iam-watchdog/iam-watchdog/pkg/alert"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
)

// shown is every text object of a message, one a line.
func shown(msg Message) string {
	var parts []string
	for _, b := range msg.Blocks {
		switch x := b.(type) {
		case *slack.SectionBlock:
			if x.Text != nil {
				parts = append(parts, x.Text.Text)
			}
			for _, f := range x.Fields {
				parts = append(parts, f.Text)
			}
		case *slack.HeaderBlock:
			parts = append(parts, x.Text.Text)
		case *slack.ContextBlock:
			for _, e := range x.ContextElements.Elements {
				if t, ok := e.(*slack.TextBlockObject); ok {
					parts = append(parts, t.Text)
				}
			}
		}
	}
	return strings.Join(parts, "\n")
}

// A threshold's message counts the window's findings and lists them, and the values a caller
// chose cannot break out of the list: a source IP or target with mrkdwn in it stays text.
func TestThresholdMessage(t *testing.T) {
	a := alerttest.Planned()
	a.Finding.Rule, a.Finding.Severity = "unauthorized-api-calls", detect.Low
	t0 := time.Date(2024, 5, 2, 9, 0, 0, 0, time.UTC)
	var before []alert.Member
	for i := range 9 {
		before = append(before, alert.Member{EventID: fmt.Sprintf("denied-%d", i), Region: "eu-west-1", Time: t0.Add(time.Duration(i) * time.Second),
			SourceIP: "<!channel>", Severity: detect.Low, Call: "GetObject", Outcome: "failed (AccessDenied)", Target: "arn:aws:s3:::x*bold*"})
	}
	g := alert.NewGroup(a.Finding, "none", before, 30, "10 in 5m")
	a.Thread = &alert.Thread{Key: "k", Status: alert.Open, Group: g, Window: 10 * time.Minute}
	msg := NewMessage(a)
	text := shown(msg)
	for _, want := range []string{
		"31 findings by the same caller under this rule, over its threshold of 10 in 5m",
		"• <https://eu-west-1.console.aws.amazon.com/cloudtrailv2/home?region=eu-west-1#/events/denied-0|denied-0> 2024-05-02T09:00:00Z · from &lt;!channel&gt; · LOW · GetObject failed (AccessDenied) · arn:aws:s3:::x*bold*",
		"_and 21 more_: <https://us-east-1.console.aws.amazon.com/cloudtrailv2/home?region=us-east-1#/events?Username=alice|the caller's events in CloudTrail's Event history>",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("message lacks %q:\n%s", want, text)
		}
	}
	if !strings.HasPrefix(msg.Text, "[31 findings] LOW") {
		t.Errorf("fallback %q", msg.Text)
	}
	if strings.Count(text, "\n• ") != 10 {
		t.Errorf("%d events listed, want the 9 before and the leader's", strings.Count(text, "\n• "))
	}
}

func TestEventHistoryURL(t *testing.T) {
	for _, tc := range []struct {
		region string
		a      detect.Actor
		want   string
	}{
		{"", detect.Actor{ARN: "arn:aws:iam::123456789012:user/ops/alice"}, "https://us-east-1.console.aws.amazon.com/cloudtrailv2/home?region=us-east-1#/events?Username=alice"},
		{"eu-west-1", detect.Actor{ARN: "arn:aws:iam::123456789012:root"}, "https://eu-west-1.console.aws.amazon.com/cloudtrailv2/home?region=eu-west-1#/events?Username=root"},
		// A session name is the caller's choice: it is escaped, never markup or another link.
		{"us-east-1", detect.Actor{ARN: "arn:aws:sts::123456789012:assumed-role/app/a|b>c&d=e"}, "https://us-east-1.console.aws.amazon.com/cloudtrailv2/home?region=us-east-1#/events?Username=a%7Cb%3Ec%26d%3De"},
		{"us-east-1", detect.Actor{Name: "an unknown user name"}, ""},
		{"evil.example/x?", detect.Actor{ARN: "arn:aws:iam::123456789012:user/bob"}, ""},
	} {
		if got := EventHistoryURL(tc.region, historyUser(tc.a)); got != tc.want {
			t.Errorf("EventHistoryURL(%q, %+v) = %q, want %q", tc.region, tc.a, got, tc.want)
		}
	}
}

// The digest: the worst category first, its callers with counts and examples linked to
// CloudTrail, the rest counted; within Slack's limits however large the day.
func TestFindingDigestMessage(t *testing.T) {
	day := time.Date(2024, 5, 2, 0, 0, 0, 0, time.UTC)
	ex := func(id string, sev detect.Severity) alert.Member {
		return alert.Member{EventID: id, Region: "us-east-1", Time: day.Add(9 * time.Hour), SourceIP: "198.51.100.77", Severity: sev, Call: "GetBucketPolicy", Outcome: "failed (AccessDenied)"}
	}
	d := alert.DigestShard{Groups: []alert.DigestGroup{
		{Category: "unauthorized_api_calls", Caller: "arn:aws:iam::123456789012:user/backup-agent", Account: "123456789012", Count: 180,
			Severities: map[string]int{"low": 180}, FirstAt: day, LastAt: day.Add(23 * time.Hour), Examples: []alert.Member{ex("ev-1", detect.Low)}},
		{Category: "iam_user_created", Caller: "arn:aws:iam::123456789012:user/bob", Count: 1, Severities: map[string]int{"medium": 1},
			Examples: []alert.Member{ex("ev-2", detect.Medium)}},
	}, Overflow: map[string]int{"unauthorized_api_calls": 7}}
	msg := DigestMessage(d, day, day.Add(24*time.Hour))
	text := shown(msg)
	for _, want := range []string{
		":scroll: Digest: 188 findings, 2024-05-02 00:00 – 2024-05-03 00:00 UTC",
		":large_yellow_circle: *`iam_user_created`* — 1 findings (1 medium)",
		":small_blue_diamond: *`unauthorized_api_calls`* — 187 findings (180 low)",
		"• `arn:aws:iam::123456789012:user/backup-agent` in `123456789012`: *180* (180 low) · 00:00–23:00",
		"    e.g. <https://us-east-1.console.aws.amazon.com/cloudtrailv2/home?region=us-east-1#/events/ev-1|ev-1> 2024-05-02T09:00:00Z · from 198.51.100.77 · LOW · GetBucketPolicy failed (AccessDenied)",
		"_and 7 more findings by further callers_",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("digest lacks %q:\n%s", want, text)
		}
	}
	if strings.Index(text, "iam_user_created") > strings.Index(text, "unauthorized_api_calls`* —") {
		t.Error("the worse category is not first")
	}

	// A day of many categories and callers stays one message Slack takes.
	var big alert.DigestShard
	for c := range 40 {
		for k := range 30 {
			big.Groups = append(big.Groups, alert.DigestGroup{Category: fmt.Sprintf("category_%02d", c), Caller: fmt.Sprintf("arn:aws:iam::123456789012:user/u%d", k),
				Count: 1, Severities: map[string]int{"low": 1}, Examples: []alert.Member{ex("ev", detect.Low), ex("ev", detect.Low), ex("ev", detect.Low)}})
		}
	}
	msg = DigestMessage(big, day, day.Add(24*time.Hour))
	if len(msg.Blocks) > 50 {
		t.Errorf("%d blocks, Slack takes 50", len(msg.Blocks))
	}
	for _, b := range msg.Blocks {
		if s, ok := b.(*slack.SectionBlock); ok && s.Text != nil && slackLen(s.Text.Text) > maxTextChars {
			t.Errorf("a section of %d characters", slackLen(s.Text.Text))
		}
	}
	if !strings.Contains(shown(msg), "more categories with") {
		t.Error("categories past the budget are not counted")
	}
}

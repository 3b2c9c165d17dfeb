package policy

import (
	"strings"
	"testing"
	"time"

	"github.com/iam-watchdog/iam-watchdog/pkg/cloudtrail"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/remediate"
)

func TestRoutingConfig(t *testing.T) {
	c, err := Parse([]byte(`
slack:
  immediate_severity: high
  digest_every: 6h
  channels:
    critical: C0ALERTS
    high: C0ALERTS
    unauthorized_api_calls: G0NOISE
rules:
  unauthorized-api-calls:
    threshold: {count: 25}
  console-auth-failure:
    threshold: {count: 0}
  access-key-created:
    threshold: {count: 3, window: 1h}
`))
	if err != nil {
		t.Fatal(err)
	}
	r := c.Slack.Routing
	if r.Immediate() != detect.High || r.Every() != 6*time.Hour {
		t.Errorf("immediate %s every %s, want high and 6h", r.Immediate(), r.Every())
	}
	for _, tc := range []struct {
		category string
		sev      detect.Severity
		want     string
	}{
		{"root_signin", detect.Critical, "C0ALERTS"},
		{"unauthorized_api_calls", detect.High, "G0NOISE"}, // the category is the more specific
		{"unauthorized_api_calls", detect.Low, "G0NOISE"},
		{"iam_user_created", detect.Low, ""}, // the default channel
	} {
		if got := r.Channel(tc.category, tc.sev); got != tc.want {
			t.Errorf("channel of %s %s = %q, want %q", tc.category, tc.sev, got, tc.want)
		}
	}
	for rule, want := range map[string]Limit{
		"unauthorized-api-calls": {25, 5 * time.Minute}, // the default window kept
		"console-auth-failure":   {0, 15 * time.Minute}, // off
		"access-key-created":     {3, time.Hour},
		"root-console-signin":    {},
	} {
		if got := c.ThresholdFor(rule); got != want {
			t.Errorf("threshold of %s = %+v, want %+v", rule, got, want)
		}
	}
	d := Default()
	if d.Slack.Immediate() != detect.Medium || d.Slack.Every() != 24*time.Hour ||
		d.ThresholdFor("unauthorized-api-calls") != (Limit{10, 5 * time.Minute}) || d.ThresholdFor("console-auth-failure") != (Limit{5, 15 * time.Minute}) {
		t.Errorf("defaults: immediate %s, every %s, thresholds %+v %+v", d.Slack.Immediate(), d.Slack.Every(),
			d.ThresholdFor("unauthorized-api-calls"), d.ThresholdFor("console-auth-failure"))
	}
	if got := d.Slack.PeriodStart(time.Date(2024, 5, 2, 23, 59, 0, 0, time.UTC)); !got.Equal(time.Date(2024, 5, 2, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("daily period of 23:59 starts %s, want midnight", got)
	}

	for doc, want := range map[string]string{
		"slack: {immediate_severity: urgent}":                         `line 1: slack.immediate_severity: unknown severity "urgent"`,
		"slack: {immediate_severity: [high]}":                         "line 1: slack.immediate_severity: want a severity (info, low, medium, high or critical), not a list",
		"slack: {digest_every: weekly}":                               `slack.digest_every: "weekly" is not hourly, daily or a duration`,
		"slack: {digest_every: 5h}":                                   "slack.digest_every: 5h0m0s does not divide a day",
		"slack: {digest_every: 30m}":                                  "slack.digest_every: 30m0s does not divide a day",
		"slack: {channels: {urgent: C0ALERTS}}":                       `slack.channels.urgent: "urgent" is neither a severity`,
		"slack: {channels: {high: '#security'}}":                      `slack.channels.high: "#security" is not a Slack channel ID`,
		"slack: {channels: {root_signin: U0123ABCD}}":                 `slack.channels.root_signin: "U0123ABCD" is not a Slack channel ID`,
		"slack: {channel: C0ALERTS}":                                  `line 1: slack: unknown key "channel" (did you mean "channels"?)`,
		"rules: {access-key-created: {threshold: {window: 5m}}}":      "rules.access-key-created.threshold.count: required",
		"rules: {unauthorized-api-calls: {threshold: {count: -1}}}":   "rules.unauthorized-api-calls.threshold.count: -1 is outside 0 (off) to 1000",
		"rules: {unauthorized-api-calls: {threshold: {count: 5000}}}": "threshold.count: 5000 is outside",
		"rules: {unauthorized-api-calls: {threshold: {window: 10s}}}": "rules.unauthorized-api-calls.threshold.window: 10s is outside 1m to 24h",
		"rules: {unauthorized-api-calls: {threshold: {window: 2d}}}":  "rules.unauthorized-api-calls.threshold.window",
		"rules: {unauthorized-api-calls: {threshold: {counts: 5}}}":   `line 1: rules.unauthorized-api-calls.threshold: unknown key "counts" (did you mean "count"?)`,
		"rules: {unauthorized-api-calls: {threshold: {count: many}}}": "rules.unauthorized-api-calls.threshold.count",
	} {
		if _, err := Parse([]byte(doc)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want it to contain %q", doc, err, want)
		}
	}
}

func TestRoute(t *testing.T) {
	c, err := Parse([]byte("slack: {channels: {high: C0ALERTS, console_auth_failure: C0SIGNIN}}"))
	if err != nil {
		t.Fatal(err)
	}
	denied := func(source, name string) *cloudtrail.Record {
		return &cloudtrail.Record{EventSource: source, EventName: name, ErrorCode: "AccessDenied"}
	}
	outcome := func(s remediate.Status) *remediate.Outcome { return &remediate.Outcome{Status: s} }
	for _, tc := range []struct {
		name    string
		f       detect.Finding
		o       *remediate.Outcome
		kind    RouteKind
		channel string
		reason  string
	}{
		{"a revert is posted whatever its severity", detect.Finding{Rule: "access-key-created", Severity: detect.Low}, outcome(remediate.Done), Immediate, "", "reverted"},
		{"an approval waits for a person", detect.Finding{Rule: "access-key-created", Severity: detect.Info}, outcome(remediate.Pending), Immediate, "", "awaiting approval"},
		{"a failed revert is posted", detect.Finding{Rule: "access-key-created", Severity: detect.Low}, outcome(remediate.Failed), Immediate, "", "remediation failed"},
		{"a dry run is routed by severity", detect.Finding{Rule: "access-key-created", Severity: detect.Low}, outcome(remediate.Planned), Digest, "", "below medium"},
		{"critical", detect.Finding{Rule: "root-console-signin", Severity: detect.Critical}, nil, Immediate, "", "critical"},
		{"high, to its channel", detect.Finding{Rule: "iam-policy-changed", Severity: detect.High}, nil, Immediate, "C0ALERTS", "high"},
		{"high beats a threshold", detect.Finding{Rule: "unauthorized-api-calls", Severity: detect.High, Record: denied("s3.amazonaws.com", "GetObject")}, nil, Immediate, "C0ALERTS", "high"},
		{"medium", detect.Finding{Rule: "password-policy-changed", Severity: detect.Medium}, nil, Immediate, "", "at or above medium"},
		{"low", detect.Finding{Rule: "iam-user-created", Severity: detect.Low}, nil, Digest, "", "below medium"},
		{"a denied call is counted", detect.Finding{Rule: "unauthorized-api-calls", Severity: detect.Low, Record: denied("s3.amazonaws.com", "GetBucketPolicy")}, nil, Counted, "", "threshold 10 in 5m"},
		{"a denied IAM call is posted", detect.Finding{Rule: "unauthorized-api-calls", Severity: detect.Low, Record: denied("iam.amazonaws.com", "ListUsers")}, nil, Immediate, "", "denied on a sensitive API"},
		{"a denied KMS call is posted", detect.Finding{Rule: "unauthorized-api-calls", Severity: detect.Medium, Record: denied("kms.amazonaws.com", "Decrypt")}, nil, Immediate, "", "denied on a sensitive API"},
		{"a denied AssumeRoot is posted", detect.Finding{Rule: "unauthorized-api-calls", Severity: detect.Low, Record: denied("sts.amazonaws.com", "AssumeRoot")}, nil, Immediate, "", "denied on a sensitive API"},
		{"a denied AssumeRole is counted", detect.Finding{Rule: "unauthorized-api-calls", Severity: detect.Low, Record: denied("sts.amazonaws.com", "AssumeRole")}, nil, Counted, "", "threshold 10 in 5m"},
		{"a failed sign-in is counted, in its category's channel", detect.Finding{Rule: "console-auth-failure", Category: "console_auth_failure", Severity: detect.Low, Record: &cloudtrail.Record{EventSource: "signin.amazonaws.com", EventName: "ConsoleLogin"}}, nil, Counted, "C0SIGNIN", "threshold 5 in 15m"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := c.Route(&tc.f, tc.o)
			if r.Kind != tc.kind || r.Channel != tc.channel || r.Reason != tc.reason {
				t.Errorf("route %+v, want %s to %q because %q", r, tc.kind, tc.channel, tc.reason)
			}
		})
	}
}

func TestCaller(t *testing.T) {
	for _, tc := range []struct {
		a    detect.Actor
		want string
	}{
		{detect.Actor{ARN: "arn:aws:sts::123456789012:assumed-role/app/session-1", IssuerARN: "arn:aws:iam::123456789012:role/app"}, "arn:aws:iam::123456789012:role/app"},
		{detect.Actor{ARN: "arn:aws:iam::123456789012:user/bob", Name: "bob"}, "arn:aws:iam::123456789012:user/bob"},
		{detect.Actor{Name: "HIDDEN_DUE_TO_SECURITY_REASONS"}, "HIDDEN_DUE_TO_SECURITY_REASONS"},
	} {
		if got := Caller(tc.a); got != tc.want {
			t.Errorf("Caller(%+v) = %q, want %q", tc.a, got, tc.want)
		}
	}
}

package policy

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/remediate"
)

// Routing says which findings are posted to Slack at once and which wait for the digest, and in
// which channel each lands (the `slack:` keys immediate_severity, channels and digest_every).
// Routing decides what is posted when, never what is reverted.
type Routing struct {
	// ImmediateSeverity is the lowest severity posted at once; below it findings go to the
	// digest. Unset means DefaultImmediateSeverity. Critical and high are posted at once
	// whatever it says.
	ImmediateSeverity *detect.Severity `yaml:"immediate_severity"`
	// Channels maps a severity name (critical … info) or a category (root_signin, …) to a Slack
	// channel ID. A finding goes to its category's channel, else its severity's, else the
	// default channel (SLACK_CHANNEL); digest entries are routed the same way.
	Channels map[string]string `yaml:"channels"`
	// DigestEvery is the digest's period: hourly, daily (the default), or a duration from 1h to
	// 24h that divides a day (2h, 6h, 12h, …). Periods start at UTC midnight.
	DigestEvery string `yaml:"digest_every"`
}

// DefaultImmediateSeverity applies when slack.immediate_severity is not set: medium, so that a
// low finding (one denied call, one failed sign-in, a new trail) waits for the digest.
const DefaultImmediateSeverity = detect.Medium

// DefaultDigestEvery applies when slack.digest_every is not set.
const DefaultDigestEvery = 24 * time.Hour

// Immediate is the lowest severity posted at once.
func (r Routing) Immediate() detect.Severity {
	if r.ImmediateSeverity == nil {
		return DefaultImmediateSeverity
	}
	return *r.ImmediateSeverity
}

// Every is the digest's period; an invalid setting (refused by Validate) reads as the default.
func (r Routing) Every() time.Duration {
	d, err := parseEvery(r.DigestEvery)
	if err != nil || d == 0 {
		return DefaultDigestEvery
	}
	return d
}

// PeriodStart is the start of the digest period holding t.
func (r Routing) PeriodStart(t time.Time) time.Time {
	return t.UTC().Truncate(r.Every())
}

// parseEvery reads digest_every: "" (the default, returned as 0), hourly, daily, or a duration
// that divides a day into whole periods, so that every period starts at a fixed time of day.
func parseEvery(s string) (time.Duration, error) {
	switch s {
	case "":
		return 0, nil
	case "hourly":
		return time.Hour, nil
	case "daily":
		return 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not hourly, daily or a duration such as 6h", s)
	}
	if d < time.Hour || d > 24*time.Hour || (24*time.Hour)%d != 0 {
		return 0, fmt.Errorf("%s does not divide a day into periods of an hour or more (1h, 2h, 3h, 4h, 6h, 8h, 12h or 24h)", d)
	}
	return d, nil
}

// slackChannelID is a public (C…) or private (G…) channel ID. Names are refused: a channel can
// be renamed, and chat.postMessage answers a name the bot cannot see with an error at 3 a.m.
var slackChannelID = regexp.MustCompile(`^[CG][A-Z0-9]{2,}$`)

func (r Routing) validate(rules []detect.Rule) []*ConfigError {
	var errs []*ConfigError
	if _, err := parseEvery(r.DigestEvery); err != nil {
		errs = append(errs, fieldError("slack.digest_every", "%v", err))
	}
	categories := map[string]bool{}
	for _, rule := range rules {
		categories[rule.Category] = true
	}
	for _, key := range slices.Sorted(maps.Keys(r.Channels)) {
		id := r.Channels[key]
		_, sevErr := detect.ParseSeverity(key)
		if sevErr != nil && !categories[key] {
			errs = append(errs, fieldError("slack.channels."+key, "%q is neither a severity (info, low, medium, high, critical) nor a category (see `watchdog rules`)", key))
		}
		if !slackChannelID.MatchString(id) {
			errs = append(errs, fieldError("slack.channels."+key, "%q is not a Slack channel ID (C… or G…: the channel's details show it)", id))
		}
	}
	return errs
}

// Channel is the channel a finding of this category and severity goes to, "" for the default
// (SLACK_CHANNEL). The category is the more specific, so it wins over the severity.
func (r Routing) Channel(category string, s detect.Severity) string {
	if id, ok := r.Channels[category]; ok && category != "" {
		return id
	}
	return r.Channels[s.String()]
}

// Threshold counts one caller's findings of a rule over a sliding window: below Count within
// Window they go to the digest; the finding that reaches Count posts one message, which the
// caller's next findings update. A Count of 0 switches the threshold off.
type Threshold struct {
	Count  *int           `yaml:"count"`
	Window *time.Duration `yaml:"window"`
}

// Limit is a threshold in force: N findings within Window.
type Limit struct {
	Count  int
	Window time.Duration
}

// Off reports whether the limit counts nothing.
func (l Limit) Off() bool { return l.Count <= 0 }

func (l Limit) String() string { return fmt.Sprintf("%d in %s", l.Count, shortDuration(l.Window)) }

// shortDuration writes 5m rather than 5m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// DefaultThresholds are the rates CIS 4.1 and 4.6 ask alarms on. Ten denied calls in five
// minutes: a person missing a permission retries a few times and a script fails on its own
// schedule (the corpus's backup agent, once every few minutes), while enumeration with stolen
// keys (Pacu, enumerate-iam) is denied dozens of times a minute and crosses within seconds. Five
// failed console sign-ins in fifteen minutes: someone who forgot a password tries two or three
// times and resets it; guessing, even slowly, goes on.
var DefaultThresholds = map[string]Limit{
	"unauthorized-api-calls": {Count: 10, Window: 5 * time.Minute},
	"console-auth-failure":   {Count: 5, Window: 15 * time.Minute},
}

// DefaultThresholdWindow is a threshold's window when a rule's config gives none and the rule
// has no default threshold.
const DefaultThresholdWindow = 5 * time.Minute

// MaxThresholdCount bounds a threshold's count: the window's findings are kept on one state-table
// item, which must stay far below DynamoDB's 400 KB.
const MaxThresholdCount = 1000

// ThresholdFor is the threshold in force for a rule: its config, filled in from the rule's
// default; Off when there is none.
func (c *Config) ThresholdFor(rule string) Limit {
	l := DefaultThresholds[rule]
	t := c.Rules[rule].Threshold
	if t == nil {
		return l
	}
	if t.Count != nil {
		l.Count = *t.Count
	}
	if t.Window != nil {
		l.Window = *t.Window
	}
	if l.Window == 0 {
		l.Window = DefaultThresholdWindow
	}
	return l
}

func validateThreshold(id string, t *Threshold) []*ConfigError {
	if t == nil {
		return nil
	}
	var errs []*ConfigError
	_, hasDefault := DefaultThresholds[id]
	switch {
	case t.Count == nil && !hasDefault:
		errs = append(errs, fieldError("rules."+id+".threshold.count", "required, since this rule has no default threshold"))
	case t.Count != nil && (*t.Count < 0 || *t.Count > MaxThresholdCount):
		errs = append(errs, fieldError("rules."+id+".threshold.count", "%d is outside 0 (off) to %d", *t.Count, MaxThresholdCount))
	}
	if t.Window != nil && (*t.Window < time.Minute || *t.Window > 24*time.Hour) {
		errs = append(errs, fieldError("rules."+id+".threshold.window", "%s is outside 1m to 24h", *t.Window))
	}
	return errs
}

// RouteKind is how a finding reaches Slack.
type RouteKind string

// Route kinds.
const (
	// Immediate: posted at once (flood control may fold it into a message of its burst).
	Immediate RouteKind = "immediate"
	// Counted: counted against the rule's threshold for its caller; the pipeline posts it when
	// the count is reached (or joins the message that did) and adds it to the digest otherwise.
	Counted RouteKind = "threshold"
	// Digest: kept for the next digest.
	Digest RouteKind = "digest"
)

// Route is where and when a finding is posted.
type Route struct {
	Kind RouteKind
	// Channel is the Slack channel ID, "" for the default channel.
	Channel string
	// Limit is the threshold a Counted finding is counted against.
	Limit Limit
	// Reason says why, in a few words, for logs and `watchdog noise`.
	Reason string
}

// Route decides how a finding the configuration alerts on reaches Slack, from the finding and
// what remediation did (o, nil when the rule has none). In order: what the watchdog did or asks
// a person to do (a revert, an approval, a failed attempt) is posted at once, since people must
// know and the Revert button must be seen; critical and high are posted at once; a denied call on
// a sensitive API is posted at once; a rule with a threshold counts; the rest by
// immediate_severity.
func (c *Config) Route(f *detect.Finding, o *remediate.Outcome) Route {
	r := Route{Kind: Immediate, Channel: c.Slack.Channel(f.Category, f.Severity)}
	if o != nil {
		switch o.Status {
		case remediate.Done:
			r.Reason = "reverted"
			return r
		case remediate.Pending:
			r.Reason = "awaiting approval"
			return r
		case remediate.Failed:
			r.Reason = "remediation failed"
			return r
		}
	}
	if f.Severity >= detect.High {
		r.Reason = f.Severity.String()
		return r
	}
	if rec := f.Record; rec != nil && rec.Failed() && SensitiveAPI(rec.EventSource, rec.EventName) {
		r.Reason = "denied on a sensitive API"
		return r
	}
	if l := c.ThresholdFor(f.Rule); !l.Off() {
		r.Kind, r.Limit, r.Reason = Counted, l, "threshold "+l.String()
		return r
	}
	min := c.Slack.Immediate()
	if f.Severity >= min {
		r.Reason = "at or above " + min.String()
		return r
	}
	r.Kind, r.Reason = Digest, "below "+min.String()
	return r
}

// SensitiveAPI reports whether a call is on an API whose denial is posted at once, whatever a
// threshold says: IAM, KMS, CloudTrail and Organizations (who may do what, keys, the record of
// what was done, the organisation), and sts:AssumeRoot (a root session in a member account).
// Other STS calls are left out: a role whose trust refuses someone is denied AssumeRole all day.
func SensitiveAPI(source, name string) bool {
	switch source {
	case "iam.amazonaws.com", "kms.amazonaws.com", "cloudtrail.amazonaws.com", "organizations.amazonaws.com":
		return true
	case "sts.amazonaws.com":
		return name == "AssumeRoot"
	}
	return false
}

// Caller is who a threshold and the digest count a finding against: the role or user behind a
// session (so that a caller cannot stay under a threshold by naming each session anew), else
// the caller's ARN, else its name (a failed sign-in of an unknown user has no ARN).
func Caller(a detect.Actor) string {
	switch {
	case a.IssuerARN != "":
		return a.IssuerARN
	case a.ARN != "":
		return a.ARN
	}
	return a.Name
}

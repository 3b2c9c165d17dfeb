package render

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/slack-go/slack"

	"github.com/iam-watchdog/iam-watchdog/pkg/alert"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
)

// A grouped message lists its events one by one, so that none is hidden behind the first: each
// event's ID linked to CloudTrail, its time, source IP and severity, and what sets it apart (the
// call, its outcome, MFA, the target). Past alert.MaxListed it says how many more there are and
// links to the caller's events in CloudTrail's Event history.

// memberLine is one event of a group, in Slack mrkdwn. Every value but the checked link is
// escaped: all of them come from the event.
func memberLine(m alert.Member) string {
	id := code(m.EventID)
	if u := EventURL(m.Region, m.EventID); u != "" {
		id = "<" + u + "|" + m.EventID + ">"
	}
	return "• " + id + " " + memberText(m, esc)
}

// memberText is what a line says after the event's ID, each value through quote.
func memberText(m alert.Member, quote func(string) string) string {
	parts := []string{eventTime(m.Time)}
	if m.SourceIP != "" {
		parts = append(parts, "from "+quote(m.SourceIP))
	}
	parts = append(parts, strings.ToUpper(m.Severity.String()))
	what := quote(m.Call)
	for _, s := range []string{m.Outcome, m.MFA} {
		if s != "" {
			what = strings.TrimSpace(what + " " + quote(s))
		}
	}
	if what != "" {
		parts = append(parts, what)
	}
	if m.Target != "" {
		parts = append(parts, quote(m.Target))
	}
	return strings.Join(parts, " · ")
}

// memberBlocks are the sections listing a group's events, split to stay within Slack's limit
// on a text object, ending with the count of those not listed and where to find them.
func memberBlocks(g *alert.Group, f detect.Finding) []slack.Block {
	var blocks []slack.Block
	var b strings.Builder
	flush := func() {
		if b.Len() > 0 {
			blocks = append(blocks, section(b.String()))
			b.Reset()
		}
	}
	b.WriteString("*Events*")
	for _, m := range g.Events {
		line := truncate(memberLine(m), maxTextChars/4)
		if slackLen(b.String())+1+slackLen(line) > maxTextChars {
			flush()
		}
		if b.Len() > 0 {
			b.WriteString("\n")
		}
		b.WriteString(line)
	}
	if rest := g.Unlisted(); rest > 0 {
		more := fmt.Sprintf("_and %d more_", rest)
		if u := EventHistoryURL(f.Region, historyUser(f.Actor)); u != "" {
			more += ": <" + u + "|the caller's events in CloudTrail's Event history>"
		}
		if slackLen(b.String())+1+slackLen(more) > maxTextChars {
			flush()
		}
		if b.Len() > 0 {
			b.WriteString("\n")
		}
		b.WriteString(more)
	}
	flush()
	return blocks
}

// memberRows are a group's events for a terminal, one line each, then the count of the rest.
func memberRows(g *alert.Group) []string {
	var rows []string
	for _, m := range g.Events {
		rows = append(rows, clean(m.EventID)+" "+memberText(m, clean))
	}
	if rest := g.Unlisted(); rest > 0 {
		rows = append(rows, fmt.Sprintf("and %d more", rest))
	}
	return rows
}

// historyUser is the user name CloudTrail's Event history files a caller's events under: an IAM
// user's name, a role session's name, root for the root user; "" when the ARN says none.
func historyUser(a detect.Actor) string {
	arn := a.ARN
	switch {
	case arn == "":
		return ""
	case strings.HasSuffix(arn, ":root"):
		return "root"
	}
	if i := strings.LastIndexByte(arn, '/'); i >= 0 && i+1 < len(arn) {
		return arn[i+1:]
	}
	return ""
}

// EventHistoryURL links to CloudTrail's Event history in region filtered to one user name (the
// Username lookup attribute), "" when there is no user or the region is not shaped like one.
// Reference: https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupAttribute.html
func EventHistoryURL(region, user string) string {
	if region == "" {
		region = "us-east-1"
	}
	if user == "" || !regionPattern.MatchString(region) {
		return ""
	}
	// The user name is escaped as a query value: whoever named the session chose it.
	return "https://" + region + "." + consoleDomain(region) +
		"/cloudtrailv2/home?region=" + region + "#/events?Username=" + url.QueryEscape(user)
}

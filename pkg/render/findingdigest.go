package render

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/iam-watchdog/iam-watchdog/pkg/alert"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
)

// The findings digest: one message per channel and period for the findings kept for it (below
// slack.immediate_severity, or under a rule's threshold), grouped by category and then caller,
// each with its count, its severities and its first examples linked to CloudTrail.

// Bounds of a digest message: Slack takes at most 50 blocks, so categories past the budget are
// summed in one line, and a category lists its largest callers and counts the rest.
const (
	maxFindingDigestBlocks  = 45
	maxFindingDigestCallers = 10
)

// digestCategory is one category's groups, with their totals.
type digestCategory struct {
	name     string
	groups   []alert.DigestGroup
	count    int
	overflow int
	worst    detect.Severity
	sevs     map[string]int
}

// DigestMessage renders a channel's digest of the period from start to end.
func DigestMessage(d alert.DigestShard, start, end time.Time) Message {
	cats := digestCategories(d)
	total := 0
	for _, c := range cats {
		total += c.count
	}
	period := start.UTC().Format("2006-01-02 15:04") + " – " + end.UTC().Format("2006-01-02 15:04") + " UTC"
	blocks := []slack.Block{
		slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, truncate(fmt.Sprintf(":scroll: Digest: %d findings, %s", total, period), maxHeaderChars), true, false)),
		slack.NewContextBlock("", mrkdwn("Kept for this digest rather than posted one by one: below the severity posted at once, or under a rule's threshold for its caller. By category, then caller, with the first examples.")),
	}
	var summary []string
	for i, c := range cats {
		summary = append(summary, fmt.Sprintf("%d %s", c.count, c.name))
		cb := categoryBlocks(c)
		if len(blocks)+len(cb) > maxFindingDigestBlocks {
			rest, n := cats[i:], 0
			for _, r := range rest {
				n += r.count
			}
			blocks = append(blocks, section(fmt.Sprintf("_and %d more categories with %d findings, too many for one message: %s_", len(rest), n, strings.Join(categoryNames(rest), ", "))))
			break
		}
		blocks = append(blocks, cb...)
	}
	text := fmt.Sprintf("Digest: %d findings, %s", total, period)
	if len(summary) > 0 {
		text += ": " + strings.Join(summary, ", ")
	}
	return Message{Blocks: blocks, Text: truncate(esc(text), maxTextChars)}
}

func categoryNames(cats []digestCategory) []string {
	names := make([]string, len(cats))
	for i, c := range cats {
		names[i] = code(c.name)
	}
	return names
}

// digestCategories groups the digest by category, the worst and then the largest first.
func digestCategories(d alert.DigestShard) []digestCategory {
	byName := map[string]*digestCategory{}
	get := func(name string) *digestCategory {
		c, ok := byName[name]
		if !ok {
			c = &digestCategory{name: name, sevs: map[string]int{}}
			byName[name] = c
		}
		return c
	}
	for _, g := range d.Groups {
		c := get(g.Category)
		c.groups = append(c.groups, g)
		c.count += g.Count
		c.worst = max(c.worst, g.Worst())
		for s, n := range g.Severities {
			c.sevs[s] += n
		}
	}
	for name, n := range d.Overflow {
		c := get(name)
		c.overflow += n
		c.count += n
	}
	out := make([]digestCategory, 0, len(byName))
	for _, c := range byName {
		out = append(out, *c)
	}
	slices.SortFunc(out, func(a, b digestCategory) int {
		return cmp.Or(cmp.Compare(b.worst, a.worst), cmp.Compare(b.count, a.count), cmp.Compare(a.name, b.name))
	})
	return out
}

// severityCounts is "690 low, 3 medium", worst first.
func severityCounts(sevs map[string]int) string {
	names := slices.SortedFunc(maps.Keys(sevs), func(a, b string) int {
		x, _ := detect.ParseSeverity(a)
		y, _ := detect.ParseSeverity(b)
		return cmp.Compare(y, x)
	})
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%d %s", sevs[n], clean(n))
	}
	return strings.Join(parts, ", ")
}

// categoryBlocks are one category: its count, then its callers with their examples, in as many
// sections as Slack's limit on a text object asks.
func categoryBlocks(c digestCategory) []slack.Block {
	var blocks []slack.Block
	var b strings.Builder
	add := func(line string) {
		line = truncate(line, maxTextChars/2)
		if b.Len() > 0 && slackLen(b.String())+1+slackLen(line) > maxTextChars {
			blocks = append(blocks, section(b.String()))
			b.Reset()
		}
		if b.Len() > 0 {
			b.WriteString("\n")
		}
		b.WriteString(line)
	}
	add(fmt.Sprintf("%s *%s* — %d findings (%s)", emoji(c.worst), code(c.name), c.count, severityCounts(c.sevs)))
	groups := c.groups
	for _, g := range groups[:min(len(groups), maxFindingDigestCallers)] {
		when := ""
		if !g.FirstAt.IsZero() {
			when = " · " + g.FirstAt.UTC().Format("15:04") + "–" + g.LastAt.UTC().Format("15:04")
		}
		account := ""
		if g.Account != "" {
			account = " in " + code(g.Account)
		}
		add(fmt.Sprintf("• %s%s: *%d* (%s)%s", orDash(code(g.Caller)), account, g.Count, severityCounts(g.Severities), when))
		for _, m := range g.Examples {
			id := code(m.EventID)
			if u := EventURL(m.Region, m.EventID); u != "" {
				id = "<" + u + "|" + m.EventID + ">"
			}
			add("    e.g. " + id + " " + memberText(m, esc))
		}
	}
	if rest := groups[min(len(groups), maxFindingDigestCallers):]; len(rest) > 0 || c.overflow > 0 {
		n := c.overflow
		for _, g := range rest {
			n += g.Count
		}
		add(fmt.Sprintf("_and %d more findings by further callers_", n))
	}
	if b.Len() > 0 {
		blocks = append(blocks, section(b.String()))
	}
	return blocks
}

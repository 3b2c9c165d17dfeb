package render

import (
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
)

// Digest is a periodic summary posted as one message: a title, a summary line, sections of
// items worst first, and small print. The scheduled audit's digest (what changed since the last
// audit) is one; any other periodic report (a digest of findings) lays out the same way. Every
// string in it is plain text: NewDigestMessage and DigestText clean and escape it all.
type Digest struct {
	Title   string
	Summary string
	// Sections are shown in order; one with neither items nor a note is left out.
	Sections []DigestSection
	// Footer is small print: when the report was made, from what.
	Footer string
}

// DigestSection is one heading and what falls under it: items, a note, or both.
type DigestSection struct {
	Heading string
	Note    string
	Items   []DigestItem
}

// DigestItem is one line: how bad, what, on which resource, and what was seen.
type DigestItem struct {
	Severity detect.Severity
	Title    string
	Resource string
	Detail   string
}

// MaxDigestItems bounds the items a section shows; the rest are counted in one line. Slack
// takes 50 blocks and 3,000 characters per section: a digest must stay a message people read.
const MaxDigestItems = 15

// maxDigestBlocks is Slack's limit of blocks in one message.
// Reference: https://docs.slack.dev/reference/block-kit/blocks
const maxDigestBlocks = 50

// NewDigestMessage lays a digest out in Block Kit, with a plain-text fallback holding the title
// and summary.
func NewDigestMessage(d Digest) Message {
	blocks := []slack.Block{slack.NewHeaderBlock(
		slack.NewTextBlockObject(slack.PlainTextType, truncate(clean(orDash(d.Title)), maxHeaderChars), true, false))}
	if d.Summary != "" {
		blocks = append(blocks, section(esc(d.Summary)))
	}
	for _, s := range d.Sections {
		if s.Note == "" && len(s.Items) == 0 {
			continue
		}
		text := "*" + esc(s.Heading) + "*"
		if s.Note != "" {
			text += "\n" + esc(s.Note)
		}
		var lines []string
		for _, it := range shownItems(s.Items) {
			lines = append(lines, emoji(it.Severity)+" "+slackItem(it))
		}
		if more := len(s.Items) - MaxDigestItems; more > 0 {
			lines = append(lines, fmt.Sprintf("…and %d more", more))
		}
		// Lines are packed into as few sections as Slack's limit allows; none is cut in two.
		for _, l := range lines {
			l = truncate(l, maxTextChars-1)
			if slackLen(text)+1+slackLen(l) > maxTextChars {
				blocks = append(blocks, section(text))
				text = l
				continue
			}
			text += "\n" + l
		}
		blocks = append(blocks, section(text))
	}
	if d.Footer != "" {
		blocks = append(blocks, slack.NewContextBlock("", mrkdwn(truncate(esc(d.Footer), maxTextChars))))
	}
	if len(blocks) > maxDigestBlocks {
		blocks = append(blocks[:maxDigestBlocks-1], section("…the rest does not fit in one Slack message"))
	}
	fallback := esc(orDash(d.Title))
	if d.Summary != "" {
		fallback += ": " + esc(d.Summary)
	}
	return Message{Blocks: blocks, Text: truncate(fallback, maxTextChars)}
}

func shownItems(items []DigestItem) []DigestItem {
	if len(items) > MaxDigestItems {
		return items[:MaxDigestItems]
	}
	return items
}

func slackItem(it DigestItem) string {
	s := strings.ToUpper(it.Severity.String()) + " *" + esc(orDash(it.Title)) + "*"
	if it.Resource != "" {
		s += " " + code(it.Resource)
	}
	if it.Detail != "" {
		s += ": " + esc(it.Detail)
	}
	return s
}

// DigestText lays a digest out for a terminal or a log, ending in a newline.
func DigestText(d Digest) string {
	var b strings.Builder
	b.WriteString("┌─ " + clean(orDash(d.Title)) + "\n")
	if d.Summary != "" {
		b.WriteString("│ " + clean(d.Summary) + "\n")
	}
	for _, s := range d.Sections {
		if s.Note == "" && len(s.Items) == 0 {
			continue
		}
		b.WriteString("│\n│ " + clean(s.Heading) + "\n")
		if s.Note != "" {
			b.WriteString("│   " + clean(s.Note) + "\n")
		}
		for _, it := range shownItems(s.Items) {
			line := strings.ToUpper(it.Severity.String()) + " " + clean(orDash(it.Title))
			if it.Resource != "" {
				line += " " + clean(it.Resource)
			}
			if it.Detail != "" {
				line += ": " + clean(it.Detail)
			}
			b.WriteString("│   " + line + "\n")
		}
		if more := len(s.Items) - MaxDigestItems; more > 0 {
			fmt.Fprintf(&b, "│   …and %d more\n", more)
		}
	}
	if d.Footer != "" {
		b.WriteString("│\n│ " + clean(d.Footer) + "\n")
	}
	b.WriteString("└─\n")
	return b.String()
}

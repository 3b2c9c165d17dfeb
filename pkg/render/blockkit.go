package render

import (
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/iam-watchdog/iam-watchdog/pkg/alert"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
)

// Message is an alert rendered for Slack: Block Kit blocks, and a plain-text fallback that Slack
// shows in notifications and in clients that cannot draw blocks.
type Message struct {
	Blocks []slack.Block
	Text   string
}

// MessageOption changes how NewMessage renders an alert.
type MessageOption func(*messageConfig)

type messageConfig struct {
	mention    string
	mentionMin detect.Severity
}

// WithMention starts messages for findings at or above min with mention, written in Slack's own
// syntax (<!here>, <!subteam^S0123>, <@U0123>) so that someone is paged for what matters and
// not for every info finding. mention is configuration and is not escaped.
func WithMention(min detect.Severity, mention string) MessageOption {
	return func(c *messageConfig) { c.mention, c.mentionMin = mention, min }
}

// severityEmoji gives each level a shape as well as a colour, for readers who cannot tell the
// colours apart.
var severityEmoji = map[detect.Severity]string{
	detect.Info:     ":information_source:",
	detect.Low:      ":small_blue_diamond:",
	detect.Medium:   ":large_yellow_circle:",
	detect.High:     ":large_orange_diamond:",
	detect.Critical: ":rotating_light:",
}

func emoji(s detect.Severity) string {
	if e, ok := severityEmoji[s]; ok {
		return e
	}
	return ":grey_question:"
}

// NewMessage renders one alert. Every value that came from the event is cleaned and escaped,
// since user names, trail names and user agents are chosen by whoever made the call.
func NewMessage(a alert.Alert, opts ...MessageOption) Message {
	var cfg messageConfig
	for _, o := range opts {
		o(&cfg)
	}
	f := a.Finding
	sev := strings.ToUpper(f.Severity.String())
	title := orDash(f.Title)

	var blocks []slack.Block
	// plain_text is shown as written, so the header is cleaned but not escaped: "&amp;" would
	// appear literally.
	header := emoji(f.Severity) + " " + sev + ": " + clean(title)
	blocks = append(blocks, slack.NewHeaderBlock(
		slack.NewTextBlockObject(slack.PlainTextType, truncate(header, maxHeaderChars), true, false)))

	mention := ""
	if cfg.mention != "" && f.Severity >= cfg.mentionMin {
		mention = cfg.mention
		blocks = append(blocks, section(mention))
	}
	if t := a.Thread; t != nil {
		blocks = append(blocks, statusBlock(t))
		if t.Group.Total() > 1 {
			blocks = append(blocks, groupBlocks(t, f)...)
		}
	}
	if f.Why != "" {
		blocks = append(blocks, section(esc(f.Why)))
	}
	blocks = append(blocks, slack.NewSectionBlock(nil, []*slack.TextBlockObject{
		field("Actor", actorText(f.Actor)),
		field("Target", orDash(code(f.Target))),
		field("Account / region", orDash(code(f.Account))+" / "+orDash(code(f.Region))),
		field("Event time", eventTime(f.EventTime)),
		field("Source IP", orDash(esc(f.Actor.SourceIP))),
		field("User agent", orDash(esc(f.Actor.UserAgent))),
	}, nil))

	r := describeRemedy(a, slackStyle)
	text := "*" + r.label + "*"
	if r.body != "" {
		text = "*" + r.label + ":* " + r.body
	}
	if r.undo != "" {
		text += "\nUndo: " + code(r.undo)
	}
	blocks = append(blocks, section(text))
	if f.Manual != "" {
		blocks = append(blocks, section("*Manual steps:* "+esc(f.Manual)))
	}
	if a.Thread != nil {
		if b := actionBlock(a.Thread, a); b != nil {
			blocks = append(blocks, b)
		}
	}
	blocks = append(blocks, slack.NewContextBlock("",
		mrkdwn(truncate(contextLine(f), maxTextChars))))

	return Message{Blocks: blocks, Text: fallback(a, mention)}
}

// mrkdwn is a verbatim mrkdwn text object. Verbatim stops Slack from turning text it did not
// get as explicit <…> markup into links and mentions: a user agent of "evil.example/login"
// stays text. The watchdog's own links use explicit markup and still work.
func mrkdwn(text string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, text, false, true)
}

func section(text string) *slack.SectionBlock {
	return slack.NewSectionBlock(mrkdwn(truncate(text, maxTextChars)), nil, nil)
}

func field(label, value string) *slack.TextBlockObject {
	return mrkdwn(truncate("*"+label+"*\n"+value, maxFieldChars))
}

func actorText(a detect.Actor) string {
	s := orDash(code(a.ARN))
	if a.ARN == "" && a.Name != "" {
		s = code(a.Name)
	}
	if a.Type != "" {
		s += " (" + esc(a.Type) + ")"
	}
	if a.IssuerARN != "" && a.IssuerARN != a.ARN {
		s += "\nsession of " + code(a.IssuerARN)
	}
	if a.InvokedBy != "" {
		s += "\nvia " + esc(a.InvokedBy)
	}
	return s
}

// eventTime is RFC 3339 in UTC, the form CloudTrail itself uses, so that it can be pasted into
// a console search. A zero time means the record had none; it is not replaced by the current
// time, which would put the event where it never was.
func eventTime(t time.Time) string {
	if t.IsZero() {
		return "unknown"
	}
	return t.UTC().Format(time.RFC3339)
}

// contextLine names the rule, the event and where the record was read, in small print.
func contextLine(f detect.Finding) string {
	parts := []string{"Rule " + orDash(code(f.Rule)), "category " + orDash(code(f.Category))}
	if f.EventName != "" {
		parts = append(parts, "call "+code(f.EventName))
	}
	if f.EventID != "" {
		if u := EventURL(f.Region, f.EventID); u != "" {
			// Both parts were checked by EventURL, so neither can break out of the link.
			parts = append(parts, "<"+u+"|event "+f.EventID+" in CloudTrail>")
		} else {
			parts = append(parts, "event "+code(f.EventID))
		}
	}
	if f.Record != nil {
		if pos := f.Record.Pos.String(); pos != "" {
			parts = append(parts, "source "+code(pos))
		}
	}
	return strings.Join(parts, " · ")
}

// fallback is the message's top-level text. Slack parses it as mrkdwn too, so it is escaped
// like the blocks; it holds what a notification preview needs to be read on its own.
func fallback(a alert.Alert, mention string) string {
	f := a.Finding
	var b strings.Builder
	if mention != "" {
		b.WriteString(mention + " ")
	}
	if t := a.Thread; t != nil && t.Group.Total() > 1 {
		fmt.Fprintf(&b, "[%d findings] ", t.Group.Total())
	}
	b.WriteString(strings.ToUpper(f.Severity.String()) + ": " + esc(orDash(f.Title)))
	who := f.Actor.ARN
	if who == "" {
		who = f.Actor.Name
	}
	if who != "" {
		b.WriteString(" by " + esc(who))
	}
	if f.Target != "" {
		b.WriteString(" on " + esc(f.Target))
	}
	if f.Account != "" || f.Region != "" {
		b.WriteString(" (" + esc(orDash(f.Account)) + " " + esc(orDash(f.Region)) + ")")
	}
	b.WriteString(".")
	if f.Why != "" {
		b.WriteString(" " + esc(f.Why))
	}
	r := describeRemedy(a, style{quote: esc, text: esc})
	b.WriteString(" " + r.label)
	if r.body != "" {
		b.WriteString(": " + r.body)
	}
	b.WriteString(".")
	if r.undo != "" {
		b.WriteString(" Undo: " + esc(r.undo))
	}
	return truncate(b.String(), maxTextChars)
}

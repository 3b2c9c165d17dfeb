package render

import (
	"fmt"
	"strings"

	"github.com/iam-watchdog/iam-watchdog/pkg/alert"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
)

// TextOptions shape the text form of an alert.
type TextOptions struct {
	// Color turns ANSI colours on. Turn them on only for a terminal: escape codes make files and
	// CI logs hard to read.
	Color bool
	// Top and Bottom frame the alert; empty means "┌─ " and "└─".
	Top, Bottom string
}

const (
	ansiReset = "\x1b[0m"
	ansiBold  = "\x1b[1m"
	ansiDim   = "\x1b[2m"
)

var severityColor = map[detect.Severity]string{
	detect.Info:     "\x1b[2m",
	detect.Low:      "\x1b[36m",
	detect.Medium:   "\x1b[33m",
	detect.High:     "\x1b[31m",
	detect.Critical: "\x1b[1;41;97m",
}

func (o TextOptions) paint(code, s string) string {
	if !o.Color || code == "" {
		return s
	}
	return code + s + ansiReset
}

// Text lays an alert out for a person at a terminal: one framed block with the same facts as
// the Slack message, ending in a newline. Every value from the event goes through clean: a user
// agent with escape codes in it could otherwise rewrite what the terminal shows.
func Text(a alert.Alert, o TextOptions) string {
	top, bottom := o.Top, o.Bottom
	if top == "" {
		top = "┌─ "
	}
	if bottom == "" {
		bottom = "└─"
	}
	f := a.Finding
	var b strings.Builder
	sev := strings.ToUpper(f.Severity.String())
	b.WriteString(top + o.paint(severityColor[f.Severity], sev) + "  " + o.paint(ansiBold, clean(orDash(f.Title))) + "\n")
	row := func(label, value string) {
		if value == "" {
			return
		}
		if label == "" {
			b.WriteString("│   " + value + "\n")
			return
		}
		b.WriteString("│ " + o.paint(ansiDim, fmt.Sprintf("%-9s", label)) + " " + value + "\n")
	}
	actor := clean(orDash(f.Actor.ARN))
	if f.Actor.ARN == "" && f.Actor.Name != "" {
		actor = clean(f.Actor.Name)
	}
	if f.Actor.Type != "" {
		actor += " (" + clean(f.Actor.Type) + ")"
	}
	if f.Actor.InvokedBy != "" {
		actor += " via " + clean(f.Actor.InvokedBy)
	}
	row("actor", actor)
	if f.Actor.IssuerARN != "" && f.Actor.IssuerARN != f.Actor.ARN {
		row("session", "of "+clean(f.Actor.IssuerARN))
	}
	row("from", joinSet(" · ", clean(f.Actor.SourceIP), clean(f.Actor.UserAgent)))
	row("target", clean(orDash(f.Target)))
	row("account", clean(orDash(f.Account))+" · "+clean(orDash(f.Region)))
	row("time", eventTime(f.EventTime))
	row("why", clean(f.Why))
	r := describeRemedy(a, consoleStyle)
	action := r.label
	if r.body != "" {
		action += ": " + r.body
	}
	row("action", action)
	row("undo", clean(r.undo))
	if t := a.Thread; t != nil {
		row("status", statusText(t, consoleWho))
		if t.Group.Total() > 1 {
			row("burst", groupText(t, clean))
			for _, line := range memberRows(t.Group) {
				row("", line)
			}
		}
		row("buttons", strings.Join(buttonTexts(t, a), " "))
	}
	row("manual", clean(f.Manual))
	event := clean(f.EventID)
	if u := EventURL(f.Region, f.EventID); u != "" {
		event += " " + u
	}
	row("event", event)
	rule := clean(f.Rule)
	if f.Category != "" {
		rule += " (" + clean(f.Category) + ")"
	}
	row("rule", rule)
	if f.Record != nil {
		row("source", clean(f.Record.Pos.String()))
	}
	b.WriteString(bottom + "\n")
	return b.String()
}

// TextUpdate says, in one line for a terminal, what a posted message shows after an update:
// its status, burst and buttons. ts names the message.
func TextUpdate(ts string, a alert.Alert) string {
	var b strings.Builder
	fmt.Fprintf(&b, "  ↻ message %s updated", ts)
	if t := a.Thread; t != nil {
		b.WriteString(" · status: " + statusText(t, consoleWho))
		if t.Group.Total() > 1 {
			b.WriteString(" · " + groupText(t, clean))
		}
		if buttons := buttonTexts(t, a); len(buttons) > 0 {
			b.WriteString(" · buttons " + strings.Join(buttons, " "))
		} else {
			b.WriteString(" · no buttons")
		}
	}
	return b.String() + "\n"
}

// buttonTexts draws the alert's buttons as "[ Revert now ]".
func buttonTexts(t *alert.Thread, a alert.Alert) []string {
	var buttons []string
	for _, v := range t.Verbs(a) {
		buttons = append(buttons, "[ "+VerbLabel(v)+" ]")
	}
	return buttons
}

// joinSet joins the non-empty parts.
func joinSet(sep string, parts ...string) string {
	var set []string
	for _, p := range parts {
		if p != "" {
			set = append(set, p)
		}
	}
	return strings.Join(set, sep)
}

package notify

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
)

// ConsoleOption configures a Console.
type ConsoleOption func(*Console)

// ConsoleColor turns ANSI colours on or off (the default). Turn them on only when the writer is
// a terminal: escape codes make files and CI logs hard to read.
func ConsoleColor(on bool) ConsoleOption {
	return func(c *Console) { c.color = on }
}

// Console writes alerts for a person at a terminal: one framed block per alert with the same
// facts as the Slack message. It stands in for Slack in `watchdog demo` and whenever no Slack
// credentials are configured.
type Console struct {
	mu    sync.Mutex
	w     io.Writer
	color bool
	// top and bottom frame each alert; ConsoleThread draws Slack's messages with its own.
	top, bottom string
}

var _ Sink = (*Console)(nil)

// NewConsole writes to w.
func NewConsole(w io.Writer, opts ...ConsoleOption) *Console {
	c := &Console{w: w, top: "┌─ ", bottom: "└─"}
	for _, o := range opts {
		o(c)
	}
	return c
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

// Notify writes one alert in a single Write, so that alerts from several goroutines do not
// interleave.
func (c *Console) Notify(_ context.Context, a Alert) (Delivery, error) {
	text := c.render(a)
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := io.WriteString(c.w, text); err != nil {
		return Delivery{}, fmt.Errorf("write alert for event %s: %w", a.Finding.EventID, err)
	}
	return Delivery{}, nil
}

func (c *Console) paint(code, s string) string {
	if !c.color || code == "" {
		return s
	}
	return code + s + ansiReset
}

// render lays an alert out. Every value from the event goes through clean: a user agent with
// escape codes in it could otherwise rewrite what the terminal shows.
func (c *Console) render(a Alert) string {
	f := a.Finding
	var b strings.Builder
	sev := strings.ToUpper(f.Severity.String())
	b.WriteString(c.top + c.paint(severityColor[f.Severity], sev) + "  " + c.paint(ansiBold, clean(orDash(f.Title))) + "\n")
	row := func(label, value string) {
		if value == "" {
			return
		}
		b.WriteString("│ " + c.paint(ansiDim, fmt.Sprintf("%-9s", label)) + " " + value + "\n")
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
		if t.Group.Count() > 1 {
			row("burst", groupText(t, clean))
		}
		var buttons []string
		for _, v := range t.buttons(a) {
			buttons = append(buttons, "[ "+VerbLabel(v)+" ]")
		}
		row("buttons", strings.Join(buttons, " "))
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
	b.WriteString(c.bottom + "\n")
	return b.String()
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

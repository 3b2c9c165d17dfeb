package notify

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// ConsoleThread is the terminal's stand-in for a Slack channel with threads: alerts are drawn
// as by Console, an update draws the message's new status and buttons under it, and replies
// are indented beneath, as Slack shows a thread. `watchdog demo` uses it to show one alert's
// life without Slack.
type ConsoleThread struct {
	*Console
	seq int
}

var _ Threads = (*ConsoleThread)(nil)

// NewConsoleThread writes to w.
func NewConsoleThread(w io.Writer, opts ...ConsoleOption) *ConsoleThread {
	c := NewConsole(w, opts...)
	// Rounded corners tell Slack's messages apart from the plain console's alerts.
	c.top, c.bottom = "╭─ ", "╰─"
	return &ConsoleThread{Console: c}
}

// Notify draws the alert and numbers its message, so that updates and replies can name it.
func (c *ConsoleThread) Notify(ctx context.Context, a Alert) (Delivery, error) {
	if _, err := c.Console.Notify(ctx, a); err != nil {
		return Delivery{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	return Delivery{Channel: "terminal", TS: strconv.Itoa(c.seq)}, nil
}

// Update draws what changed in the message: its status, burst and buttons.
func (c *ConsoleThread) Update(_ context.Context, d Delivery, a Alert) error {
	var b strings.Builder
	fmt.Fprintf(&b, "  ↻ message %s updated", d.TS)
	if t := a.Thread; t != nil {
		b.WriteString(" · status: " + statusText(t, consoleWho))
		if t.Group.Count() > 1 {
			b.WriteString(" · " + groupText(t, clean))
		}
		var buttons []string
		for _, v := range t.buttons(a) {
			buttons = append(buttons, "[ "+VerbLabel(v)+" ]")
		}
		if len(buttons) > 0 {
			b.WriteString(" · buttons " + strings.Join(buttons, " "))
		} else {
			b.WriteString(" · no buttons")
		}
	}
	return c.write(b.String() + "\n")
}

// Reply draws a thread reply, indented under its message.
func (c *ConsoleThread) Reply(_ context.Context, d Delivery, f FollowUp) error {
	return c.write(fmt.Sprintf("  ↳ thread of message %s: %s\n", d.TS, f.ConsoleText()))
}

func (c *ConsoleThread) write(s string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, err := io.WriteString(c.w, s)
	return err
}

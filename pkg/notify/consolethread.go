package notify

import (
	"context"
	"fmt"
	"io"
	"strconv"

	"github.com/iam-watchdog/iam-watchdog/pkg/alert"
	"github.com/iam-watchdog/iam-watchdog/pkg/render"
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
	c.text.Top, c.text.Bottom = "╭─ ", "╰─"
	return &ConsoleThread{Console: c}
}

// Notify draws the alert and numbers its message, so that updates and replies can name it.
func (c *ConsoleThread) Notify(ctx context.Context, a alert.Alert) (alert.Delivery, error) {
	if _, err := c.Console.Notify(ctx, a); err != nil {
		return alert.Delivery{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	return alert.Delivery{Channel: "terminal", TS: strconv.Itoa(c.seq)}, nil
}

// Update draws what changed in the message: its status, burst and buttons.
func (c *ConsoleThread) Update(_ context.Context, d alert.Delivery, a alert.Alert) error {
	return c.write(render.TextUpdate(d.TS, a))
}

// Reply draws a thread reply, indented under its message.
func (c *ConsoleThread) Reply(_ context.Context, d alert.Delivery, f render.FollowUp) error {
	return c.write(fmt.Sprintf("  ↳ thread of message %s: %s\n", d.TS, f.ConsoleText()))
}

func (c *ConsoleThread) write(s string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, err := io.WriteString(c.w, s)
	return err
}

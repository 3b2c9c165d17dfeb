package notify

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/iam-watchdog/iam-watchdog/pkg/alert"
	"github.com/iam-watchdog/iam-watchdog/pkg/render"
)

// ConsoleOption configures a Console.
type ConsoleOption func(*Console)

// ConsoleColor turns ANSI colours on or off (the default). Turn them on only when the writer is
// a terminal: escape codes make files and CI logs hard to read.
func ConsoleColor(on bool) ConsoleOption {
	return func(c *Console) { c.text.Color = on }
}

// Console writes alerts for a person at a terminal: one framed block per alert with the same
// facts as the Slack message (render.Text). It stands in for Slack in `watchdog demo` and
// whenever no Slack credentials are configured.
type Console struct {
	mu   sync.Mutex
	w    io.Writer
	text render.TextOptions
}

var _ Sink = (*Console)(nil)

// NewConsole writes to w.
func NewConsole(w io.Writer, opts ...ConsoleOption) *Console {
	c := &Console{w: w}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Notify writes one alert in a single Write, so that alerts from several goroutines do not
// interleave.
func (c *Console) Notify(_ context.Context, a alert.Alert) (alert.Delivery, error) {
	text := render.Text(a, c.text)
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := io.WriteString(c.w, text); err != nil {
		return alert.Delivery{}, fmt.Errorf("write alert for event %s: %w", a.Finding.EventID, err)
	}
	return alert.Delivery{}, nil
}

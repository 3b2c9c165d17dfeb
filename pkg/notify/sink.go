// Package notify delivers alerts: to Slack (with a bot token, whose messages can be updated and
// replied to later, or an incoming webhook), to a terminal, or as JSON Lines. What a message
// says is pkg/render's; what the Slack credentials are is pkg/slacksecret's.
package notify

import (
	"context"

	"github.com/iam-watchdog/iam-watchdog/pkg/alert"
	"github.com/iam-watchdog/iam-watchdog/pkg/render"
)

// Sink delivers alerts. Notify must be safe to call from several goroutines.
type Sink interface {
	Notify(ctx context.Context, a alert.Alert) (alert.Delivery, error)
}

// Threads is a Sink whose messages can be changed and replied to after they are posted: the
// Slack bot, and the demo's terminal stand-in. Flood control and the buttons need one.
type Threads interface {
	Sink
	// Update renders a again in the message d names (chat.update); its thread is kept.
	Update(ctx context.Context, d alert.Delivery, a alert.Alert) error
	// Reply posts one line in the message's thread.
	Reply(ctx context.Context, d alert.Delivery, f render.FollowUp) error
}

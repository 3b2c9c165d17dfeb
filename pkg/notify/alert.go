// Package notify renders findings as alerts and delivers them: Slack (bot token or incoming
// webhook), a readable console form, and JSON Lines.
package notify

import (
	"context"

	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/remediate"
)

// Alert is one finding with what remediation did or would do about it.
type Alert struct {
	Finding detect.Finding
	// Remediation is nil when the finding's rule has no remediation action.
	Remediation *remediate.Outcome
	// Thread is the alert's life in Slack: status, burst and buttons. Nil renders the alert
	// alone, without buttons.
	Thread *Thread `json:"-"`
}

// Delivery identifies a delivered message, for later threads and updates. Both fields are
// empty for sinks without message identity (console, JSON Lines, webhooks).
type Delivery struct {
	Channel string
	TS      string
}

// Sink delivers alerts. Notify must be safe to call from several goroutines.
type Sink interface {
	Notify(ctx context.Context, a Alert) (Delivery, error)
}

package lambdaenv

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/iam-watchdog/iam-watchdog/pkg/notify"
)

// ScheduledSink is what the scheduled function posts through: its digests (notify.DigestSink,
// the audit's) and other messages (notify.Poster, the findings digest). The Slack bot, the
// webhook and the console are each.
type ScheduledSink interface {
	notify.DigestSink
	notify.Poster
}

// ScheduledSink builds the scheduled function's sink on first use, as AlertSink builds the
// alerts' (the Slack bot or webhook the secret allows, or the function's log without
// SLACK_SECRET_ARN), reading the secret once per cold start; a failure is tried again on the
// next use. Every job of the tick posts through it.
func (e Env) ScheduledSink(awsCfg aws.Config, log *slog.Logger) func(ctx context.Context) (ScheduledSink, error) {
	build := e.AlertSink(awsCfg, log)
	var mu sync.Mutex
	var sink ScheduledSink
	return func(ctx context.Context) (ScheduledSink, error) {
		mu.Lock()
		defer mu.Unlock()
		if sink != nil {
			return sink, nil
		}
		s, err := build(ctx)
		if err != nil {
			return nil, err
		}
		ss, ok := s.(ScheduledSink)
		if !ok {
			return nil, fmt.Errorf("the alert sink %T cannot post digests", s)
		}
		sink = ss
		return sink, nil
	}
}

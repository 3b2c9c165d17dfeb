package lambdaenv

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/iam-watchdog/iam-watchdog/pkg/notify"
)

// DigestSink builds the scheduled function's digest sink on first use, as AlertSink builds the
// alerts' (the Slack bot or webhook the secret allows, or the function's log without
// SLACK_SECRET_ARN), reading the secret once per cold start; a failure is tried again on the
// next use. Every periodic digest of the tick posts through it.
func (e Env) DigestSink(awsCfg aws.Config, log *slog.Logger) func(ctx context.Context) (notify.DigestSink, error) {
	build := e.AlertSink(awsCfg, log)
	var mu sync.Mutex
	var sink notify.DigestSink
	return func(ctx context.Context) (notify.DigestSink, error) {
		mu.Lock()
		defer mu.Unlock()
		if sink != nil {
			return sink, nil
		}
		s, err := build(ctx)
		if err != nil {
			return nil, err
		}
		ds, ok := s.(notify.DigestSink)
		if !ok {
			return nil, fmt.Errorf("the alert sink %T cannot post digests", s)
		}
		sink = ds
		return sink, nil
	}
}

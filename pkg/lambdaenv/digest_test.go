package lambdaenv

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/iam-watchdog/iam-watchdog/pkg/notify"
)

// TestDigestSink: without a Slack secret the digests go to the function's log (the console
// sink), built once; a secret that cannot be read is the sink's error, tried again next time.
func TestScheduledSink(t *testing.T) {
	sink := Env{}.ScheduledSink(aws.Config{}, slog.New(slog.DiscardHandler))
	first, err := sink(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := first.(*notify.Console); !ok {
		t.Errorf("sink %T, want the console (the function's log)", first)
	}
	if again, _ := sink(t.Context()); again != first {
		t.Error("the sink was built twice")
	}
	broken := Env{SlackSecretARN: "arn:aws:secretsmanager:us-east-1:123456789012:secret:gone"}.ScheduledSink(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String("http://127.0.0.1:1")}, slog.New(slog.DiscardHandler))
	for range 2 {
		if _, err := broken(t.Context()); err == nil || !strings.Contains(err.Error(), "SLACK_SECRET_ARN") {
			t.Errorf("unreadable secret: %v, want an error naming SLACK_SECRET_ARN", err)
		}
	}
}

package slackaction_test

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/iam-watchdog/iam-watchdog/pkg/slackaction"
)

// TestNewFunctionNeedsTheStateKey: the buttons act on what the state table holds, so the
// function does not start without STATE_KEY_ARN, nor with a key that is not a KMS key ARN; the
// error names the variable. No AWS call is made to find out.
func TestNewFunctionNeedsTheStateKey(t *testing.T) {
	base := map[string]string{
		"SLACK_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:iam-watchdog/slack-AbCdEf",
		"STATE_TABLE":      "iam-watchdog-state",
		"SLACK_APPROVERS":  approver,
	}
	for _, tt := range []struct {
		name, key, wantErr string
	}{
		{"no key", "", "STATE_KEY_ARN"},
		{"an alias", "arn:aws:kms:us-east-1:123456789012:alias/state", "STATE_KEY_ARN"},
		{"the stack's key", "arn:aws:kms:us-east-1:123456789012:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			vars := map[string]string{"STATE_KEY_ARN": tt.key}
			for k, v := range base {
				vars[k] = v
			}
			_, err := slackaction.NewFunction(slackaction.EnvFrom(func(k string) string { return vars[k] }), aws.Config{Region: "us-east-1"}, slog.New(slog.DiscardHandler))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("NewFunction: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("NewFunction = %v; want an error naming %s", err, tt.wantErr)
			}
		})
	}
}

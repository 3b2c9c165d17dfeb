package lambdaenv_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
)

const stateKeyARN = "arn:aws:kms:us-east-1:123456789012:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"

// TestCodec: the state table may hold only authenticated records, so STATE_TABLE without
// STATE_KEY_ARN fails at start, naming both; a key that is not a KMS key ARN fails naming it;
// without a table there is nothing to authenticate.
func TestCodec(t *testing.T) {
	awsCfg := aws.Config{Region: "us-east-1"}
	for _, tt := range []struct {
		name      string
		vars      map[string]string
		wantKey   string
		wantError []string
	}{
		{"table and key", map[string]string{"STATE_TABLE": "t", "STATE_KEY_ARN": stateKeyARN}, stateKeyARN, nil},
		{"table without key", map[string]string{"STATE_TABLE": "t"}, "", []string{"STATE_TABLE", "STATE_KEY_ARN", "unauthenticated"}},
		{"key an alias", map[string]string{"STATE_TABLE": "t", "STATE_KEY_ARN": "arn:aws:kms:us-east-1:123456789012:alias/iam-watchdog"}, "", []string{"STATE_KEY_ARN", "alias/iam-watchdog", "not a KMS key ARN"}},
		{"key a bare ID", map[string]string{"STATE_TABLE": "t", "STATE_KEY_ARN": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"}, "", []string{"STATE_KEY_ARN", "not a KMS key ARN"}},
		{"no table", nil, "", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := envFrom(tt.vars).Codec(awsCfg)
			if tt.wantError != nil {
				if err == nil {
					t.Fatalf("Codec built %+v; want an error", c)
				}
				for _, want := range tt.wantError {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q does not say %q", err, want)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.KeyARN != tt.wantKey || c.Authenticated() != (tt.wantKey != "") || (c.Authenticated() && c.KMS == nil) {
				t.Errorf("codec for key %q, KMS %v; want key %q", c.KeyARN, c.KMS, tt.wantKey)
			}
		})
	}
}

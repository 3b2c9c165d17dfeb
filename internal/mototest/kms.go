package mototest

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// CreateStateKey creates a KMS key shaped as template.yaml's StateKey (KeySpec HMAC_256,
// KeyUsage GENERATE_VERIFY_MAC) and returns its ARN, as STATE_KEY_ARN and state_key_arn take
// it. moto serves GenerateMac and VerifyMac but does not enforce key policies.
func CreateStateKey(t testing.TB, c *kms.Client) string {
	t.Helper()
	out, err := c.CreateKey(t.Context(), &kms.CreateKeyInput{
		KeySpec:     types.KeySpecHmac256,
		KeyUsage:    types.KeyUsageTypeGenerateVerifyMac,
		Description: aws.String("iam-watchdog state key (test)"),
	})
	if err != nil {
		t.Fatalf("create state key: %v", err)
	}
	return aws.ToString(out.KeyMetadata.Arn)
}

// MACCounter is a KMS client that counts the MAC calls reaching KMS, for tests of how many a
// record costs (it has the methods alert.MACAPI asks for).
type MACCounter struct {
	Client           *kms.Client
	Generate, Verify atomic.Int64
}

// GenerateMac counts and forwards the call.
func (c *MACCounter) GenerateMac(ctx context.Context, in *kms.GenerateMacInput, optFns ...func(*kms.Options)) (*kms.GenerateMacOutput, error) {
	c.Generate.Add(1)
	return c.Client.GenerateMac(ctx, in, optFns...)
}

// VerifyMac counts and forwards the call.
func (c *MACCounter) VerifyMac(ctx context.Context, in *kms.VerifyMacInput, optFns ...func(*kms.Options)) (*kms.VerifyMacOutput, error) {
	c.Verify.Add(1)
	return c.Client.VerifyMac(ctx, in, optFns...)
}

package main

import (
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/iam-watchdog/iam-watchdog/pkg/alert"
	"github.com/iam-watchdog/iam-watchdog/pkg/policy"
)

// stateCodec is what reads and writes the pieces of authority in the records of the store
// spec names (--state): authenticated with the config's state_key_arn. The shared table
// (dynamodb://…) may hold no unauthenticated record, so it needs the key; the CLI's own file
// may do without (it is its user's own), and with the key its records are authenticated too.
// Reading a record takes kms:VerifyMac only; kms:GenerateMac is called only to write one,
// which `watchdog undo` never does.
func stateCodec(cfg policy.Config, spec string, awsCfg func() (aws.Config, error)) (alert.Codec, error) {
	if cfg.StateKeyARN == "" {
		if strings.HasPrefix(spec, "dynamodb://") {
			return alert.Codec{}, fmt.Errorf("--state %s needs state_key_arn in the config: the shared state table's records are authenticated with the stack's state key (its StateKeyArn output)", spec)
		}
		return alert.Codec{}, nil
	}
	c, err := awsCfg()
	if err != nil {
		return alert.Codec{}, err
	}
	return alert.Codec{KeyARN: cfg.StateKeyARN, KMS: kms.NewFromConfig(c)}, nil
}

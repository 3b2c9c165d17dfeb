package alert

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// valueMACVersion opens the MAC input of a value kept outside alert records, so that no value's
// MAC can ever pass for a record's, or the other way round.
const valueMACVersion = "iam-watchdog state value v1"

// valueMACInput is the message a value's MAC is made over: the version, then the SHA-256 of the
// state key it is stored at, of its kind and of its bytes, one line each. The key and kind bind
// the value to its item, so that one copied to another item, or read as another kind, fails.
func valueMACInput(key, kind string, data []byte) []byte {
	var b bytes.Buffer
	b.WriteString(valueMACVersion + "\n")
	for _, f := range []struct {
		name string
		v    []byte
	}{{"key", []byte(key)}, {"kind", []byte(kind)}, {"data", data}} {
		sum := sha256.Sum256(f.v)
		b.WriteString(f.name + " " + hex.EncodeToString(sum[:]) + "\n")
	}
	return b.Bytes()
}

// SignValue makes the MAC of a value the state table keeps outside alert records (the audit's
// snapshots and results, pkg/auditstore) at key: with the state key, as Seal makes a record's.
// The plain Codec returns "" and no error: only the CLI's own state file holds such values.
func (c Codec) SignValue(ctx context.Context, key, kind string, data []byte) (string, error) {
	if !c.Authenticated() {
		return "", nil
	}
	if c.KMS == nil {
		return "", fmt.Errorf("%s %s: the state key %s is configured but no KMS client is", kind, key, c.KeyARN)
	}
	out, err := c.KMS.GenerateMac(ctx, &kms.GenerateMacInput{KeyId: aws.String(c.KeyARN), MacAlgorithm: macAlgorithm, Message: valueMACInput(key, kind, data)})
	if err != nil {
		return "", fmt.Errorf("%s %s: make its MAC with the state key %s (kms:GenerateMac): %w", kind, key, c.KeyARN, err)
	}
	if len(out.Mac) == 0 {
		return "", fmt.Errorf("%s %s: kms:GenerateMac with the state key %s returned no MAC", kind, key, c.KeyARN)
	}
	return base64.StdEncoding.EncodeToString(out.Mac), nil
}

// CheckValue verifies the MAC SignValue made of data at key, and refuses, with an
// *UnauthenticatedError, a value without one or whose MAC does not match. The plain Codec
// checks nothing.
func (c Codec) CheckValue(ctx context.Context, key, kind string, data []byte, mac string) error {
	if !c.Authenticated() {
		return nil
	}
	refuse := func(reason string) error { return &UnauthenticatedError{Key: key, KeyARN: c.KeyARN, Reason: reason} }
	if mac == "" {
		return refuse("the " + kind + " it holds carries no MAC")
	}
	raw, err := base64.StdEncoding.DecodeString(mac)
	if err != nil || len(raw) == 0 {
		return refuse("its MAC is not base64")
	}
	if c.KMS == nil {
		return fmt.Errorf("%s %s: the state key %s is configured but no KMS client is", kind, key, c.KeyARN)
	}
	out, err := c.KMS.VerifyMac(ctx, &kms.VerifyMacInput{KeyId: aws.String(c.KeyARN), MacAlgorithm: macAlgorithm, Message: valueMACInput(key, kind, data), Mac: raw})
	var invalid *types.KMSInvalidMacException
	switch {
	case errors.As(err, &invalid):
		return refuse("the MAC of the " + kind + " it holds does not match: it was changed, or moved from another item, outside the watchdog")
	case err != nil:
		return fmt.Errorf("%s %s: check its MAC with the state key %s (kms:VerifyMac): %w", kind, key, c.KeyARN, err)
	case !out.MacValid:
		return refuse("kms:VerifyMac did not confirm the MAC of the " + kind + " it holds")
	}
	return nil
}

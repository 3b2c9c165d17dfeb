package alert

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// MACAPI is the part of KMS the Codec uses: an HMAC key makes and checks the MACs of the
// records. Sealing calls GenerateMac; opening calls only VerifyMac, so that those who may only
// verify (`watchdog undo`) can read every record and forge none.
type MACAPI interface {
	GenerateMac(ctx context.Context, in *kms.GenerateMacInput, optFns ...func(*kms.Options)) (*kms.GenerateMacOutput, error)
	VerifyMac(ctx context.Context, in *kms.VerifyMacInput, optFns ...func(*kms.Options)) (*kms.VerifyMacOutput, error)
}

var _ MACAPI = (*kms.Client)(nil)

// macAlgorithm is the one algorithm the stack's key (KeySpec HMAC_256) supports.
const macAlgorithm = types.MacAlgorithmSpecHmacSha256

// macVersion opens every MAC input, so that a future format can never be confused with this one.
const macVersion = "iam-watchdog state record v1"

// UnauthenticatedError refuses a record that does not carry the MAC the state key would give
// its key and pieces: it was changed, or put together from other records, outside the
// watchdog, or written without the key. Nothing in it is to be acted on. A retry reads the same
// record, so it cannot help.
type UnauthenticatedError struct {
	Key    string // the record's state key
	KeyARN string // the state key (STATE_KEY_ARN, state_key_arn)
	Reason string
}

func (e *UnauthenticatedError) Error() string {
	return fmt.Sprintf("state record %s refused: %s (checked with the state key %s); nothing in it is acted on", e.Key, e.Reason, e.KeyARN)
}

// IsUnauthenticated reports whether err refuses a record that failed its check.
func IsUnauthenticated(err error) bool {
	var u *UnauthenticatedError
	return errors.As(err, &u)
}

// piece is one stored piece, by the name the MAC input gives it.
type piece struct {
	name string
	raw  *json.RawMessage
}

// macPieces are the stored pieces in the order the MAC input lists them.
func (s *sealed) macPieces() []piece {
	return []piece{{"action", &s.Action}, {"undo", &s.Undo}, {"outcome", &s.Outcome}, {"alert", &s.Alert}, {"event", &s.Event}}
}

// empty reports whether the record holds no piece at all: a claim taken, nothing decided yet.
func (s *sealed) empty() bool {
	for _, p := range s.macPieces() {
		if len(*p.raw) > 0 {
			return false
		}
	}
	return true
}

// canonicalize removes insignificant whitespace from every piece, so that the MAC and the
// decoding see the same bytes however the record's JSON was re-encoded around them (a state
// file indented by hand, say). Escapes are kept as they are: bytes that differ in meaning
// never compare equal.
func (s *sealed) canonicalize() error {
	for _, p := range s.macPieces() {
		if len(*p.raw) == 0 {
			continue
		}
		var b bytes.Buffer
		if err := json.Compact(&b, *p.raw); err != nil {
			return fmt.Errorf("stored %s is not JSON: %w", p.name, err)
		}
		*p.raw = b.Bytes()
	}
	return nil
}

// macInput is the message the MAC is made over, one line per field:
//
//	iam-watchdog state record v1
//	key <SHA-256 of the state key, hex>
//	action <SHA-256 of the stored action, hex, or "-" when absent>
//	undo …, outcome …, alert …, event … (the same)
//
// The key binds the record to its place, so that a valid record copied to another key fails;
// every piece is listed, present or not, so that a piece added, removed or taken from another
// record fails. Digests keep the message within GenerateMac's 4,096 bytes whatever the pieces
// hold (KMS MACs a message, not a digest of one: both sides hash the same way).
// Reference: https://docs.aws.amazon.com/kms/latest/APIReference/API_GenerateMac.html
func macInput(key string, s *sealed) []byte {
	var b bytes.Buffer
	b.WriteString(macVersion + "\n")
	line := func(name string, v []byte, present bool) {
		b.WriteString(name + " ")
		if present {
			sum := sha256.Sum256(v)
			b.WriteString(hex.EncodeToString(sum[:]))
		} else {
			b.WriteString("-")
		}
		b.WriteString("\n")
	}
	line("key", []byte(key), true)
	for _, p := range s.macPieces() {
		line(p.name, *p.raw, len(*p.raw) > 0)
	}
	return b.Bytes()
}

// sign makes the MAC of s at key with the state key.
func (c Codec) sign(ctx context.Context, key string, s *sealed) error {
	if c.KMS == nil {
		return fmt.Errorf("record %s: the state key %s is configured but no KMS client is", key, c.KeyARN)
	}
	if err := s.canonicalize(); err != nil {
		return fmt.Errorf("record %s: %w", key, err)
	}
	out, err := c.KMS.GenerateMac(ctx, &kms.GenerateMacInput{
		KeyId: aws.String(c.KeyARN), MacAlgorithm: macAlgorithm, Message: macInput(key, s),
	})
	if err != nil {
		return fmt.Errorf("record %s: make its MAC with the state key %s (kms:GenerateMac): %w", key, c.KeyARN, err)
	}
	if len(out.Mac) == 0 {
		return fmt.Errorf("record %s: kms:GenerateMac with the state key %s returned no MAC", key, c.KeyARN)
	}
	s.MAC = base64.StdEncoding.EncodeToString(out.Mac)
	return nil
}

// check verifies the MAC of the record stored at key, and leaves s's pieces in the canonical
// form the MAC covers, which is what Open then decodes. A record without a MAC passes only
// when it holds no piece: a claim taken, nothing decided, nothing to act on.
func (c Codec) check(ctx context.Context, key string, s *sealed) error {
	refuse := func(reason string) error { return &UnauthenticatedError{Key: key, KeyARN: c.KeyARN, Reason: reason} }
	if s.MAC == "" {
		if s.empty() {
			return nil
		}
		return refuse("it carries no MAC, and every record that holds an action, plan, outcome or alert must")
	}
	mac, err := base64.StdEncoding.DecodeString(s.MAC)
	if err != nil || len(mac) == 0 {
		return refuse("its MAC is not base64")
	}
	if err := s.canonicalize(); err != nil {
		return refuse(err.Error())
	}
	if c.KMS == nil {
		return fmt.Errorf("record %s: the state key %s is configured but no KMS client is", key, c.KeyARN)
	}
	out, err := c.KMS.VerifyMac(ctx, &kms.VerifyMacInput{
		KeyId: aws.String(c.KeyARN), MacAlgorithm: macAlgorithm, Message: macInput(key, s), Mac: mac,
	})
	// VerifyMac answers a MAC that does not match with KMSInvalidMacException, never with
	// MacValid false. https://docs.aws.amazon.com/kms/latest/APIReference/API_VerifyMac.html
	var invalid *types.KMSInvalidMacException
	switch {
	case errors.As(err, &invalid):
		return refuse("its MAC does not match its key and pieces: it was changed, or put together from other records, outside the watchdog")
	case err != nil:
		return fmt.Errorf("record %s: check its MAC with the state key %s (kms:VerifyMac): %w", key, c.KeyARN, err)
	case !out.MacValid:
		return refuse("kms:VerifyMac did not confirm its MAC")
	}
	return nil
}

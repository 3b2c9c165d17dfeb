// Package slackaction serves the buttons on iam-watchdog's Slack alerts: Revert now, Undo
// revert and Acknowledge. Slack posts each click to the slack-actions function's URL; the
// request is trusted only once its signature checks out, the clicker only if the config lists
// them as an approver, and the button's value only as a key to look up: what to do, and to
// what, comes from the state table, never from the request.
package slackaction

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// MaxSkew is how far a request's timestamp may be from now. Slack's own guidance is five
// minutes: an older request with a valid signature is a replay.
const MaxSkew = 5 * time.Minute

// ErrUnauthorized is wrapped by every verification failure.
var ErrUnauthorized = errors.New("request is not from Slack")

// Verify checks Slack's v0 signature of a request: X-Slack-Signature must be "v0=" and the hex
// HMAC-SHA256, keyed with the app's signing secret, of "v0:" + X-Slack-Request-Timestamp +
// ":" + the raw body, compared in constant time; and the timestamp must be within MaxSkew of
// now. (slack-go's SecretsVerifier does the same against the wall clock; this one takes the
// clock as an argument so that the window is tested.)
func Verify(h http.Header, body []byte, signingSecret string, now time.Time) error {
	if signingSecret == "" {
		return fmt.Errorf("%w: no signing secret is configured", ErrUnauthorized)
	}
	stamp, sig := h.Get("X-Slack-Request-Timestamp"), h.Get("X-Slack-Signature")
	if stamp == "" || sig == "" {
		return fmt.Errorf("%w: signature headers missing", ErrUnauthorized)
	}
	secs, err := strconv.ParseInt(stamp, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: timestamp is not a number", ErrUnauthorized)
	}
	if skew := now.Sub(time.Unix(secs, 0)); skew > MaxSkew || skew < -MaxSkew {
		return fmt.Errorf("%w: timestamp is %s away from now (more than %s)", ErrUnauthorized, skew.Round(time.Second), MaxSkew)
	}
	hexSig, ok := strings.CutPrefix(sig, "v0=")
	if !ok {
		return fmt.Errorf("%w: unknown signature version", ErrUnauthorized)
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return fmt.Errorf("%w: signature is not hex", ErrUnauthorized)
	}
	if !hmac.Equal(got, Sign(signingSecret, stamp, body)) {
		return fmt.Errorf("%w: signature does not match", ErrUnauthorized)
	}
	return nil
}

// Sign is the v0 signature of a request, raw: what X-Slack-Signature carries after "v0=", in
// hex. Tests and local tools sign requests with it.
func Sign(signingSecret, timestamp string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(signingSecret))
	m.Write([]byte("v0:" + timestamp + ":"))
	m.Write(body)
	return m.Sum(nil)
}

// SignatureHeader is the X-Slack-Signature value for a request.
func SignatureHeader(signingSecret, timestamp string, body []byte) string {
	return "v0=" + hex.EncodeToString(Sign(signingSecret, timestamp, body))
}

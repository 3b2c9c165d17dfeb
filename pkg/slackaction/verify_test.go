package slackaction

import (
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"
)

func TestVerify(t *testing.T) {
	const secret = "8f742231b10e8888abcd99yyyzzz85a5"
	now := time.Unix(1_714_640_000, 0)
	body := []byte("payload=%7B%22type%22%3A%22block_actions%22%7D")
	stamp := strconv.FormatInt(now.Unix(), 10)
	signed := func(ts string, b []byte) http.Header {
		h := http.Header{}
		h.Set("X-Slack-Request-Timestamp", ts)
		h.Set("X-Slack-Signature", SignatureHeader(secret, ts, b))
		return h
	}
	// Slack's documented example: https://docs.slack.dev/authentication/verifying-requests-from-slack/
	slackBody := []byte("token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c")
	slackHeader := http.Header{}
	slackHeader.Set("X-Slack-Request-Timestamp", "1531420618")
	slackHeader.Set("X-Slack-Signature", "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503")

	tests := []struct {
		name   string
		header http.Header
		body   []byte
		secret string
		now    time.Time
		ok     bool
	}{
		{"signed", signed(stamp, body), body, secret, now, true},
		{"slack's example", slackHeader, slackBody, secret, time.Unix(1531420618, 0).Add(time.Minute), true},
		{"four minutes old", signed(stamp, body), body, secret, now.Add(4 * time.Minute), true},
		{"six minutes old", signed(stamp, body), body, secret, now.Add(6 * time.Minute), false},
		{"six minutes ahead", signed(stamp, body), body, secret, now.Add(-6 * time.Minute), false},
		{"body changed", signed(stamp, body), append([]byte("x"), body...), secret, now, false},
		{"other secret", signed(stamp, body), body, "not-the-secret", now, false},
		{"no secret configured", signed(stamp, body), body, "", now, false},
		{"no signature", http.Header{"X-Slack-Request-Timestamp": {stamp}}, body, secret, now, false},
		{"no timestamp", http.Header{"X-Slack-Signature": {SignatureHeader(secret, stamp, body)}}, body, secret, now, false},
		{"timestamp not a number", signed("soon", body), body, secret, now, false},
		{"signature not hex", http.Header{"X-Slack-Request-Timestamp": {stamp}, "X-Slack-Signature": {"v0=zz"}}, body, secret, now, false},
		{"other version", http.Header{"X-Slack-Request-Timestamp": {stamp}, "X-Slack-Signature": {"v1=" + SignatureHeader(secret, stamp, body)[3:]}}, body, secret, now, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Verify(tc.header, tc.body, tc.secret, tc.now)
			if tc.ok != (err == nil) {
				t.Fatalf("Verify: %v, want ok %t", err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrUnauthorized) {
				t.Errorf("error %v does not wrap ErrUnauthorized", err)
			}
		})
	}
}

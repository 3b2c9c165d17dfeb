// Package slacksecret reads the watchdog's Slack credentials (bot token, incoming webhook URL,
// signing secret) from one Secrets Manager secret, and keeps them from being printed, logged or
// encoded by mistake.
package slacksecret

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// SecretsAPI is the part of the Secrets Manager client LoadSecret calls.
type SecretsAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

var _ SecretsAPI = (*secretsmanager.Client)(nil)

// Secret holds the Slack credentials. Its String, GoString, LogValue and MarshalJSON methods all
// redact, so that printing, logging or encoding one by mistake shows only which parts are set.
type Secret struct {
	// Token is a bot token (xoxb-…).
	Token string
	// WebhookURL is an incoming webhook's URL.
	WebhookURL string
	// SigningSecret verifies requests Slack sends to the watchdog (approve buttons).
	SigningSecret string
}

// String says which parts are set.
func (s Secret) String() string {
	return fmt.Sprintf("Secret{token:%s webhook_url:%s signing_secret:%s}",
		redact(s.Token), redact(s.WebhookURL), redact(s.SigningSecret))
}

// GoString redacts %#v too, which would otherwise print every field.
func (s Secret) GoString() string { return s.String() }

// LogValue says which parts are set.
func (s Secret) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("token", redact(s.Token)),
		slog.String("webhook_url", redact(s.WebhookURL)),
		slog.String("signing_secret", redact(s.SigningSecret)),
	)
}

// MarshalJSON says which parts are set; a Secret is read from Secrets Manager, never written.
func (s Secret) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{
		"token": redact(s.Token), "webhook_url": redact(s.WebhookURL), "signing_secret": redact(s.SigningSecret),
	})
}

// secretKeys are the keys LoadSecret reads, in the order errors list them.
var secretKeys = []string{"token", "webhook_url", "signing_secret"}

// LoadSecret reads the Slack credentials from the Secrets Manager secret secretARN (an ARN or a
// name). The secret's value is a JSON object with the string keys "token", "webhook_url" and
// "signing_secret", each optional, but one of token and webhook_url must be set. Other keys are
// ignored, so one secret can serve more than one tool.
//
// Errors name the secret and what is wrong with it, never any part of its value.
func LoadSecret(ctx context.Context, api SecretsAPI, secretARN string) (Secret, error) {
	out, err := api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &secretARN})
	if err != nil {
		return Secret{}, fmt.Errorf("read Slack secret %s: %w", secretARN, err)
	}
	var raw []byte
	switch {
	case out.SecretString != nil:
		raw = []byte(*out.SecretString)
	case out.SecretBinary != nil:
		raw = out.SecretBinary
	default:
		return Secret{}, fmt.Errorf("read Slack secret %s: it has no value", secretARN)
	}
	s, err := parseSecret(raw)
	if err != nil {
		return Secret{}, fmt.Errorf("parse Slack secret %s: %w", secretARN, err)
	}
	return s, nil
}

// parseSecret reads the secret's JSON. Decoding errors from encoding/json are not passed on:
// they quote the offending input ("invalid character 'x'"), which here is the secret.
func parseSecret(raw []byte) (Secret, error) {
	const want = `want a JSON object such as {"token": "xoxb-…"} or {"webhook_url": "https://hooks.slack.com/…"}`
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		hint := ""
		if trimmed := strings.TrimSpace(string(raw)); strings.HasPrefix(trimmed, "xox") || strings.HasPrefix(trimmed, "https://") {
			hint = " (it looks like a bare token or URL: store it under its key instead)"
		}
		return Secret{}, fmt.Errorf("value is not a JSON object%s; %s", hint, want)
	}
	values := make(map[string]string, len(secretKeys))
	for _, key := range secretKeys {
		v, ok := fields[key]
		if !ok || string(v) == "null" {
			continue
		}
		var str string
		if err := json.Unmarshal(v, &str); err != nil {
			return Secret{}, fmt.Errorf("key %q must be a string", key)
		}
		// A value pasted into the console often brings a newline with it.
		values[key] = strings.TrimSpace(str)
	}
	s := Secret{Token: values["token"], WebhookURL: values["webhook_url"], SigningSecret: values["signing_secret"]}
	if s.Token == "" && s.WebhookURL == "" {
		return Secret{}, fmt.Errorf(`neither "token" nor "webhook_url" is set (keys present: %s); %s`, keyList(fields), want)
	}
	return s, nil
}

// safeKey matches key names that can be shown in an error: short words such as "Token" or
// "webhookUrl", which is what a mistyped key looks like. Anything else, digits and dashes
// included, may be a token pasted in the wrong place ({"xoxb-…": ""}), so it is counted, not
// shown.
var safeKey = regexp.MustCompile(`^[A-Za-z][A-Za-z_]{0,29}$`)

func keyList(fields map[string]json.RawMessage) string {
	var shown []string
	hidden := 0
	for k := range fields {
		if safeKey.MatchString(k) {
			shown = append(shown, fmt.Sprintf("%q", k))
		} else {
			hidden++
		}
	}
	slices.Sort(shown)
	if hidden > 0 {
		shown = append(shown, fmt.Sprintf("%d not shown", hidden))
	}
	if len(shown) == 0 {
		return "none"
	}
	return strings.Join(shown, ", ")
}

// redact says whether a secret is set without showing any of it.
func redact(secret string) string {
	if secret == "" {
		return "unset"
	}
	return "REDACTED"
}

package lambdaenv

import (
	"strings"
	"testing"

	"github.com/iam-watchdog/iam-watchdog/pkg/notify"
	"github.com/iam-watchdog/iam-watchdog/pkg/slacksecret"
)

const (
	tokenVal  = "xoxb-111-222-SuperSecretTokenValue"
	hookVal   = "https://hooks.slack.com/services/T000/B000/SuperSecretHookPath"
	signerVal = "SuperSecretSigningValue"
)

func assertNoSecret(t *testing.T, s string) {
	t.Helper()
	for _, v := range []string{tokenVal, hookVal, signerVal, "SuperSecret", "111-222"} {
		if strings.Contains(s, v) {
			t.Errorf("%q shows a secret value", s)
		}
	}
}

func TestFromSecret(t *testing.T) {
	tests := []struct {
		name    string
		secret  slacksecret.Secret
		channel string
		want    string // "bot", "webhook", or an error substring
	}{
		{"token and channel", slacksecret.Secret{Token: tokenVal}, "C1", "bot"},
		{"token, channel and webhook prefer the bot", slacksecret.Secret{Token: tokenVal, WebhookURL: hookVal}, "C1", "bot"},
		{"webhook", slacksecret.Secret{WebhookURL: hookVal}, "", "webhook"},
		{"webhook with a channel", slacksecret.Secret{WebhookURL: hookVal}, "C1", "webhook"},
		{"token and webhook without channel", slacksecret.Secret{Token: tokenVal, WebhookURL: hookVal}, "", "webhook"},
		{"token without channel", slacksecret.Secret{Token: tokenVal}, "", "SLACK_CHANNEL"},
		{"nothing", slacksecret.Secret{SigningSecret: signerVal}, "C1", "neither"},
		{"bad webhook URL", slacksecret.Secret{WebhookURL: "hooks.slack.com/" + tokenVal}, "", "not an absolute"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink, err := FromSecret(tt.secret, tt.channel, "", nil)
			switch tt.want {
			case "bot":
				if _, ok := sink.(*notify.Bot); !ok || err != nil {
					t.Errorf("got %T, %v; want a *Bot", sink, err)
				}
			case "webhook":
				if _, ok := sink.(*notify.Webhook); !ok || err != nil {
					t.Errorf("got %T, %v; want a *Webhook", sink, err)
				}
			default:
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("err = %v, want one saying %q", err, tt.want)
				}
				assertNoSecret(t, err.Error())
			}
		})
	}
}

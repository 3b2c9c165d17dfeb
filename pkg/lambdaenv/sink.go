package lambdaenv

import (
	"errors"
	"net/http"

	"github.com/iam-watchdog/iam-watchdog/pkg/notify"
	"github.com/iam-watchdog/iam-watchdog/pkg/slacksecret"
)

// FromSecret picks the Slack sink the credentials allow: a Bot when there is a token and a
// channel, else a Webhook when there is a webhook URL. A token without a channel and without a
// webhook URL is an error, since the bot would not know where to post. apiURL and client may be
// empty and nil for Slack's own API and a client with DefaultTimeout.
func FromSecret(secret slacksecret.Secret, channel, apiURL string, client *http.Client) (notify.Sink, error) {
	switch {
	case secret.Token != "" && channel != "":
		return notify.NewBot(notify.BotConfig{Token: secret.Token, Channel: channel, APIURL: apiURL, HTTPClient: client})
	case secret.WebhookURL != "":
		return notify.NewWebhook(notify.WebhookConfig{URL: secret.WebhookURL, HTTPClient: client})
	case secret.Token != "":
		return nil, errors.New("the Slack secret has a bot token but SLACK_CHANNEL is empty: set SLACK_CHANNEL to the channel ID the bot posts to, or put a webhook_url in the secret")
	default:
		return nil, errors.New(`the Slack secret has neither "token" nor "webhook_url"`)
	}
}

package notify

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/iam-watchdog/iam-watchdog/internal/slackserver"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/render"
)

var testDigest = render.Digest{
	Title:   "IAM audit of account 123456789012",
	Summary: "1 newly failing, 0 fixed, 3 still failing",
	Sections: []render.DigestSection{{Heading: "Newly failing", Items: []render.DigestItem{
		{Severity: detect.High, Title: "Every user with a console password has MFA", Resource: "arn:aws:iam::123456789012:user/alice", Detail: "console password, no MFA"},
	}}},
	Footer: "audited 2026-03-01 06:00 UTC",
}

// TestDigestToSlack posts a digest through the bot and the webhook to the local Slack, each as
// one message with the rendered blocks and fallback, the bot after one 500 (the alerts' retries).
func TestDigestToSlack(t *testing.T) {
	srv := slackserver.Start(t)
	want := render.NewDigestMessage(testDigest)
	wantBlocks, err := json.Marshal(want.Blocks)
	if err != nil {
		t.Fatal(err)
	}
	bot, err := NewBot(BotConfig{Token: "xoxb-test", Channel: "C0SECURITY", APIURL: srv.APIURL()})
	if err != nil {
		t.Fatal(err)
	}
	srv.FailNext(slackserver.Failure{Status: 500})
	if err := bot.PostDigest(t.Context(), testDigest); err != nil {
		t.Fatal(err)
	}
	hook, err := NewWebhook(WebhookConfig{URL: srv.WebhookURL()})
	if err != nil {
		t.Fatal(err)
	}
	if err := hook.PostDigest(t.Context(), testDigest); err != nil {
		t.Fatal(err)
	}
	msgs := srv.Messages()
	if len(msgs) != 2 || msgs[0].Method != "chat.postMessage" || msgs[0].Channel != "C0SECURITY" || msgs[1].Method != "webhook" {
		t.Fatalf("messages %+v, want one post to C0SECURITY and one webhook", msgs)
	}
	for _, m := range msgs {
		if m.Text != want.Text {
			t.Errorf("%s: text %q, want %q", m.Method, m.Text, want.Text)
		}
		var got, exp any
		if json.Unmarshal(m.Blocks, &got) != nil || json.Unmarshal(wantBlocks, &exp) != nil || !jsonEqual(got, exp) {
			t.Errorf("%s: blocks %s, want %s", m.Method, m.Blocks, wantBlocks)
		}
	}
	if srv.Requests() != 3 {
		t.Errorf("%d requests, want 3 (the bot's failed one retried)", srv.Requests())
	}
}

func TestDigestToConsole(t *testing.T) {
	var buf bytes.Buffer
	if err := NewConsole(&buf).PostDigest(t.Context(), testDigest); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"IAM audit of account 123456789012", "Newly failing", "HIGH Every user with a console password has MFA arn:aws:iam::123456789012:user/alice: console password, no MFA"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("console digest lacks %q:\n%s", want, buf.String())
		}
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

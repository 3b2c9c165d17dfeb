package render

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
)

// TestDigestMessage: sections in order, empty ones left out, items worst first as given, the
// rest of a long section counted, every string from AWS escaped, and Slack's limits kept.
func TestDigestMessage(t *testing.T) {
	var many []DigestItem
	for i := range MaxDigestItems + 7 {
		many = append(many, DigestItem{Severity: detect.Medium, Title: "Active access keys are rotated", Resource: fmt.Sprintf("arn:aws:iam::123456789012:user/u%02d", i), Detail: strings.Repeat("x", 300)})
	}
	d := Digest{
		Title:   "IAM audit of account 123456789012",
		Summary: "23 newly failing, 1 fixed",
		Sections: []DigestSection{
			{Heading: "Newly failing", Items: many},
			{Heading: "Fixed", Items: []DigestItem{{Severity: detect.High, Title: "MFA", Resource: "arn:aws:iam::123456789012:user/<!channel>`x", Detail: "<https://evil|click>"}}},
			{Heading: "Nothing here"},
			{Heading: "Still failing", Note: "4: 1 critical, 3 medium"},
		},
		Footer: "audited at 06:00",
	}
	msg := NewDigestMessage(d)
	var raw strings.Builder
	enc := json.NewEncoder(&raw)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(msg.Blocks); err != nil {
		t.Fatal(err)
	}
	all := raw.String()
	for _, want := range []string{"Newly failing", "…and 7 more", "Fixed", "Still failing", "4: 1 critical, 3 medium", "audited at 06:00", "&lt;!channel&gt;", "&lt;https://evil|click&gt;"} {
		if !strings.Contains(all, want) {
			t.Errorf("blocks lack %q", want)
		}
	}
	for _, bad := range []string{"<!channel>", "<https://evil", "Nothing here"} {
		if strings.Contains(all, bad) {
			t.Errorf("blocks hold %q", bad)
		}
	}
	if strings.Index(all, "Newly failing") > strings.Index(all, "Fixed") || strings.Index(all, "Fixed") > strings.Index(all, "Still failing") {
		t.Error("sections are out of order")
	}
	if len(msg.Blocks) > maxDigestBlocks {
		t.Errorf("%d blocks, more than Slack takes", len(msg.Blocks))
	}
	for _, b := range msg.Blocks {
		if s, ok := b.(*slack.SectionBlock); ok && slackLen(s.Text.Text) > maxTextChars {
			t.Errorf("a section of %d characters", slackLen(s.Text.Text))
		}
	}
	if msg.Text != "IAM audit of account 123456789012: 23 newly failing, 1 fixed" {
		t.Errorf("fallback %q", msg.Text)
	}
	text := DigestText(d)
	if !strings.Contains(text, "…and 7 more") || strings.Contains(text, "Nothing here") || !strings.HasSuffix(text, "└─\n") {
		t.Errorf("text digest:\n%s", text)
	}
}

package render

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/iam-watchdog/iam-watchdog/internal/alerttest"
	"github.com/iam-watchdog/iam-watchdog/pkg/alert"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json from the current output")

// goldenMessage is the JSON a golden file holds: the blocks as Slack receives them, and the
// fallback text.
type goldenMessage struct {
	Blocks []slack.Block `json:"blocks"`
	Text   string        `json:"text"`
}

func TestMessageGolden(t *testing.T) {
	for name, a := range alerttest.All() {
		t.Run(name, func(t *testing.T) {
			msg := NewMessage(a)
			// Written without HTML escaping so that a reviewer reads "&lt;" as Slack gets it,
			// not "\u0026lt;".
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(goldenMessage{Blocks: msg.Blocks, Text: msg.Text}); err != nil {
				t.Fatal(err)
			}
			got := buf.Bytes()
			path := filepath.Join("testdata", name+".golden.json")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./pkg/render/ -run TestMessageGolden -update to create it)", err)
			}
			assertJSONEqual(t, want, got)
		})
	}
}

func assertJSONEqual(t *testing.T, want, got []byte) {
	t.Helper()
	var w, g any
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("want is not JSON: %v", err)
	}
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("got is not JSON: %v", err)
	}
	if !reflect.DeepEqual(w, g) {
		t.Errorf("JSON differs (rerun with -update if the change is intended)\nwant: %s\ngot:  %s", want, got)
	}
}

// texts collects every text a message shows, with the limit Slack puts on it.
func texts(msg Message) (out []struct {
	kind, text string
	limit      int
}) {
	add := func(kind, text string, limit int) {
		out = append(out, struct {
			kind, text string
			limit      int
		}{kind, text, limit})
	}
	for _, b := range msg.Blocks {
		switch b := b.(type) {
		case *slack.HeaderBlock:
			add("header", b.Text.Text, maxHeaderChars)
		case *slack.SectionBlock:
			if b.Text != nil {
				add("section", b.Text.Text, maxTextChars)
			}
			for _, f := range b.Fields {
				add("field", f.Text, maxFieldChars)
			}
		case *slack.ContextBlock:
			for _, e := range b.ContextElements.Elements {
				add("context", e.(*slack.TextBlockObject).Text, maxTextChars)
			}
		}
	}
	add("fallback", msg.Text, maxTextChars)
	return out
}

func TestMessageEscapesAttackerStrings(t *testing.T) {
	msg := NewMessage(alerttest.Malicious())
	all := ""
	for _, tx := range texts(msg) {
		all += tx.text + "\n"
		if strings.Contains(tx.text, "\x1b") || strings.Contains(tx.text, "\u202e") {
			t.Errorf("%s keeps a control character: %q", tx.kind, tx.text)
		}
		if tx.kind == "header" {
			continue // plain_text: shown as written, never parsed
		}
		// The only markup allowed is the watchdog's own link, which the hostile event ID and
		// region must have suppressed.
		if strings.ContainsAny(strings.ReplaceAll(tx.text, "&lt;", ""), "<>") {
			t.Errorf("%s has unescaped markup: %q", tx.kind, tx.text)
		}
		if strings.Contains(tx.text, "\n*Reverted:*") {
			t.Errorf("%s lets a user agent forge a line: %q", tx.kind, tx.text)
		}
	}
	for _, want := range []string{"&lt;!channel&gt;", "&lt;@U0ADMIN&gt;&amp;co", "&amp; trusted"} {
		if !strings.Contains(all, want) {
			t.Errorf("output lacks %q:\n%s", want, all)
		}
	}
	if strings.Contains(all, "evil.example/x") && strings.Contains(all, "console.aws.amazon.com") {
		t.Errorf("link built from a hostile region:\n%s", all)
	}
}

func TestMessageWithinSlackLimits(t *testing.T) {
	long := alerttest.Planned()
	long.Finding.Title = strings.Repeat("Very long title & more ", 20)
	long.Finding.Why = strings.Repeat("<why> ", 1000)
	long.Finding.Manual = strings.Repeat("step 🙂 ", 1000)
	long.Finding.Actor.UserAgent = strings.Repeat("&", 3000)
	cases := alerttest.All()
	cases["long"] = long
	for name, a := range cases {
		t.Run(name, func(t *testing.T) {
			for _, tx := range texts(NewMessage(a)) {
				if n := slackLen(tx.text); n > tx.limit || n == 0 {
					t.Errorf("%s is %d characters, want 1..%d", tx.kind, n, tx.limit)
				}
			}
		})
	}
	t.Run("long is cut with an ellipsis", func(t *testing.T) {
		for _, tx := range texts(NewMessage(long)) {
			if (tx.kind == "header" || tx.kind == "fallback") && !strings.HasSuffix(tx.text, ellipsis) {
				t.Errorf("%s not truncated: %q", tx.kind, tx.text)
			}
		}
	})
}

func TestMessageRemediation(t *testing.T) {
	tests := []struct {
		name   string
		alert  alert.Alert
		want   []string
		absent []string
	}{
		// A planned action's reason restates the action; showing both reads twice.
		{"planned", alerttest.Planned(), []string{"*Dry run:* would deactivate access key `AKIAEXAMPLEKEY000001` of user `bob`"}, []string{"mode is dry-run"}},
		{"done", alerttest.Done(), []string{"*Reverted:* detached policy `arn:aws:iam::aws:policy/AdministratorAccess` from user `carol`", "Undo: `watchdog undo 0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d`"}, nil},
		{"failed", alerttest.Failed(), []string{"*Failed:* could not quarantine user `dave`", "AccessDenied"}, nil},
		{"nil", alerttest.Root(), []string{"*No automatic action:*", "*Manual steps:* No API can undo"}, nil},
		{"skipped", alerttest.Malicious(), []string{"*Skipped:* did not deactivate access key `AKIA'EVIL'`"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var all string
			for _, tx := range texts(NewMessage(tt.alert)) {
				all += tx.text + "\n"
			}
			for _, w := range tt.want {
				if !strings.Contains(all, w) {
					t.Errorf("missing %q in\n%s", w, all)
				}
			}
			for _, w := range tt.absent {
				if strings.Contains(all, w) {
					t.Errorf("unwanted %q in\n%s", w, all)
				}
			}
		})
	}
}

func TestMessageMention(t *testing.T) {
	tests := []struct {
		name     string
		severity detect.Severity
		want     bool
	}{
		{"below threshold", detect.Medium, false},
		{"at threshold", detect.High, true},
		{"above threshold", detect.Critical, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := alerttest.Planned()
			a.Finding.Severity = tt.severity
			msg := NewMessage(a, WithMention(detect.High, "<!here>"))
			if got := strings.HasPrefix(msg.Text, "<!here> "); got != tt.want {
				t.Errorf("fallback mentions = %v, want %v: %q", got, tt.want, msg.Text)
			}
			got := false
			for _, tx := range texts(msg) {
				got = got || (tx.kind == "section" && tx.text == "<!here>")
			}
			if got != tt.want {
				t.Errorf("blocks mention = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestEventURL(t *testing.T) {
	const id = "6f1c4a2e-8d3b-4c5e-9a7f-0b1d2e3f4a5b"
	tests := []struct {
		region, eventID, want string
	}{
		{"us-east-1", id, "https://us-east-1.console.aws.amazon.com/cloudtrailv2/home?region=us-east-1#/events/" + id},
		{"", id, "https://us-east-1.console.aws.amazon.com/cloudtrailv2/home?region=us-east-1#/events/" + id},
		{"ap-southeast-2", id, "https://ap-southeast-2.console.aws.amazon.com/cloudtrailv2/home?region=ap-southeast-2#/events/" + id},
		{"cn-north-1", id, "https://cn-north-1.console.amazonaws.cn/cloudtrailv2/home?region=cn-north-1#/events/" + id},
		{"us-gov-west-1", id, "https://us-gov-west-1.console.amazonaws-us-gov.com/cloudtrailv2/home?region=us-gov-west-1#/events/" + id},
		{"us-east-1", "", ""},
		{"evil.example/x?", id, ""},
		{"us-east-1", "x>|<https://evil.example", ""},
		{"US-EAST-1", id, ""},
	}
	for _, tt := range tests {
		t.Run(tt.region+"/"+tt.eventID, func(t *testing.T) {
			if got := EventURL(tt.region, tt.eventID); got != tt.want {
				t.Errorf("EventURL(%q, %q) = %q, want %q", tt.region, tt.eventID, got, tt.want)
			}
		})
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		limit int
		want  string
	}{
		{"fits", "abc", 3, "abc"},
		{"cut", "abcdef", 4, "abc…"},
		{"never inside an entity", "ab&amp;cd", 5, "ab…"},
		{"whole entity kept", "ab&amp;cd", 8, "ab&amp;…"},
		// 🙂 is two UTF-16 units: counting runes would let it past the limit.
		{"astral runes count double", "🙂🙂🙂", 5, "🙂🙂…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := truncate(tt.in, tt.limit)
			if got != tt.want {
				t.Errorf("truncate(%q, %d) = %q, want %q", tt.in, tt.limit, got, tt.want)
			}
			if slackLen(got) > tt.limit {
				t.Errorf("result is %d long, limit %d", slackLen(got), tt.limit)
			}
		})
	}
}

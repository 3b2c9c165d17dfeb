package render

import (
	"strings"
	"unicode"
	"unicode/utf16"
)

// Slack's limits on text objects, in characters.
// Reference: https://docs.slack.dev/reference/block-kit/blocks/section-block
const (
	maxHeaderChars = 150
	maxTextChars   = 3000
	maxFieldChars  = 2000
)

const ellipsis = "…"

// clean makes a string that may come from an attacker safe to lay out: control characters
// (newlines included) could forge extra lines that look like the watchdog's own ("Reverted: …")
// or, on a terminal, move the cursor and recolour text; bidirectional overrides can make an ARN
// read differently from what it is. Newlines and tabs become spaces, the rest U+FFFD.
func clean(s string) string {
	if strings.IndexFunc(s, unsafeRune) < 0 {
		return s
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\r' || r == '\t':
			return ' '
		case unsafeRune(r):
			return unicode.ReplacementChar
		}
		return r
	}, s)
}

// unsafeRune also reports U+FFFD, which is what invalid UTF-8 decodes as, so that such bytes go
// through strings.Map and come out as valid UTF-8.
func unsafeRune(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == unicode.ReplacementChar
}

// mrkdwnEscaper escapes the three characters Slack gives meaning in mrkdwn. Without it a user
// agent such as "<!channel>" pings everyone and "<https://evil|console>" becomes a link.
var mrkdwnEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// esc cleans and escapes an untrusted string for mrkdwn.
func esc(s string) string { return mrkdwnEscaper.Replace(clean(s)) }

// code puts an untrusted string in a mrkdwn code span. mrkdwn has no escape for a backtick, so
// one inside the value would close the span early; it is shown as a quote instead.
func code(s string) string {
	if s == "" {
		return ""
	}
	return "`" + strings.ReplaceAll(esc(s), "`", "'") + "`"
}

// slackLen counts as Slack may: in UTF-16 code units, which is never less than the rune count,
// so a text within it is within Slack's limit however Slack counts.
func slackLen(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// truncate shortens s to at most limit characters, ending in an ellipsis when it cut. It never
// cuts inside an entity (&amp;) that esc wrote, which Slack would show as stray text.
func truncate(s string, limit int) string {
	if slackLen(s) <= limit {
		return s
	}
	budget := limit - slackLen(ellipsis)
	n, cut := 0, 0
	for i, r := range s {
		w := utf16.RuneLen(r)
		if n+w > budget {
			break
		}
		n += w
		cut = i + len(string(r))
	}
	out := s[:cut]
	if amp := strings.LastIndexByte(out, '&'); amp >= 0 && !strings.Contains(out[amp:], ";") {
		out = out[:amp]
	}
	return out + ellipsis
}

// orDash stands in for a missing value, so that a blank is visibly "unknown" rather than a
// layout slip.
func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

package render

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/iam-watchdog/iam-watchdog/pkg/alert"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/policy"
	"github.com/iam-watchdog/iam-watchdog/pkg/remediate"
)

// Button action IDs are the verbs they ask for (alert.Verb), so a click maps to a transition
// without a table in between.
const actionsBlockID = "iam_watchdog_actions"

var buttonLabels = map[alert.Verb]string{
	alert.Revert:      "Revert now",
	alert.Undo:        "Undo revert",
	alert.Acknowledge: "Acknowledge",
}

// VerbLabel is the button label of a verb, as people see it.
func VerbLabel(v alert.Verb) string {
	if l, ok := buttonLabels[v]; ok {
		return l
	}
	return string(v)
}

// statusBlock renders the status line and groupBlock, for a burst, the group line; actionBlock
// renders the buttons. They go around the alert's own blocks.
func statusBlock(t *alert.Thread) slack.Block {
	return slack.NewContextBlock("", mrkdwn(truncate("Status: "+statusText(t, slackWho), maxTextChars)))
}

// groupBlocks say what the group holds and list its events.
func groupBlocks(t *alert.Thread, f detect.Finding) []slack.Block {
	return append([]slack.Block{section(truncate(groupText(t, code), maxTextChars))}, memberBlocks(t.Group, f)...)
}

func actionBlock(t *alert.Thread, a alert.Alert) slack.Block {
	verbs := t.Verbs(a)
	if len(verbs) == 0 {
		return nil
	}
	n := t.Group.Count()
	var elems []slack.BlockElement
	for _, v := range verbs {
		b := slack.NewButtonBlockElement(string(v), t.Key, slack.NewTextBlockObject(slack.PlainTextType, buttonLabels[v], false, false))
		switch v {
		case alert.Revert:
			b = b.WithStyle(slack.StylePrimary).WithConfirm(confirm("Revert now?",
				"The watchdog will "+orDash(actionPhrase(a.Finding.Action.Kind, a.Finding.Action, false, clean))+plural(n, "", " and the same for the other %d findings of this burst")+".",
				"Revert"))
		case alert.Undo:
			b = b.WithStyle(slack.StyleDanger).WithConfirm(confirm("Undo the revert?",
				"The watchdog will "+undoPhrase(a.Finding.Action, false, clean)+plural(n, "", " and the same for the other %d findings of this burst")+": the change it reverted comes back.",
				"Undo"))
		}
		elems = append(elems, b)
	}
	return slack.NewActionBlock(actionsBlockID, elems...)
}

// confirm is the dialog Slack shows before a button acts. Its text is plain text (cleaned, not
// escaped), within Slack's 300 characters.
func confirm(title, text, ok string) *slack.ConfirmationBlockObject {
	return slack.NewConfirmationBlockObject(
		slack.NewTextBlockObject(slack.PlainTextType, title, false, false),
		slack.NewTextBlockObject(slack.PlainTextType, truncate(text, 300), false, false),
		slack.NewTextBlockObject(slack.PlainTextType, ok, false, false),
		slack.NewTextBlockObject(slack.PlainTextType, "Cancel", false, false))
}

// plural formats format with n-1 (the others) when n > 1, and gives one otherwise.
func plural(n int, one, format string) string {
	if n <= 1 {
		return one
	}
	return fmt.Sprintf(format, n-1)
}

// slackWho names a person by mention (only for strings that are Slack user IDs, so nothing
// else can become markup), the watchdog by name.
func slackWho(who string) string {
	switch {
	case policy.IsSlackUserID(who):
		return "<@" + who + ">"
	case who == "watchdog" || who == "":
		return "the watchdog"
	}
	return esc(who)
}

func consoleWho(who string) string {
	switch {
	case policy.IsSlackUserID(who):
		return "@" + who
	case who == "watchdog" || who == "":
		return "the watchdog"
	}
	return clean(who)
}

var statusWords = map[alert.Status]string{
	alert.Open:         "Open",
	alert.Pending:      "Awaiting approval",
	alert.Reverting:    "Reverting",
	alert.Reverted:     "Reverted",
	alert.Undoing:      "Undoing",
	alert.Undone:       "Undone",
	alert.Acknowledged: "Acknowledged",
}

// statusText is one line: the status, who moved the alert there and when, e.g. "Reverted by
// <@U0123> at 2024-05-02T09:04:10Z".
func statusText(t *alert.Thread, who func(string) string) string {
	word, ok := statusWords[t.Status]
	if !ok {
		word = clean(string(t.Status))
	}
	s := word
	switch t.Status {
	case alert.Open:
		s += " — nobody has acknowledged it yet"
	case alert.Pending:
		s += " — nothing is reverted until an approver presses Revert now"
	case alert.Reverting, alert.Undoing:
		s += " — started by " + who(t.By)
	default:
		s += " by " + who(t.By)
	}
	if !t.Since.IsZero() && t.Status != alert.Open && t.Status != alert.Pending {
		s += " at " + t.Since.UTC().Format(time.RFC3339)
	}
	return s
}

// maxTargetsShown bounds the targets listed; the rest are counted.
const maxTargetsShown = 10

// groupText says how many findings the message gathers, on what, and how they ended.
func groupText(t *alert.Thread, quote func(string) string) string {
	g := t.Group
	var s string
	if g.Threshold != "" {
		s = fmt.Sprintf("%d findings by the same caller under this rule, over its threshold of %s", g.Total(), g.Threshold)
	} else {
		s = fmt.Sprintf("%d findings by the same actor under this rule", g.Total())
		if t.Window > 0 {
			s += " within " + t.Window.String()
		}
	}
	shown := g.Targets[:min(len(g.Targets), maxTargetsShown)]
	names := make([]string, len(shown))
	for i, target := range shown {
		names[i] = quote(target)
	}
	if len(names) > 0 {
		s += ". Targets: " + strings.Join(names, ", ")
		if rest := len(g.Targets) - len(shown); rest > 0 {
			s += fmt.Sprintf(" and %d more", rest)
		}
	}
	if len(g.Outcomes) > 0 {
		keys := make([]string, 0, len(g.Outcomes))
		for k := range g.Outcomes {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = fmt.Sprintf("%d %s", g.Outcomes[k], clean(k))
		}
		s += ". Remediation: " + strings.Join(parts, ", ")
	}
	return s + "."
}

// undoPhrase says what undoing an action does, e.g. "re-activate access key AKIA… of user bob".
func undoPhrase(act detect.Action, past bool, quote func(string) string) string {
	verb := func(present, pastForm string) string {
		if past {
			return pastForm
		}
		return present
	}
	user := ""
	if act.UserName != "" {
		user = " user " + quote(act.UserName)
	}
	switch act.Kind {
	case detect.DeactivateAccessKey:
		return verb("re-activate", "re-activated") + " access key " + orDash(quote(act.AccessKeyID)) + strings.Replace(user, " user", " of user", 1)
	case detect.QuarantineUser:
		return verb("lift", "lifted") + " the quarantine of" + orDash(user)
	case detect.DetachUserPolicy:
		return verb("re-attach", "re-attached") + " policy " + orDash(quote(act.PolicyARN)) + strings.Replace(user, " user", " to user", 1)
	case detect.DeleteUserPolicy:
		return verb("put back", "put back") + " inline policy " + orDash(quote(act.PolicyName)) + strings.Replace(user, " user", " on user", 1)
	}
	return verb("undo", "undid") + " " + quote(act.Kind)
}

// FollowUp is one line in an alert's thread: what a person did from Slack and what came of
// it, or a remediation in a burst that failed.
type FollowUp struct {
	// Who is a Slack user ID, or "watchdog" for the watchdog's own remediation.
	Who  string
	Verb alert.Verb // "" for the watchdog's own remediation of Alert
	At   time.Time
	// Alert is what was acted on: its Finding.Action names the change.
	Alert alert.Alert
	// OK is whether it worked; for a burst, Done and Failed count the findings each way.
	OK           bool
	Done, Failed int
	// Detail says why it failed, or anything else worth a line. It is shown escaped.
	Detail string
}

// lineStyle is how a follow-up is written for one medium.
type lineStyle struct {
	quote, text, who, bold func(string) string
	icon                   map[string]string
}

var (
	slackLine = lineStyle{quote: code, text: esc, who: slackWho, bold: func(s string) string { return "*" + s + "*" },
		icon: map[string]string{"ok": ":white_check_mark:", "fail": ":x:", "ack": ":eyes:", "undo": ":leftwards_arrow_with_hook:"}}
	consoleLine = lineStyle{quote: clean, text: clean, who: consoleWho, bold: func(s string) string { return s },
		icon: map[string]string{"ok": "✔", "fail": "✘", "ack": "👀", "undo": "↩"}}
)

// text renders the line in style st.
func (f FollowUp) text(st lineStyle) string {
	act := f.Alert.Finding.Action
	at := ""
	if !f.At.IsZero() {
		at = " at " + f.At.UTC().Format(time.RFC3339)
	}
	pressed := st.who(f.Who) + " pressed " + st.bold(VerbLabel(f.Verb)) + at
	burst := ""
	if n := f.Done + f.Failed; n > 1 {
		burst = fmt.Sprintf(" (%d of %d findings", f.Done, n)
		if f.Failed > 0 {
			burst += fmt.Sprintf("; %d failed", f.Failed)
		}
		burst += ")"
	}
	detail := ""
	if f.Detail != "" {
		detail = ": " + st.text(f.Detail)
	}
	switch {
	case f.Verb == "":
		return fmt.Sprintf("%s Remediation of event %s on %s failed%s", st.icon["fail"],
			st.quote(f.Alert.Finding.EventID), orDash(st.quote(f.Alert.Finding.Target)), detail)
	case f.Verb == alert.Acknowledge:
		s := st.icon["ack"] + " " + st.who(f.Who) + " acknowledged this alert" + at
		if f.Alert.Remediation != nil && f.Alert.Remediation.Status == remediate.Pending {
			s += "; nothing will be reverted"
		}
		return s + "."
	case f.Verb == alert.Revert && f.OK:
		return st.icon["ok"] + " " + pressed + ": " + actionPhrase(act.Kind, act, true, st.quote) + burst + detail + "."
	case f.Verb == alert.Revert:
		return st.icon["fail"] + " " + pressed + ": could not " + actionPhrase(act.Kind, act, false, st.quote) + burst + detail + ". The alert still awaits approval."
	case f.Verb == alert.Undo && f.OK:
		return st.icon["undo"] + " " + pressed + ": " + undoPhrase(act, true, st.quote) + burst + detail + "."
	case f.Verb == alert.Undo:
		return st.icon["fail"] + " " + pressed + ": could not " + undoPhrase(act, false, st.quote) + burst + detail + ". The revert stands."
	}
	return pressed + detail
}

// SlackText is the follow-up as Slack mrkdwn.
func (f FollowUp) SlackText() string { return truncate(f.text(slackLine), maxTextChars) }

// ConsoleText is the follow-up for a terminal, without markup.
func (f FollowUp) ConsoleText() string { return f.text(consoleLine) }

// RefusalText tells, in mrkdwn, why a click did nothing: the alert is already where the click
// would take it, or past it. A repeated click, or Slack delivering one again, ends here.
func RefusalText(r *alert.Refusal) string {
	word, ok := statusWords[r.Status]
	if !ok {
		word = "not posted yet"
	}
	s := ":information_source: Nothing done: " + VerbLabel(r.Verb) + " does not apply to an alert that is " + strings.ToLower(word)
	if r.By != "" {
		s += " (by " + slackWho(r.By)
		if !r.Since.IsZero() {
			s += " at " + r.Since.UTC().Format(time.RFC3339)
		}
		s += ")"
	}
	return s + "."
}

// ActionText says in words what an action does ("deactivate access key AKIA… of user bob"), or,
// past, what it did; for a terminal, without markup.
func ActionText(act detect.Action, past bool) string {
	return actionPhrase(act.Kind, act, past, clean)
}

// UndoText says in words what undoing an action does ("re-activate access key AKIA… of user
// bob"), or, past, what it did; for a terminal, without markup.
func UndoText(act detect.Action, past bool) string {
	return undoPhrase(act, past, clean)
}

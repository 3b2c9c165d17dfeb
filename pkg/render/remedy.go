package render

import (
	"strings"

	"github.com/iam-watchdog/iam-watchdog/pkg/alert"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/remediate"
)

// style is how one output form shows untrusted values: quote for names and IDs, text for prose
// such as a failure reason. Slack escapes both for mrkdwn; the console only cleans them.
type style struct {
	quote func(string) string
	text  func(string) string
}

var (
	slackStyle   = style{quote: code, text: esc}
	consoleStyle = style{quote: clean, text: clean}
)

// remedy is what the watchdog did or would do about a finding, ready to print.
type remedy struct {
	label string // "Dry run", "Reverted", …
	body  string // what, with the reason when there is one
	undo  string // the command that reverses a done action, or ""
}

// describeRemedy reads a.Remediation, with details from the finding's proposed Action.
func describeRemedy(a alert.Alert, st style) remedy {
	out := a.Remediation
	if out == nil {
		body := "the watchdog has no automatic remediation for this change"
		if a.Finding.Manual != "" {
			body += "; a person has to act (see the manual steps)"
		}
		return remedy{label: "No automatic action", body: body}
	}
	kind := out.Action
	if kind == "" {
		kind = a.Finding.Action.Kind
	}
	present := actionPhrase(kind, a.Finding.Action, false, st.quote)
	withReason := func(prefix string) string {
		s := ""
		if present != "" {
			s = prefix + present
		}
		if out.Reason != "" {
			if s != "" {
				s += " — "
			}
			s += st.text(out.Reason)
		}
		return s
	}
	// For planned, pending and done actions the reason only restates the action, so the
	// phrase alone is shown; for the others the reason is the news.
	alone := func(prefix string) string {
		if present == "" {
			return st.text(out.Reason)
		}
		return prefix + present
	}
	switch out.Status {
	case remediate.Planned:
		return remedy{label: "Dry run", body: alone("would ")}
	case remediate.Done:
		body := actionPhrase(kind, a.Finding.Action, true, st.quote)
		if body == "" {
			body = st.text(out.Reason)
		}
		return remedy{label: "Reverted", body: body, undo: out.Undo}
	case remediate.Pending:
		return remedy{label: "Awaiting approval", body: alone("would ")}
	case remediate.Skipped:
		return remedy{label: "Skipped", body: withReason("did not ")}
	case remediate.Failed:
		return remedy{label: "Failed", body: withReason("could not ")}
	default:
		return remedy{label: "Status " + st.text(string(out.Status)), body: withReason("")}
	}
}

// actionPhrase says what an action acts on, e.g. "deactivate access key AKIA… of user bob", in
// the present or past tense. Details come from act only when it is the same kind of action:
// the outcome names the action actually taken, which need not be the one the finding proposed.
func actionPhrase(kind string, act detect.Action, past bool, quote func(string) string) string {
	if kind == "" {
		return ""
	}
	if act.Kind != kind && act.Kind != "" {
		act = detect.Action{Kind: kind}
	}
	verb := func(present, pastForm string) string {
		if past {
			return pastForm
		}
		return present
	}
	ofUser := func(prep string) string {
		if act.UserName == "" {
			return ""
		}
		return " " + prep + " user " + quote(act.UserName)
	}
	named := func(noun, value string) string {
		if value == "" {
			return "the " + noun
		}
		return noun + " " + quote(value)
	}
	switch kind {
	case detect.DeactivateAccessKey:
		return verb("deactivate ", "deactivated ") + named("access key", act.AccessKeyID) + ofUser("of")
	case detect.DetachUserPolicy:
		return verb("detach ", "detached ") + named("policy", act.PolicyARN) + ofUser("from")
	case detect.DeleteUserPolicy:
		return verb("delete ", "deleted ") + named("inline policy", act.PolicyName) + ofUser("from") +
			" (its document is saved for undo)"
	case detect.QuarantineUser:
		return verb("quarantine ", "quarantined ") + named("user", act.UserName) +
			verb(" (attach", " (attached") + " the deny-unless-MFA policy)"
	case detect.RestartLogging:
		return verb("restart ", "restarted ") + "logging on " + named("trail", act.Trail)
	default:
		// An action this package does not know yet still reads as words, not a code.
		return verb("", "carried out ") + quote(strings.ReplaceAll(kind, "_", " "))
	}
}

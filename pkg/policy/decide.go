package policy

import (
	"fmt"
	"slices"

	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
)

// Decision is what the watchdog will do about one finding.
type Decision struct {
	// Alert is false when the finding is to be dropped: the rule is disabled, the actor is
	// the watchdog itself, or an allowlist covers it. Reason then says which.
	Alert bool
	// Mode is the remediation mode that applies to the finding's action.
	Mode Mode
	// Act is true when remediation may run (for real in auto, as a plan in dry-run).
	Act bool
	// Reason explains a finding that is not alerted, or an action that will not run.
	Reason string
}

// Decide applies the configuration to a finding. It sets the finding's severity when the
// rule's severity is overridden.
func (c *Config) Decide(f *detect.Finding) Decision {
	rc := c.Rules[f.Rule]
	if rc.Severity != nil {
		f.Severity = *rc.Severity
	}
	mode := c.ModeFor(f.Rule)
	switch {
	case rc.Enabled != nil && !*rc.Enabled:
		return Decision{Mode: mode, Reason: "rule " + f.Rule + " is disabled in the config"}
	case c.IsSelf(f.Actor):
		return Decision{Mode: mode, Reason: "the watchdog's own call"}
	case allowed(f.Actor.ARN, c.Allow.Actors, rc.Allow.Actors) || (f.Actor.IssuerARN != "" && allowed(f.Actor.IssuerARN, c.Allow.Actors, rc.Allow.Actors)):
		return Decision{Mode: mode, Reason: "actor " + f.Actor.ARN + " is allowlisted"}
	case f.Target != "" && allowed(f.Target, c.Allow.Targets, rc.Allow.Targets):
		return Decision{Mode: mode, Reason: "target " + f.Target + " is allowlisted"}
	}
	d := Decision{Alert: true, Mode: mode}
	switch {
	case f.Action.Kind == "":
		d.Reason = "no API can undo this change"
	case f.Record != nil && f.Record.Failed():
		d.Reason = "the call failed, so there is nothing to revert"
	case SentByWatchdog(f.Actor):
		d.Reason = "the call carries the watchdog's app ID (an undo or the watchdog's own action); it is reported, not reverted"
	case f.Actor.InvokedBy != "":
		d.Reason = fmt.Sprintf("%s made this change on someone's behalf; a revert would fight it, so fix the source instead", f.Actor.InvokedBy)
	case f.Action.Kind == detect.QuarantineUser && c.QuarantinePolicyARN == "":
		d.Reason = "quarantine_policy_arn is not configured"
	case mode == Off:
		d.Reason = "remediation is off for " + f.Rule
	case f.EventID == "":
		d.Reason = "the event has no eventID, so the action could not be made idempotent"
	default:
		d.Act = true
	}
	return d
}

func allowed(arn string, lists ...[]string) bool {
	for _, l := range lists {
		if slices.Contains(l, arn) {
			return true
		}
	}
	return false
}

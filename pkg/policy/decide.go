package policy

import (
	"fmt"
	"strings"

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
//
// allow (global and the rule's) drops the finding: neither alert nor act. protect (global and
// the rule's) keeps the alert and never acts: a protected actor's changes are not reverted, and
// nothing is done to a protected target, whatever the mode.
func (c *Config) Decide(f *detect.Finding) Decision {
	rc := c.Rules[f.Rule]
	if rc.Severity != nil {
		f.Severity = *rc.Severity
	}
	mode := c.ModeFor(f.Rule)
	allow, protect := []Allowlist{c.Allow, rc.Allow}, []Allowlist{c.Protect, rc.Protect}
	if rc.Enabled != nil && !*rc.Enabled {
		return Decision{Mode: mode, Reason: "rule " + f.Rule + " is disabled in the config"}
	}
	if c.IsSelf(f.Actor) {
		return Decision{Mode: mode, Reason: "the watchdog's own call"}
	}
	if arn, ok := listedActor(f.Actor, allow); ok {
		return Decision{Mode: mode, Reason: "actor " + arn + " is allowlisted"}
	}
	if arn, ok := listedTarget(targets(f), allow); ok {
		return Decision{Mode: mode, Reason: "target " + arn + " is allowlisted"}
	}
	d := Decision{Alert: true, Mode: mode}
	actor, protectedActor := listedActor(f.Actor, protect)
	target, protectedTarget := listedTarget(targets(f), protect)
	switch {
	case f.Action.Kind == "":
		d.Reason = "no API can undo this change"
	case protectedActor:
		d.Reason = "actor " + actor + " is protected: its changes are always alerted and never reverted"
	case protectedTarget:
		d.Reason = "target " + target + " is protected: it is always alerted on and never acted on"
	case f.Record != nil && f.Record.Failed():
		d.Reason = "the call failed, so there is nothing to revert"
	case detect.ActingService(f.Actor.InvokedBy) != "":
		// Only a service acting for a caller; a console user (signin.amazonaws.com) is a person.
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

// listedActor returns the ARN by which a list names the actor: the caller's own ARN, or the
// role or user behind its session (which covers every session of a role).
func listedActor(a detect.Actor, lists []Allowlist) (string, bool) {
	for _, arn := range []string{a.ARN, a.IssuerARN} {
		if arn == "" {
			continue
		}
		for _, l := range lists {
			if listed(arn, l.Actors) {
				return arn, true
			}
		}
	}
	return "", false
}

// listedTarget returns the first of targets a list names.
func listedTarget(targets []string, lists []Allowlist) (string, bool) {
	for _, t := range targets {
		for _, l := range lists {
			if listed(t, l.Targets) {
				return t, true
			}
		}
	}
	return "", false
}

func listed(arn string, list []string) bool {
	for _, l := range list {
		if SameARN(l, arn) {
			return true
		}
	}
	return false
}

// targets are what a finding is about and what its action would act on: the finding's target,
// and the user or trail the action names, so that a list protects a target however the rule
// spelled it.
func targets(f *detect.Finding) []string {
	var out []string
	if f.Target != "" {
		out = append(out, f.Target)
	}
	a := f.Action
	if a.UserName != "" && a.Account != "" {
		partition := "aws"
		for _, arn := range []string{f.Target, f.Actor.ARN} {
			if parts := strings.SplitN(arn, ":", 3); len(parts) == 3 && parts[0] == "arn" && parts[1] != "" {
				partition = parts[1]
				break
			}
		}
		out = append(out, "arn:"+partition+":iam::"+a.Account+":user/"+a.UserName)
	}
	if strings.HasPrefix(a.Trail, "arn:") {
		out = append(out, a.Trail)
	}
	return out
}

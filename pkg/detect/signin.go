package detect

import (
	"fmt"

	"github.com/iam-watchdog/iam-watchdog/pkg/cloudtrail"
)

// consoleLoginNoMFA is CIS 4.2 as its v3.0 text recommends for accounts with SSO: a successful
// console sign-in by an IAM user whose MFAUsed is not "Yes". Federated sign-ins (IAM Identity
// Center, SAML, web identity: userIdentity AssumedRole or FederatedUser) always record MFAUsed
// "No", because MFA happened at the identity provider, where CloudTrail cannot see it: they are
// not reported. The root user's sign-ins are root-console-signin's. MFAUsed can be "Yes" on a
// failed sign-in, so success is read from the result, never from MFAUsed; a record whose result
// is missing or unexpected is never taken for a success, and is reported low as a sign-in of
// unknown outcome.
// Reference: https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-aws-console-sign-in-events.html
func consoleLoginNoMFA(rec *cloudtrail.Record, f *Finding) bool {
	if rec.UserIdentity.Type != "IAMUser" {
		return false
	}
	outcome, recorded := consoleLoginOutcome(rec)
	if outcome == signinFailure {
		return false
	}
	var add struct {
		MFAUsed         string `json:"MFAUsed"`
		SAMLProviderARN string `json:"SamlProviderArn"`
	}
	_ = rec.Additional(&add)
	if add.MFAUsed == "Yes" || add.SAMLProviderARN != "" {
		return false // a SAML sign-in is federated, whatever userIdentity says
	}
	user := rec.UserIdentity.UserName
	if user != "" {
		f.Target = userARN(rec, user)
	}
	if outcome == signinUnknown {
		f.Severity = Low
		f.Title = "Console sign-in without MFA, outcome unknown"
		f.Why = fmt.Sprintf("%s tried to sign in to the console without MFA%s, and the record holds %s, so whether it succeeded is unknown; if it did, a password alone let them in, and every IAM user with a console password must use MFA.", f.Actor.Name, fromClause(rec), recorded)
		return true
	}
	f.Severity = grade(Medium, rec)
	f.Why = fmt.Sprintf("%s signed in to the console without MFA%s; a password alone is one phishing email from an account takeover, so every IAM user with a console password must use MFA.", f.Actor.Name, fromClause(rec))
	return true
}

// Outcomes of a console sign-in.
const (
	signinUnknown = iota
	signinSuccess
	signinFailure
)

// consoleLoginOutcome reads a ConsoleLogin's result: a failure says so in errorMessage or
// errorCode, or with responseElements.ConsoleLogin "Failure"; only "Success" there is a
// success. Anything else (the element missing, another value) is unknown, and recorded says
// what the record holds instead, for the sentence.
// Reference: https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-aws-console-sign-in-events.html
func consoleLoginOutcome(rec *cloudtrail.Record) (outcome int, recorded string) {
	if signinFailed(rec) {
		return signinFailure, ""
	}
	var resp struct {
		ConsoleLogin *string `json:"ConsoleLogin"`
	}
	if rec.Response(&resp) != nil {
		return signinUnknown, "responseElements it cannot read"
	}
	switch {
	case resp.ConsoleLogin == nil:
		return signinUnknown, "no responseElements.ConsoleLogin"
	case *resp.ConsoleLogin == "Success":
		return signinSuccess, ""
	case *resp.ConsoleLogin == "":
		return signinUnknown, "an empty responseElements.ConsoleLogin"
	}
	return signinUnknown, fmt.Sprintf("responseElements.ConsoleLogin %q", *resp.ConsoleLogin)
}

// consoleAuthFailure is CIS 4.6: a failed console sign-in ({ ($.eventName = ConsoleLogin) &&
// ($.errorMessage = "Failed authentication") }), for anyone but the root user, whose failures
// root-console-signin reports higher.
func consoleAuthFailure(rec *cloudtrail.Record, f *Finding) bool {
	if rec.IsRoot() || !signinFailed(rec) {
		return false
	}
	if u := rec.UserIdentity.UserName; u != "" && u != hiddenUserName && rec.UserIdentity.Type == "IAMUser" {
		f.Target = userARN(rec, u)
	}
	reason := ""
	if rec.ErrorMessage != "" {
		reason = " (" + rec.ErrorMessage + ")"
	}
	// One failure is not graded down for failing: failing is what it reports.
	f.Severity = Low
	f.Why = fmt.Sprintf("A console sign-in as %s failed%s%s; one failure is usually a mistyped password, but a run of them from one address is someone guessing.", f.Actor.Name, fromClause(rec), reason)
	return true
}

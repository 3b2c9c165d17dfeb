package detect

import (
	"fmt"
	"strings"

	"github.com/iam-watchdog/iam-watchdog/pkg/cloudtrail"
)

// deniedCode reports whether an errorCode is CIS 4.1's: one ending in "UnauthorizedOperation"
// (EC2's, e.g. Client.UnauthorizedOperation) or starting with "AccessDenied" (AccessDenied,
// AccessDeniedException).
func deniedCode(code string) bool {
	return strings.HasSuffix(code, "UnauthorizedOperation") || strings.HasPrefix(code, "AccessDenied")
}

// deniedCall is unauthorizedCall's condition.
func deniedCall(rec *cloudtrail.Record) bool {
	return deniedCode(rec.ErrorCode) && rec.SourceIPAddress != "delivery.logs.amazonaws.com" && rec.EventName != "HeadBucket" &&
		ActingService(rec.UserIdentity.InvokedBy) == "" && rec.UserIdentity.Type != "AWSService"
}

// sensitiveSources are services where a denied write is an attempt on permissions, logging or
// keys rather than on data.
var sensitiveSources = map[string]bool{
	sourceIAM: true, sourceSTS: true, sourceOrganizations: true, sourceCloudTrail: true, sourceKMS: true, sourceConfig: true,
}

// unauthorizedCall is CIS 4.1, grouped as intended:
//
//	($.errorCode = "*UnauthorizedOperation" || $.errorCode = "AccessDenied*")
//	&& $.sourceIPAddress != "delivery.logs.amazonaws.com" && $.eventName != "HeadBucket"
//
// The published filter omits the parentheses, and since && binds tighter than || there, it
// counts every UnauthorizedOperation whatever the exclusions say. Calls an AWS service made for
// someone (invokedBy) or as itself (AWSService) are left out too: services probe permissions as
// part of their work, and those denials are the service's configuration, not a person's
// attempt. It runs only on records no indexed rule reported (see Detect): a denied
// CreateAccessKey is access_key_created, graded down for failing.
func unauthorizedCall(rec *cloudtrail.Record, f *Finding) bool {
	if !deniedCall(rec) {
		return false
	}
	call := serviceName(rec.EventSource) + ":" + rec.EventName
	f.Target = f.Actor.ARN
	if readOnlyCall(rec) || !sensitiveSources[rec.EventSource] {
		f.Severity = Low
		f.Why = fmt.Sprintf("%s was denied %s (%s)%s; one denied call is usually a script or person missing a permission, but a run of them is how stolen credentials are tried out.", f.Actor.Name, call, rec.ErrorCode, fromClause(rec))
		return true
	}
	f.Severity = Medium
	f.Why = fmt.Sprintf("%s was denied %s (%s)%s, an attempt to change permissions, logging or keys; find out who wanted this change and why.", f.Actor.Name, call, rec.ErrorCode, fromClause(rec))
	return true
}

package detect

import (
	"fmt"
	"strings"

	"github.com/iam-watchdog/iam-watchdog/pkg/cloudtrail"
)

// rootActivity is CIS 4.3's condition: a call by the root user that no AWS service made for it
// ({ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType !=
// "AwsServiceEvent" }), except that invokedBy naming the console (signin.amazonaws.com,
// console.amazonaws.com) is a person, not a service, and counts as absent. It runs only on records no indexed rule reported (see Detect), so what
// reaches it is root use nothing more specific describes.
func rootActivity(rec *cloudtrail.Record, f *Finding) bool {
	if !rootCall(rec) {
		return false
	}
	f.Target = rootARN(rec)
	f.Manual = rootManual
	call := serviceName(rec.EventSource) + ":" + rec.EventName
	failed := rec.Failed() || signinFailed(rec)
	switch {
	case failed:
		// A refused root call changed nothing, yet someone holds the root credentials.
		f.Severity = Medium
		f.Why = fmt.Sprintf("The root user tried %s%s and was refused%s; whoever holds the root credentials is using them, and daily work belongs to IAM users or roles.", call, fromClause(rec), errorCodeClause(rec))
	case readOnlyCall(rec):
		f.Severity = High
		f.Why = fmt.Sprintf("The root user called %s%s, a read-only call; daily work belongs to IAM users or roles, so every use of the root user needs an explanation.", call, fromClause(rec))
	default:
		f.Severity = Critical
		f.Why = fmt.Sprintf("The root user called %s%s and changed something; no IAM policy limits the root user and no API can undo its changes, so confirm who it was at once.", call, fromClause(rec))
	}
	return true
}

// rootCall is rootActivity's condition on typed fields alone.
func rootCall(rec *cloudtrail.Record) bool {
	// CheckMfa is the second step of the console sign-in that root-console-signin reports:
	// one sign-in, one alert.
	return rec.IsRoot() && ActingService(rec.UserIdentity.InvokedBy) == "" && rec.EventType != "AwsServiceEvent" &&
		!(rec.EventSource == sourceSignin && rec.EventName == "CheckMfa")
}

func errorCodeClause(rec *cloudtrail.Record) string {
	if rec.ErrorCode != "" {
		return " (" + rec.ErrorCode + ")"
	}
	return ""
}

// signinFailed reports whether a sign-in event (ConsoleLogin, PasswordUpdated, …) failed: they
// say so in responseElements ({"ConsoleLogin": "Failure"}) and errorMessage, usually without an
// errorCode.
// Reference: https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-aws-console-sign-in-events.html
func signinFailed(rec *cloudtrail.Record) bool {
	if rec.EventSource != sourceSignin {
		return false
	}
	if rec.Failed() || rec.ErrorMessage != "" {
		return true
	}
	var resp map[string]any
	_ = rec.Response(&resp)
	for _, v := range resp {
		if v == "Failure" {
			return true
		}
	}
	return false
}

// Root task policies of sts:AssumeRoot, and what a session under each can do.
// Reference: https://docs.aws.amazon.com/IAM/latest/UserGuide/id_root-user-privileged-task.html
var rootTasks = map[string]struct {
	base Severity
	does string
}{
	"IAMCreateRootUserPassword":    {Critical, "give the member account's root user a password again, so someone can sign in as that root user"},
	"S3UnlockBucketPolicy":         {High, "delete a bucket policy that locks everyone out, as the member account's root user"},
	"SQSUnlockQueuePolicy":         {High, "delete a queue policy that locks everyone out, as the member account's root user"},
	"IAMDeleteRootUserCredentials": {Medium, "delete the member account's root password, keys, certificates and MFA devices"},
	"IAMAuditRootUserCredentials":  {Medium, "read which credentials the member account's root user has"},
}

// rootSessionAssumed reports sts:AssumeRoot, the centralized root access of AWS Organizations:
// a management or delegated administrator account gets short-term root credentials for a member
// account, limited by a task policy. What the session then does is recorded in the member
// account as calls by its root user (root-activity there).
// Reference: https://docs.aws.amazon.com/IAM/latest/UserGuide/cloudtrail-track-privileged-tasks.html
func rootSessionAssumed(rec *cloudtrail.Record, f *Finding) bool {
	var req struct {
		TargetPrincipal string `json:"targetPrincipal"`
		TaskPolicyARN   struct {
			ARN string `json:"arn"`
		} `json:"taskPolicyArn"`
	}
	_ = rec.Param(&req)
	account := req.TargetPrincipal
	if parts := strings.Split(account, ":"); len(parts) >= 5 && parts[0] == "arn" {
		account = parts[4]
	}
	if account != "" {
		f.Target = "arn:" + rec.Partition() + ":iam::" + account + ":root"
	} else {
		account = "an unnamed member account"
	}
	task := lastSegment(req.TaskPolicyARN.ARN)
	t, known := rootTasks[task]
	if !known {
		t.base, t.does = High, "act as the member account's root user within that policy"
	}
	if task == "" {
		task = "(none recorded)"
	}
	f.Severity = grade(t.base, rec)
	f.Why = fmt.Sprintf("%s started a root session on account %s with task policy %s%s%s, which lets it %s; root sessions are for rare, agreed tasks, so confirm someone asked for this one.",
		f.Actor.Name, account, task, failedClause(rec), byService(rec), t.does)
	return true
}

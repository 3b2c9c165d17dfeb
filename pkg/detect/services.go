package detect

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/iam-watchdog/iam-watchdog/pkg/cloudtrail"
)

// kmsKeyDisabled is CIS 4.7: a customer managed key disabled (data encrypted under it cannot be
// read until it is enabled) or scheduled for deletion (unreadable for ever once the waiting
// period ends). Both can be undone by a person while there is time.
func kmsKeyDisabled(rec *cloudtrail.Record, f *Finding) bool {
	var req struct {
		KeyID               string `json:"keyId"`
		PendingWindowInDays int    `json:"pendingWindowInDays"`
	}
	var resp struct {
		KeyID        string `json:"keyId"`
		DeletionDate string `json:"deletionDate"`
	}
	_ = rec.Param(&req)
	_ = rec.Response(&resp)
	key := req.KeyID
	switch {
	case strings.HasPrefix(resp.KeyID, "arn:"):
		key = resp.KeyID
	case key != "" && !strings.HasPrefix(key, "arn:") && !strings.HasPrefix(key, "alias/"):
		key = "arn:" + rec.Partition() + ":kms:" + rec.AWSRegion + ":" + rec.Account() + ":key/" + key
	}
	f.Target = key
	keyText := named("KMS key", key)
	command := "--key-id " + key
	if key == "" {
		command = "--key-id <the key's ID, from the event's resources or the console>"
	}
	if rec.EventName == "ScheduleKeyDeletion" {
		when := ""
		if req.PendingWindowInDays > 0 {
			when = fmt.Sprintf(" in %d days", req.PendingWindowInDays)
		}
		f.Severity = grade(High, rec)
		f.Why = fmt.Sprintf("%s scheduled %s for deletion%s%s%s; once it is deleted, everything encrypted under it is unreadable for ever.", f.Actor.Name, keyText, when, failedClause(rec), byService(rec))
		f.Manual = fmt.Sprintf("If nobody agreed to it, before the waiting period ends: aws kms cancel-key-deletion %s, then aws kms enable-key %s.", command, command)
	} else {
		f.Severity = grade(Medium, rec)
		f.Why = fmt.Sprintf("%s disabled %s%s%s; nothing encrypted under it can be read until it is enabled again, and disabling comes before deletion.", f.Actor.Name, keyText, failedClause(rec), byService(rec))
		f.Manual = fmt.Sprintf("If nobody agreed to it: aws kms enable-key %s.", command)
	}
	if rec.IsRoot() {
		f.Manual += " " + rootManual
	}
	return true
}

// s3BucketEvents is CIS 4.8's list.
var s3BucketEvents = []string{
	"PutBucketAcl", "PutBucketPolicy", "PutBucketCors", "PutBucketLifecycle", "PutBucketReplication",
	"DeleteBucketPolicy", "DeleteBucketCors", "DeleteBucketLifecycle", "DeleteBucketReplication",
}

// Grantees of S3 ACLs that are everyone, or everyone with any AWS account.
// Reference: https://docs.aws.amazon.com/AmazonS3/latest/userguide/acl-overview.html#specifying-grantee-predefined-groups
var publicGrantees = []string{"http://acs.amazonaws.com/groups/global/AllUsers", "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"}

// s3BucketChanged is CIS 4.8, graded by what the change exposes: a policy or ACL that opens the
// bucket to everyone high; another access change, or replication (a copy of every object
// elsewhere), medium; CORS and lifecycle changes low. A lifecycle rule that expires a trail
// bucket's logs within days is cloudtrail-logs-expiring's instead.
func s3BucketChanged(buckets trailBuckets) func(*cloudtrail.Record, *Finding) bool {
	return func(rec *cloudtrail.Record, f *Finding) bool {
		if _, expiring := buckets.soonestExpiry(rec); expiring && rec.EventName == "PutBucketLifecycle" {
			return false
		}
		return s3BucketChange(rec, f)
	}
}

func s3BucketChange(rec *cloudtrail.Record, f *Finding) bool {
	var req struct {
		BucketName   string          `json:"bucketName"`
		BucketPolicy json.RawMessage `json:"bucketPolicy"`
		CannedACL    []string        `json:"x-amz-acl"`
		ACL          struct {
			List struct {
				Grant json.RawMessage `json:"Grant"`
			} `json:"AccessControlList"`
		} `json:"AccessControlPolicy"`
	}
	_ = rec.Param(&req)
	if req.BucketName != "" {
		f.Target = "arn:" + rec.Partition() + ":s3:::" + req.BucketName
	}
	bucket := named("bucket", req.BucketName)
	base, what, why := Low, "", "bucket settings decide who can read, copy or delete the data, so CIS 4.8 asks that every change be seen"
	switch rec.EventName {
	case "PutBucketPolicy":
		base, what = Medium, "changed the policy of "+bucket
		var policy any = req.BucketPolicy
		if s := ""; json.Unmarshal(req.BucketPolicy, &s) == nil {
			policy = s // some records hold the document as a string
		}
		var stmts []statement
		if s, ok := policy.(string); ok {
			stmts = statements(s)
		} else {
			stmts = documentStatements(req.BucketPolicy)
		}
		if publicPolicy(stmts) {
			base, what = High, "opened "+bucket+" to everyone with its policy"
			why = "anyone on the internet can now reach what the policy allows"
		}
	case "PutBucketAcl":
		base, what = Medium, "changed the ACL of "+bucket
		if publicACL(req.CannedACL, req.ACL.List.Grant) {
			base, what = High, "granted everyone access to "+bucket+" with its ACL"
			why = "anyone on the internet, or anyone with any AWS account, can now reach it"
		}
	case "PutBucketReplication":
		base, what = Medium, "set replication on "+bucket
		why = "every new object is now copied to another bucket, possibly in another account"
	case "DeleteBucketPolicy":
		base, what = Medium, "deleted the policy of "+bucket
		why = "any deny it held, such as requiring TLS or a VPC endpoint, is gone"
	default:
		what = fmt.Sprintf("changed %s (%s)", bucket, rec.EventName)
	}
	f.Severity = grade(base, rec)
	f.Why = fmt.Sprintf("%s %s%s%s; %s.", f.Actor.Name, what, failedClause(rec), byService(rec), why)
	if rec.IsRoot() {
		f.Manual = rootManual
	}
	return true
}

// publicPolicy reports whether a policy allows anyone ("*") without a condition.
func publicPolicy(stmts []statement) bool {
	for _, s := range stmts {
		if s.Effect != "Allow" || len(s.Condition) > 0 && string(s.Condition) != "{}" {
			continue
		}
		var p any
		if json.Unmarshal(s.Principal, &p) != nil {
			continue
		}
		switch p := p.(type) {
		case string:
			if p == "*" {
				return true
			}
		case map[string]any:
			for _, v := range stringOrList(mustJSON(p["AWS"])) {
				if v == "*" {
					return true
				}
			}
		}
	}
	return false
}

// publicACL reports whether a canned ACL or a grant list gives access to everyone.
func publicACL(canned []string, grants json.RawMessage) bool {
	for _, c := range canned {
		if c == "public-read" || c == "public-read-write" || c == "authenticated-read" {
			return true
		}
	}
	type grant struct {
		Grantee struct {
			URI string `json:"URI"`
		} `json:"Grantee"`
	}
	var list []grant
	if json.Unmarshal(grants, &list) != nil {
		var one grant
		if json.Unmarshal(grants, &one) != nil {
			return false
		}
		list = []grant{one}
	}
	for _, g := range list {
		for _, p := range publicGrantees {
			if g.Grantee.URI == p {
				return true
			}
		}
	}
	return false
}

// configChanged is CIS 4.9: AWS Config stopped, its delivery channel deleted (high), or its
// recorder or delivery channel replaced (medium when the recorder no longer records every
// resource type, low otherwise).
func configChanged(rec *cloudtrail.Record, f *Finding) bool {
	var req struct {
		RecorderName string `json:"configurationRecorderName"`
		ChannelName  string `json:"deliveryChannelName"`
		Recorder     struct {
			Name           string `json:"name"`
			RecordingGroup *struct {
				AllSupported *bool `json:"allSupported"`
			} `json:"recordingGroup"`
		} `json:"configurationRecorder"`
		Channel struct {
			Name         string `json:"name"`
			S3BucketName string `json:"s3BucketName"`
		} `json:"deliveryChannel"`
	}
	_ = rec.Param(&req)
	base, what, why := Low, "", "Config's record of resource changes is what audits and investigations rely on"
	target := func(kind, name string) string {
		if name == "" {
			return ""
		}
		return kind + " " + name
	}
	switch rec.EventName {
	case "StopConfigurationRecorder":
		base, what = High, "stopped "+theNamed("AWS Config recorder", req.RecorderName)
		f.Target = target("configuration recorder", req.RecorderName)
		why = "changes to resources go unrecorded until it is started again"
	case "DeleteDeliveryChannel":
		base, what = High, "deleted "+theNamed("AWS Config delivery channel", req.ChannelName)
		f.Target = target("delivery channel", req.ChannelName)
		why = "Config can no longer deliver what it records"
	case "PutConfigurationRecorder":
		what = "replaced " + theNamed("AWS Config recorder", req.Recorder.Name)
		f.Target = target("configuration recorder", req.Recorder.Name)
		if g := req.Recorder.RecordingGroup; g != nil && g.AllSupported != nil && !*g.AllSupported {
			base, what = Medium, "limited "+theNamed("AWS Config recorder", req.Recorder.Name)+" to some resource types"
			why = "changes to the other types go unrecorded"
		}
	default:
		what = "replaced " + theNamed("AWS Config delivery channel", req.Channel.Name)
		f.Target = target("delivery channel", req.Channel.Name)
		if req.Channel.S3BucketName != "" {
			what += ", delivering to bucket " + req.Channel.S3BucketName
		}
	}
	f.Severity = grade(base, rec)
	f.Why = fmt.Sprintf("%s %s%s%s; %s.", f.Actor.Name, what, failedClause(rec), byService(rec), why)
	if base == High {
		f.Manual = "If nobody agreed to it: restore the recorder and delivery channel (aws configservice start-configuration-recorder), then check what changed meanwhile."
	}
	if rec.IsRoot() {
		f.Manual = strings.TrimSpace(f.Manual + " " + rootManual)
	}
	return true
}

// organizationsEvents is CIS 4.15's list.
var organizationsEvents = []string{
	"AcceptHandshake", "AttachPolicy", "CreateAccount", "CreateOrganizationalUnit", "CreatePolicy",
	"DeclineHandshake", "DeleteOrganization", "DeleteOrganizationalUnit", "DeletePolicy", "DetachPolicy",
	"DisablePolicyType", "EnablePolicyType", "InviteAccountToOrganization", "LeaveOrganization", "MoveAccount",
	"RemoveAccountFromOrganization", "UpdatePolicy", "UpdateOrganizationalUnit",
}

// organizationsGrades ranks Organizations changes: an account leaving or the guardrails (SCPs)
// switched off high; changes to guardrails and membership medium; structure low.
var organizationsGrades = map[string]Severity{
	"LeaveOrganization": High, "RemoveAccountFromOrganization": High, "DeleteOrganization": High, "DisablePolicyType": High,
	"DetachPolicy": Medium, "UpdatePolicy": Medium, "DeletePolicy": Medium, "AttachPolicy": Medium, "CreateAccount": Medium,
	"InviteAccountToOrganization": Medium, "AcceptHandshake": Medium, "MoveAccount": Medium,
}

// organizationsChanged is CIS 4.15.
func organizationsChanged(rec *cloudtrail.Record, f *Finding) bool {
	var req map[string]any
	_ = rec.Param(&req)
	f.Target = "arn:" + rec.Partition() + ":iam::" + rec.Account() + ":root"
	var about []string
	for _, k := range []string{"policyId", "accountId", "targetId", "organizationalUnitId", "parentId", "handshakeId", "accountName", "name"} {
		if v, ok := req[k].(string); ok && v != "" {
			about = append(about, k+" "+v)
		}
	}
	detail := ""
	if len(about) > 0 {
		detail = " (" + strings.Join(about, ", ") + ")"
	}
	base := organizationsGrades[rec.EventName]
	if base == Info {
		base = Low
	}
	why := "the organization's structure and service control policies are the guardrails over every account in it"
	if rec.EventName == "LeaveOrganization" || rec.EventName == "RemoveAccountFromOrganization" {
		why = "an account outside the organization is free of its service control policies and central logging"
	}
	f.Severity = grade(base, rec)
	f.Why = fmt.Sprintf("%s called organizations:%s%s%s%s; %s.", f.Actor.Name, rec.EventName, detail, failedClause(rec), byService(rec), why)
	if rec.IsRoot() {
		f.Manual = rootManual
	}
	return true
}

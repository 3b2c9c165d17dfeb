package detect

import (
	"fmt"
	"strings"

	"github.com/iam-watchdog/iam-watchdog/pkg/cloudtrail"
)

// watchdogRoleEvents are the IAM calls that create, delete or change what a role may do or who
// may assume it: its trust policy, its policies, its permissions boundary, its settings.
var watchdogRoleEvents = []string{
	"CreateRole", "DeleteRole", "UpdateAssumeRolePolicy", "UpdateRole",
	"AttachRolePolicy", "DetachRolePolicy", "PutRolePolicy", "DeleteRolePolicy",
	"PutRolePermissionsBoundary", "DeleteRolePermissionsBoundary",
}

// watchdogRoles recognises the roles the watchdog's own calls are known by (policy.Config.IsSelf):
// its function roles, by account and name, and its member role, by name in any account (the
// configured name, or infra/member-role.yaml's default when none is configured). A role
// of the member role's name in the home account is no member role, but whoever creates one
// there may be preparing to pose as the watchdog; in a member account, changing it changes what
// the watchdog's sessions can do. Names are compared without case, as IAM compares them.
// Reference: https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html
type watchdogRoles struct {
	member string         // the member role's name, without its path
	self   []selfRoleName // the function roles
}

type selfRoleName struct{ account, name string }

// defaultMemberRoleName is infra/member-role.yaml's default RoleName.
const defaultMemberRoleName = "iam-watchdog-member"

func newWatchdogRoles(s Settings) watchdogRoles {
	w := watchdogRoles{member: lastSegment(strings.Trim(s.MemberRoleName, "/"))}
	if w.member == "" {
		w.member = defaultMemberRoleName
	}
	for _, arn := range s.SelfRoleARNs {
		parts := strings.SplitN(arn, ":", 6)
		if len(parts) == 6 && parts[2] == "iam" && strings.HasPrefix(parts[5], "role/") {
			w.self = append(w.self, selfRoleName{account: parts[4], name: lastSegment(parts[5])})
		}
	}
	return w
}

// of says which of the watchdog's roles the role roleName of rec's account is, or "".
func (w watchdogRoles) of(rec *cloudtrail.Record, roleName string) string {
	if roleName == "" {
		return ""
	}
	for _, r := range w.self {
		if r.account == rec.Account() && strings.EqualFold(r.name, roleName) {
			return "self"
		}
	}
	if w.member != "" && strings.EqualFold(w.member, roleName) {
		return "member"
	}
	return ""
}

// roleParams is what the role calls name.
type roleParams struct {
	RoleName            string `json:"roleName"`
	PolicyARN           string `json:"policyArn"`
	PolicyName          string `json:"policyName"`
	PolicyDocument      string `json:"policyDocument"`
	PermissionsBoundary string `json:"permissionsBoundary"`
	TrustPolicy         string `json:"assumeRolePolicyDocument"`
}

// watchdogRoleChanged reports a change to one of the watchdog's roles, or to a role named like
// its member role: high, whoever made it, since these roles decide what the watchdog can do and
// whose calls it takes for its own.
func watchdogRoleChanged(w watchdogRoles) func(*cloudtrail.Record, *Finding) bool {
	return func(rec *cloudtrail.Record, f *Finding) bool {
		var req roleParams
		_ = rec.Param(&req)
		which := w.of(rec, req.RoleName)
		if which == "" {
			return false
		}
		role := "role " + req.RoleName
		f.Target = "arn:" + rec.Partition() + ":iam::" + rec.Account() + ":role/" + req.RoleName
		var why string
		if which == "self" {
			f.Title = "The watchdog's own role changed"
			why = "the watchdog's own role decides what it can revert and whose calls it takes for its own, so only the watchdog's deployment should change it"
		} else {
			f.Title = "Role named like the watchdog's member role changed"
			why = fmt.Sprintf("%s is the name of the role the watchdog acts through in member accounts: there, changing it changes what the watchdog can do; in the home account a role of that name is no part of the watchdog, and creating one there looks like preparing to pose as it", w.member)
		}
		f.Severity = grade(High, rec)
		f.Why = fmt.Sprintf("%s %s%s%s; %s.", f.Actor.Name, roleChange(rec, req, role), failedClause(rec), byService(rec), why)
		f.Manual = "If the watchdog's own deployment did not make this change, compare the role's trust policy, policies and permissions boundary with the stack (template.yaml, infra/member-role.yaml) and redeploy it."
		if rec.IsRoot() {
			f.Manual += " " + rootManual
		}
		return true
	}
}

// roleChange says what a role call did to role, in a sentence's words.
func roleChange(rec *cloudtrail.Record, req roleParams, role string) string {
	policy := req.PolicyName
	if req.PolicyARN != "" {
		policy = lastSegment(req.PolicyARN)
	}
	switch rec.EventName {
	case "CreateRole":
		if outsider := trustsOutsider(req.TrustPolicy, rec.Account()); outsider != "" {
			return "created " + role + ", letting " + outsider + " assume it"
		}
		return "created " + role
	case "DeleteRole":
		return "deleted " + role
	case "UpdateAssumeRolePolicy":
		if outsider := trustsOutsider(req.PolicyDocument, rec.Account()); outsider != "" {
			return "let " + outsider + " assume " + role
		}
		return "changed who may assume " + role
	case "UpdateRole":
		return "changed the settings of " + role
	case "AttachRolePolicy":
		return "attached " + named("managed policy", policy) + " to " + role
	case "DetachRolePolicy":
		return "detached " + named("managed policy", policy) + " from " + role
	case "PutRolePolicy":
		return "put " + named("inline policy", policy) + " on " + role
	case "DeleteRolePolicy":
		return "deleted " + named("inline policy", policy) + " from " + role
	case "PutRolePermissionsBoundary":
		return "set " + named("permissions boundary", lastSegment(req.PermissionsBoundary)) + " on " + role
	case "DeleteRolePermissionsBoundary":
		return "removed the permissions boundary of " + role
	}
	return fmt.Sprintf("changed %s (%s)", role, rec.EventName)
}

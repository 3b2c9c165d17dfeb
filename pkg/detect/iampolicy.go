package detect

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/iam-watchdog/iam-watchdog/pkg/cloudtrail"
)

// iamPolicyEvents is CIS 4.4's list less AttachUserPolicy and PutUserPolicy, which
// user_policy_attached reports (permissions straight on a user break a practice of their own),
// plus SetDefaultPolicyVersion and UpdateAssumeRolePolicy: the first changes what a policy
// grants as surely as CreatePolicyVersion, the second who may use a role's permissions; and
// CreateRole, reported only when the new role trusts someone outside the account (a backdoor
// role: a way back in that survives the attacker's own credentials being revoked).
var iamPolicyEvents = []string{
	"DeleteGroupPolicy", "DeleteRolePolicy", "DeleteUserPolicy", "PutGroupPolicy", "PutRolePolicy",
	"CreatePolicy", "DeletePolicy", "CreatePolicyVersion", "DeletePolicyVersion", "SetDefaultPolicyVersion",
	"AttachRolePolicy", "DetachRolePolicy", "AttachGroupPolicy", "DetachGroupPolicy", "DetachUserPolicy",
	"UpdateAssumeRolePolicy", "CreateRole",
}

// iamPolicyChanged grades a change to IAM permissions by what it grants: an admin-equivalent
// policy put in force, or a role opened to principals outside the account, high; other grants
// medium; a policy created but not yet attached, or permissions taken away, low. Changes to the
// watchdog's own roles are watchdog-role-changed's, and not reported twice.
func iamPolicyChanged(w watchdogRoles) func(*cloudtrail.Record, *Finding) bool {
	return func(rec *cloudtrail.Record, f *Finding) bool {
		var req struct {
			RoleName       string `json:"roleName"`
			GroupName      string `json:"groupName"`
			UserName       string `json:"userName"`
			PolicyARN      string `json:"policyArn"`
			PolicyName     string `json:"policyName"`
			PolicyDocument string `json:"policyDocument"`
			// AssumeRolePolicyDocument is CreateRole's trust policy.
			AssumeRolePolicyDocument string `json:"assumeRolePolicyDocument"`
			VersionID                string `json:"versionId"`
			SetAsDefault             bool   `json:"setAsDefault"`
		}
		_ = rec.Param(&req)
		if w.of(rec, req.RoleName) != "" {
			return false
		}
		// A role created for a service or for principals of this account is everyday work.
		outsider := ""
		if rec.EventName == "CreateRole" {
			if outsider = trustsOutsider(req.AssumeRolePolicyDocument, rec.Account()); outsider == "" {
				return false
			}
		}
		iamARN := func(kind, name string) string {
			return "arn:" + rec.Partition() + ":iam::" + rec.Account() + ":" + kind + "/" + name
		}
		switch {
		case req.RoleName != "":
			f.Target = iamARN("role", req.RoleName)
		case req.GroupName != "":
			f.Target = iamARN("group", req.GroupName)
		case req.UserName != "":
			f.Target = userARN(rec, req.UserName)
		case req.PolicyARN != "":
			f.Target = req.PolicyARN
		case req.PolicyName != "":
			f.Target = iamARN("policy", req.PolicyName)
		}
		var holder string // "role X", "group X", "user X", as the event's name says
		switch {
		case strings.Contains(rec.EventName, "Role"):
			holder = named("role", req.RoleName)
		case strings.Contains(rec.EventName, "Group"):
			holder = named("group", req.GroupName)
		case strings.Contains(rec.EventName, "User"):
			holder = named("user", req.UserName)
		}
		policy := req.PolicyName
		if req.PolicyARN != "" {
			policy = lastSegment(req.PolicyARN)
		}
		base, what := Low, ""
		switch rec.EventName {
		case "AttachRolePolicy", "AttachGroupPolicy":
			base, what = Medium, "attached "+policyText("narrow", "managed policy", policy)+" to "+holder
			if adminManagedPolicy(req.PolicyARN) {
				base, what = High, "attached "+policyText("admin-equivalent", "managed policy", policy)+" to "+holder
			}
		case "PutRolePolicy", "PutGroupPolicy":
			base, what = Medium, "put "+policyText("narrow", "inline policy", policy)+" on "+holder
			if adminDocument(req.PolicyDocument) {
				base, what = High, "put "+policyText("admin-equivalent", "inline policy", policy)+" on "+holder
			}
		case "CreatePolicyVersion":
			admin := adminDocument(req.PolicyDocument)
			scope := "a narrow"
			if admin {
				scope = "an admin-equivalent"
			}
			switch {
			case admin && req.SetAsDefault:
				base = High
			case admin || req.SetAsDefault:
				base = Medium
			}
			what = fmt.Sprintf("wrote %s new version of %s", scope, named("policy", policy))
			if req.SetAsDefault {
				what += " and put it in force for everyone it is attached to"
			}
		case "SetDefaultPolicyVersion":
			base, what = Medium, fmt.Sprintf("put %s of %s in force for everyone it is attached to", named("version", req.VersionID), named("policy", policy))
		case "CreatePolicy":
			what = "created " + policyText("narrow", "managed policy", policy)
			if adminDocument(req.PolicyDocument) {
				base, what = Medium, "created "+policyText("admin-equivalent", "managed policy", policy)
			}
		case "CreateRole":
			base, what = High, "created "+holder+" and let "+outsider+" assume it"
		case "UpdateAssumeRolePolicy":
			base, what = Medium, "changed who may assume "+holder
			if outsider := trustsOutsider(req.PolicyDocument, rec.Account()); outsider != "" {
				base, what = High, "let "+outsider+" assume "+holder
			}
		default: // Detach*, Delete*: permissions taken away
			what = fmt.Sprintf("%s (%s)", removedWhat(rec.EventName, policy, holder), rec.EventName)
		}
		f.Severity = grade(base, rec)
		f.Why = fmt.Sprintf("%s %s%s%s; IAM permissions change who can do what in the account, so every change should come from reviewed infrastructure code.", f.Actor.Name, what, failedClause(rec), byService(rec))
		if rec.IsRoot() {
			f.Manual = rootManual
		}
		return true
	}
}

// policyText is "the <scope> <kind> <name>", or, without a name, "a <scope> <kind> the record
// does not name".
func policyText(scope, kind, name string) string {
	if name == "" {
		return named(scope+" "+kind, "")
	}
	return "the " + scope + " " + kind + " " + name
}

func removedWhat(event, policy, holder string) string {
	switch {
	case strings.HasPrefix(event, "Detach"):
		return "detached " + named("policy", policy) + " from " + holder
	case event == "DeletePolicyVersion":
		return "deleted a version of " + named("policy", policy)
	case event == "DeletePolicy":
		return "deleted " + named("managed policy", policy)
	default:
		return "deleted " + named("inline policy", policy) + " from " + holder
	}
}

// trustsOutsider returns the first principal outside account that a role trust policy lets
// assume the role: "*", another account or a principal in one. Service and federated principals
// are not outsiders of this kind and are not returned.
func trustsOutsider(doc, account string) string {
	for _, s := range statements(doc) {
		if s.Effect != "Allow" {
			continue
		}
		var principals []string
		var p any
		if json.Unmarshal(s.Principal, &p) != nil {
			continue
		}
		switch p := p.(type) {
		case string:
			principals = []string{p}
		case map[string]any:
			principals = stringOrList(mustJSON(p["AWS"]))
		}
		for _, pr := range principals {
			acct := pr
			if parts := strings.Split(pr, ":"); len(parts) >= 5 && parts[0] == "arn" {
				acct = parts[4]
			}
			if pr == "*" || acct != account {
				if pr == "*" {
					return "anyone (Principal \"*\")"
				}
				return pr
			}
		}
	}
	return ""
}

func mustJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

// passwordPolicyChanged reports an account password policy below the CIS AWS Foundations
// baseline (v3.0 1.8 and 1.9: at least 14 characters, 24 passwords remembered), and its
// deletion. The event carries only the new policy, so "weaker" means "below the baseline".
// UpdateAccountPasswordPolicy resets every parameter it is not given to IAM's default, so a
// missing parameter counts as its default.
// Reference: https://docs.aws.amazon.com/IAM/latest/APIReference/API_UpdateAccountPasswordPolicy.html
func passwordPolicyChanged(rec *cloudtrail.Record, f *Finding) bool {
	f.Target = "arn:" + rec.Partition() + ":iam::" + rec.Account() + ":account-password-policy"
	if rec.IsRoot() {
		f.Manual = rootManual
	}
	if rec.EventName == "DeleteAccountPasswordPolicy" {
		f.Severity = grade(Medium, rec)
		f.Why = fmt.Sprintf("%s deleted the account password policy%s%s; IAM falls back to its default of 8 characters with no reuse limit, below the 14 characters and 24 remembered passwords of the CIS baseline.", f.Actor.Name, failedClause(rec), byService(rec))
		return true
	}
	var req struct {
		MinimumPasswordLength   int `json:"minimumPasswordLength"`
		PasswordReusePrevention int `json:"passwordReusePrevention"`
	}
	if rec.Param(&req) != nil {
		return false
	}
	var weak []string
	if n := req.MinimumPasswordLength; n < 14 {
		if n == 0 {
			n = 8 // IAM's default when the parameter is not given
		}
		weak = append(weak, fmt.Sprintf("a minimum length of %d (baseline 14)", n))
	}
	if n := req.PasswordReusePrevention; n < 24 {
		weak = append(weak, fmt.Sprintf("%d remembered passwords (baseline 24)", n))
	}
	if len(weak) == 0 {
		return false
	}
	f.Severity = grade(Medium, rec)
	f.Why = fmt.Sprintf("%s set an account password policy with %s%s%s; short or reused passwords are the ones attackers guess first.", f.Actor.Name, strings.Join(weak, " and "), failedClause(rec), byService(rec))
	return true
}

// loginProfileCreated reports a console password created or reset for another user: whoever set
// it knows it, so the account is no longer one person's. A user's own password change is
// ChangePassword, or UpdateLoginProfile naming themselves, and is not reported. A reset that
// forces a new password at next sign-in ranks lower.
func loginProfileCreated(rec *cloudtrail.Record, f *Finding) bool {
	var req struct {
		UserName              string `json:"userName"`
		PasswordResetRequired *bool  `json:"passwordResetRequired"`
	}
	_ = rec.Param(&req)
	user := req.UserName
	self := rec.UserIdentity.Type == "IAMUser" && (user == "" || strings.EqualFold(user, rec.UserIdentity.UserName))
	if self {
		return false
	}
	if user == "" {
		f.Target = f.Actor.ARN
		user = "itself"
	} else {
		f.Target = userARN(rec, user)
		user = "user " + user
	}
	verb := "set a console password for"
	if rec.EventName == "UpdateLoginProfile" {
		verb = "reset the console password of"
	}
	base, reset := High, ""
	if req.PasswordResetRequired != nil && *req.PasswordResetRequired {
		base, reset = Medium, ", which must be changed at the next sign-in"
	}
	f.Severity = grade(base, rec)
	f.Why = fmt.Sprintf("%s %s %s%s%s%s; a password someone else chose is shared, so each person should set their own.", f.Actor.Name, verb, user, reset, failedClause(rec), byService(rec))
	if rec.IsRoot() {
		f.Manual = rootManual
	}
	return true
}

// adminGroupMembership reports a user added to an administrators' group. The event names only
// the group, not what it holds, and detection makes no AWS calls, so a group counts as admin
// when the configuration lists it (admin_groups) or, as a heuristic, when its name contains
// "admin" in any case. A group that grants admin rights under another name is missed unless it
// is listed.
func adminGroupMembership(adminGroups []string) func(*cloudtrail.Record, *Finding) bool {
	return func(rec *cloudtrail.Record, f *Finding) bool {
		var req struct {
			GroupName string `json:"groupName"`
			UserName  string `json:"userName"`
		}
		if rec.Param(&req) != nil || req.GroupName == "" {
			return false
		}
		listed := slices.ContainsFunc(adminGroups, func(g string) bool { return strings.EqualFold(g, req.GroupName) })
		if !listed && !strings.Contains(strings.ToLower(req.GroupName), "admin") {
			return false
		}
		if req.UserName != "" {
			f.Target = userARN(rec, req.UserName)
		}
		who := named("user", req.UserName)
		if req.UserName != "" && rec.UserIdentity.Type == "IAMUser" && strings.EqualFold(req.UserName, rec.UserIdentity.UserName) {
			who = "themselves"
		}
		f.Severity = grade(High, rec)
		f.Why = fmt.Sprintf("%s added %s to the administrators' group %s%s%s; administrator rights should be rare, agreed and reviewed.", f.Actor.Name, who, req.GroupName, failedClause(rec), byService(rec))
		user := req.UserName
		if user == "" {
			user = "<user>"
		}
		f.Manual = fmt.Sprintf("If nobody agreed to it: aws iam remove-user-from-group --group-name %s --user-name %s", req.GroupName, user)
		if rec.IsRoot() {
			f.Manual += ". " + rootManual
		}
		return true
	}
}

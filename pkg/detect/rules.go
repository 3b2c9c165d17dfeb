package detect

import (
	"fmt"
	"strings"

	"github.com/iam-watchdog/iam-watchdog/pkg/cloudtrail"
)

// Event sources the rules watch.
const (
	sourceIAM            = "iam.amazonaws.com"
	sourceSignin         = "signin.amazonaws.com"
	sourceCloudTrail     = "cloudtrail.amazonaws.com"
	sourceSTS            = "sts.amazonaws.com"
	sourceKMS            = "kms.amazonaws.com"
	sourceS3             = "s3.amazonaws.com"
	sourceConfig         = "config.amazonaws.com"
	sourceEC2            = "ec2.amazonaws.com"
	sourceOrganizations  = "organizations.amazonaws.com"
	sourceGuardDuty      = "guardduty.amazonaws.com"
	sourceSecurityHub    = "securityhub.amazonaws.com"
	sourceAccessAnalyzer = "access-analyzer.amazonaws.com"
)

// Rules returns the built-in rule table with default settings.
func Rules() []Rule { return RulesWith(Settings{}) }

// RulesWith returns the built-in rule table. The CIS column names the CIS AWS Foundations
// Benchmark v3.0 monitoring controls (section 4) whose CloudTrail condition the rule implements;
// the events are each control's list, split where findings need different wording or grading.
func RulesWith(s Settings) []Rule {
	roles := newWatchdogRoles(s)
	buckets := newTrailBuckets(s.TrailBuckets)
	return []Rule{
		{
			ID: "root-console-signin", Category: "root_signin", Title: "Root user signed in to the console",
			// Root's failed sign-ins are reported here, higher, rather than by console-auth-failure:
			// with it, this rule covers CIS 4.6 for the root user.
			Source: sourceSignin, Events: []string{"ConsoleLogin"}, CIS: []string{"4.3"},
			match: rootSignin,
		},
		{
			ID: "console-login-no-mfa", Category: "console_login_no_mfa", Title: "Console sign-in without MFA",
			Source: sourceSignin, Events: []string{"ConsoleLogin"}, CIS: []string{"4.2"},
			match: consoleLoginNoMFA,
		},
		{
			ID: "console-auth-failure", Category: "console_auth_failure", Title: "Failed console sign-in",
			Source: sourceSignin, Events: []string{"ConsoleLogin"}, CIS: []string{"4.6"},
			match: consoleAuthFailure,
		},
		{
			ID: "root-session-assumed", Category: "root_activity", Title: "Root session started in a member account",
			Source: sourceSTS, Events: []string{"AssumeRoot"},
			match: rootSessionAssumed,
		},
		{
			ID: "access-key-created", Category: "access_key_created", Title: "Access key created",
			Source: sourceIAM, Events: []string{"CreateAccessKey"}, Action: DeactivateAccessKey,
			match: accessKeyCreated,
		},
		{
			ID: "user-managed-policy-attached", Category: "user_policy_attached", Title: "Managed policy attached directly to a user",
			Source: sourceIAM, Events: []string{"AttachUserPolicy"}, CIS: []string{"4.4"}, Action: DetachUserPolicy,
			match: managedPolicyAttached,
		},
		{
			ID: "user-inline-policy-put", Category: "user_policy_attached", Title: "Inline policy put directly on a user",
			Source: sourceIAM, Events: []string{"PutUserPolicy"}, CIS: []string{"4.4"}, Action: DeleteUserPolicy,
			match: inlinePolicyPut,
		},
		{
			ID: "iam-policy-changed", Category: "iam_policy_changed", Title: "IAM policy changed",
			Source: sourceIAM, Events: iamPolicyEvents, CIS: []string{"4.4"},
			match: iamPolicyChanged(roles),
		},
		{
			// Some of its events are CIS 4.4's, but the control is iam-policy-changed's, which
			// reports them for every other role.
			ID: "watchdog-role-changed", Category: "watchdog_tampering", Title: "The watchdog's own role changed",
			Source: sourceIAM, Events: watchdogRoleEvents,
			match: watchdogRoleChanged(roles),
		},
		{
			ID: "iam-user-created", Category: "iam_user_created", Title: "IAM user created",
			Source: sourceIAM, Events: []string{"CreateUser"},
			match: iamUserCreated,
		},
		{
			ID: "mfa-deactivated", Category: "mfa_deactivated", Title: "MFA device deactivated",
			Source: sourceIAM, Events: []string{"DeactivateMFADevice"}, Action: QuarantineUser,
			match: mfaDeactivated,
		},
		{
			ID: "virtual-mfa-deleted", Category: "mfa_deactivated", Title: "Virtual MFA device deleted",
			Source: sourceIAM, Events: []string{"DeleteVirtualMFADevice"},
			match: virtualMFADeleted,
		},
		{
			ID: "password-policy-changed", Category: "password_policy_changed", Title: "Account password policy weakened",
			Source: sourceIAM, Events: []string{"UpdateAccountPasswordPolicy", "DeleteAccountPasswordPolicy"},
			match: passwordPolicyChanged,
		},
		{
			ID: "login-profile-created", Category: "login_profile_created", Title: "Console password set for another user",
			Source: sourceIAM, Events: []string{"CreateLoginProfile", "UpdateLoginProfile"},
			match: loginProfileCreated,
		},
		{
			ID: "admin-group-membership", Category: "admin_group_membership", Title: "User added to an administrators' group",
			Source: sourceIAM, Events: []string{"AddUserToGroup"},
			match: adminGroupMembership(s.AdminGroups),
		},
		{
			ID: "cloudtrail-logging-stopped", Category: "cloudtrail_tampering", Title: "CloudTrail logging stopped",
			Source: sourceCloudTrail, Events: []string{"StopLogging"}, CIS: []string{"4.5"}, Action: RestartLogging,
			match: loggingStopped,
		},
		{
			ID: "cloudtrail-trail-deleted", Category: "cloudtrail_tampering", Title: "CloudTrail trail deleted",
			Source: sourceCloudTrail, Events: []string{"DeleteTrail"}, CIS: []string{"4.5"},
			match: trailDeleted,
		},
		{
			ID: "cloudtrail-trail-updated", Category: "cloudtrail_tampering", Title: "CloudTrail trail changed",
			Source: sourceCloudTrail, Events: []string{"UpdateTrail"}, CIS: []string{"4.5"},
			match: trailUpdated,
		},
		{
			ID: "cloudtrail-selectors-changed", Category: "cloudtrail_tampering", Title: "CloudTrail stopped logging management events",
			Source: sourceCloudTrail, Events: []string{"PutEventSelectors"},
			match: eventSelectorsChanged,
		},
		{
			ID: "cloudtrail-trail-created", Category: "cloudtrail_tampering", Title: "CloudTrail trail created",
			Source: sourceCloudTrail, Events: []string{"CreateTrail"}, CIS: []string{"4.5"},
			match: trailCreated,
		},
		{
			ID: "cloudtrail-logging-started", Category: "cloudtrail_tampering", Title: "CloudTrail logging started",
			Source: sourceCloudTrail, Events: []string{"StartLogging"}, CIS: []string{"4.5"},
			match: loggingStarted,
		},
		{
			ID: "cloudtrail-logs-expiring", Category: "cloudtrail_tampering", Title: "Trail bucket set to delete its logs within days",
			Source: sourceS3, Events: []string{"PutBucketLifecycle"}, CIS: []string{"4.8"},
			match: buckets.logsExpiring,
		},
		{
			ID: "kms-key-disabled", Category: "kms_key_disabled", Title: "KMS key disabled or scheduled for deletion",
			Source: sourceKMS, Events: []string{"DisableKey", "ScheduleKeyDeletion"}, CIS: []string{"4.7"},
			match: kmsKeyDisabled,
		},
		{
			ID: "s3-bucket-policy-changed", Category: "s3_bucket_policy_changed", Title: "S3 bucket policy or configuration changed",
			Source: sourceS3, Events: s3BucketEvents, CIS: []string{"4.8"},
			match: s3BucketChanged(buckets),
		},
		{
			ID: "config-changed", Category: "config_changed", Title: "AWS Config recording changed",
			Source: sourceConfig, Events: []string{"StopConfigurationRecorder", "DeleteDeliveryChannel", "PutDeliveryChannel", "PutConfigurationRecorder"},
			CIS: []string{"4.9"}, match: configChanged,
		},
		{
			ID: "security-group-changed", Category: "security_group_changed", Title: "Security group changed",
			Source: sourceEC2, Events: []string{"AuthorizeSecurityGroupIngress", "AuthorizeSecurityGroupEgress", "RevokeSecurityGroupIngress",
				"RevokeSecurityGroupEgress", "CreateSecurityGroup", "DeleteSecurityGroup"},
			CIS: []string{"4.10"}, match: securityGroupChanged,
		},
		{
			ID: "nacl-changed", Category: "nacl_changed", Title: "Network ACL changed",
			Source: sourceEC2, Events: []string{"CreateNetworkAcl", "CreateNetworkAclEntry", "DeleteNetworkAcl", "DeleteNetworkAclEntry",
				"ReplaceNetworkAclEntry", "ReplaceNetworkAclAssociation"},
			CIS: []string{"4.11"}, match: naclChanged,
		},
		{
			ID: "network-gateway-changed", Category: "network_gateway_changed", Title: "Network gateway changed",
			Source: sourceEC2, Events: []string{"CreateCustomerGateway", "DeleteCustomerGateway", "AttachInternetGateway",
				"CreateInternetGateway", "DeleteInternetGateway", "DetachInternetGateway"},
			CIS: []string{"4.12"}, match: gatewayChanged,
		},
		{
			ID: "route-table-changed", Category: "route_table_changed", Title: "Route table changed",
			Source: sourceEC2, Events: []string{"CreateRoute", "CreateRouteTable", "ReplaceRoute", "ReplaceRouteTableAssociation",
				"DeleteRouteTable", "DeleteRoute", "DisassociateRouteTable"},
			CIS: []string{"4.13"}, match: routeTableChanged,
		},
		{
			ID: "vpc-changed", Category: "vpc_changed", Title: "VPC changed",
			Source: sourceEC2, Events: []string{"CreateVpc", "DeleteVpc", "ModifyVpcAttribute", "AcceptVpcPeeringConnection",
				"CreateVpcPeeringConnection", "DeleteVpcPeeringConnection", "RejectVpcPeeringConnection", "AttachClassicLinkVpc",
				"DetachClassicLinkVpc", "DisableVpcClassicLink", "EnableVpcClassicLink"},
			CIS: []string{"4.14"}, match: vpcChanged,
		},
		{
			ID: "organizations-changed", Category: "organizations_changed", Title: "AWS Organizations changed",
			Source: sourceOrganizations, Events: organizationsEvents, CIS: []string{"4.15"},
			match: organizationsChanged,
		},
		// Defence evasion: the services that would see an attacker, switched off. CIS v3.0's
		// monitoring controls have no metric filter for them.
		{
			ID: "guardduty-disabled", Category: "defense_evasion", Title: "GuardDuty detector deleted or disabled",
			Source: sourceGuardDuty, Events: guardDutyEvents,
			match: guardDutyDisabled,
		},
		{
			ID: "securityhub-disabled", Category: "defense_evasion", Title: "Security Hub disabled",
			Source: sourceSecurityHub, Events: []string{"DisableSecurityHub"},
			match: securityHubDisabled,
		},
		{
			ID: "access-analyzer-deleted", Category: "defense_evasion", Title: "IAM Access Analyzer analyzer deleted",
			Source: sourceAccessAnalyzer, Events: []string{"DeleteAnalyzer"},
			match: accessAnalyzerDeleted,
		},
		{
			ID: "flow-logs-deleted", Category: "defense_evasion", Title: "VPC flow logs deleted",
			Source: sourceEC2, Events: []string{"DeleteFlowLogs"},
			match: flowLogsDeleted,
		},
		{
			ID: "s3-public-access-block-removed", Category: "defense_evasion", Title: "S3 Block Public Access removed or weakened",
			Source: sourceS3, Events: publicAccessBlockEvents,
			match: publicAccessBlockRemoved,
		},
		// The AnyEvent rules come last: Detect asks them only about records no rule above
		// reported, and the first of them that matches wins.
		{
			ID: "root-activity", Category: "root_activity", Title: "Root user activity",
			Source: AnyEventSource, Events: []string{AnyEventSource}, AnyEvent: true,
			Scope: "any call by the root user, except those an AWS service makes for it", CIS: []string{"4.3"},
			wants: rootCall, match: rootActivity,
		},
		{
			ID: "unauthorized-api-calls", Category: "unauthorized_api_calls", Title: "API call denied",
			Source: AnyEventSource, Events: []string{AnyEventSource}, AnyEvent: true,
			Scope: `any call whose errorCode ends in "UnauthorizedOperation" or starts with "AccessDenied"`, CIS: []string{"4.1"},
			wants: deniedCall, match: unauthorizedCall,
		},
	}
}

// grade applies the severity principles every rule shares to a rule's base severity: root
// above everyone; a change an AWS service made on someone's behalf one step lower (a console
// user is no service: see ActingService); a call that failed one step lower and never above
// medium.
func grade(base Severity, rec *cloudtrail.Record) Severity {
	s := base
	if rec.IsRoot() {
		s = Critical
	}
	if ActingService(rec.UserIdentity.InvokedBy) != "" {
		s--
	}
	if rec.Failed() {
		s = min(s-1, Medium)
	}
	return clamp(s)
}

// byService is the clause added to a finding's sentence when an AWS service made the call.
func byService(rec *cloudtrail.Record) string {
	if svc := ActingService(rec.UserIdentity.InvokedBy); svc != "" {
		return fmt.Sprintf(" (made by %s on the actor's behalf: change its template or configuration, since a revert would fight it)", svc)
	}
	return ""
}

// failedClause is the clause added when the call failed.
func failedClause(rec *cloudtrail.Record) string {
	if rec.Failed() {
		return fmt.Sprintf(" — the call failed (%s), so nothing changed, but someone tried", rec.ErrorCode)
	}
	return ""
}

const rootManual = "No API can undo what the root user does. If this was not you: sign in as root, change the password, " +
	"replace the root MFA device, delete any root access keys, and review the root user's recent activity in CloudTrail. " +
	"Then lock the root user away again: daily work belongs to individual IAM users or roles."

func rootSignin(rec *cloudtrail.Record, f *Finding) bool {
	if !rec.IsRoot() {
		return false
	}
	var add struct {
		MFAUsed string `json:"MFAUsed"`
	}
	_ = rec.Additional(&add)
	f.Target = "arn:" + rec.Partition() + ":iam::" + rec.Account() + ":root"
	f.Manual = rootManual
	from := fromClause(rec)
	switch outcome, recorded := consoleLoginOutcome(rec); outcome {
	case signinFailure:
		f.Severity = Medium
		f.Title = "Failed root user sign-in"
		f.Why = fmt.Sprintf("Someone tried and failed to sign in as the root user%s; the root user should be locked away, so any attempt deserves a look.", from)
		return true
	case signinUnknown:
		// Never graded a success, never below medium: someone reached the root sign-in.
		f.Severity = Medium
		f.Title = "Root user sign-in, outcome unknown"
		f.Why = fmt.Sprintf("A console sign-in as the root user%s was recorded with %s, so its outcome is unknown; treat it as a root sign-in until CloudTrail's Event history or the account's owner says otherwise.", from, recorded)
		return true
	}
	mfa := "with MFA"
	f.Severity = High
	if add.MFAUsed != "Yes" {
		f.Severity, mfa = Critical, "without MFA"
	}
	f.Why = fmt.Sprintf("The root user signed in to the console %s%s; lock the root user away and use individual IAM users or roles for daily work.", mfa, from)
	return true
}

func accessKeyCreated(rec *cloudtrail.Record, f *Finding) bool {
	var req struct {
		UserName string `json:"userName"`
	}
	var resp struct {
		AccessKey struct {
			UserName    string `json:"userName"`
			AccessKeyID string `json:"accessKeyId"`
		} `json:"accessKey"`
	}
	_ = rec.Param(&req)
	_ = rec.Response(&resp)
	target := req.UserName
	if target == "" {
		target = resp.AccessKey.UserName
	}
	key := resp.AccessKey.AccessKeyID
	keyText := "an access key"
	if key != "" {
		keyText = "access key " + key
	}

	// Without a userName, the key belongs to whoever made the call: for the root user, a root
	// access key, which IAM cannot deactivate on anyone else's behalf.
	if rec.IsRoot() && req.UserName == "" {
		f.Target = "arn:" + rec.Partition() + ":iam::" + rec.Account() + ":root"
		f.Severity = grade(Critical, rec)
		f.Title = "Root access key created"
		f.Why = fmt.Sprintf("The root user created %s for itself%s; root keys give unrestricted, unrecoverable access and cannot be removed through IAM, so the root user must never have one.", keyText, failedClause(rec))
		f.Manual = "Sign in as the root user, open Security credentials, and deactivate then delete the key. " + rootManual
		return true
	}

	// IAM user names are not distinguished by case.
	// Reference: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
	self := rec.UserIdentity.Type == "IAMUser" && (target == "" || strings.EqualFold(target, rec.UserIdentity.UserName))
	if target == "" {
		target = rec.UserIdentity.UserName
	}
	if target == "" {
		// A role has no keys of its own: such a call fails, and names no user.
		f.Target = f.Actor.ARN
		f.Severity = grade(Medium, rec)
		f.Why = fmt.Sprintf("%s tried to create an access key for itself%s; long-term keys belong to no one but a named person.", f.Actor.Name, failedClause(rec))
		return true
	}
	f.Target = userARN(rec, target)
	if self {
		f.Severity = grade(Medium, rec)
		f.Why = fmt.Sprintf("%s created %s for themselves%s%s; long-term keys leak, so prefer temporary credentials and keep at most one active key per person.", f.Actor.Name, keyText, failedClause(rec), byService(rec))
	} else {
		f.Severity = grade(High, rec)
		f.Title = "Access key created for another user"
		f.Why = fmt.Sprintf("%s created %s for user %s%s%s; a key made by someone else is a shared credential, and every person should create and hold their own.", f.Actor.Name, keyText, target, failedClause(rec), byService(rec))
	}
	if rec.IsRoot() {
		f.Manual = rootManual
	}
	if !rec.Failed() && key != "" {
		f.Action = Action{Kind: DeactivateAccessKey, UserName: target, AccessKeyID: key, Account: rec.Account()}
	}
	return true
}

func managedPolicyAttached(rec *cloudtrail.Record, f *Finding) bool {
	var req struct {
		UserName  string `json:"userName"`
		PolicyARN string `json:"policyArn"`
	}
	if err := rec.Param(&req); err != nil || req.UserName == "" {
		return false
	}
	f.Target = userARN(rec, req.UserName)
	policy := req.PolicyARN[strings.LastIndexByte(req.PolicyARN, '/')+1:]
	scope := "narrow"
	if adminManagedPolicy(req.PolicyARN) {
		f.Severity, scope = grade(High, rec), "admin-equivalent"
	} else {
		f.Severity = grade(Medium, rec)
	}
	f.Why = fmt.Sprintf("%s attached %s directly to user %s%s%s; permissions belong on groups, never straight on users.", f.Actor.Name, policyText(scope, "policy", policy), req.UserName, failedClause(rec), byService(rec))
	if rec.IsRoot() {
		f.Manual = rootManual
	}
	if !rec.Failed() && req.PolicyARN != "" {
		f.Action = Action{Kind: DetachUserPolicy, UserName: req.UserName, PolicyARN: req.PolicyARN, Account: rec.Account()}
	}
	return true
}

func inlinePolicyPut(rec *cloudtrail.Record, f *Finding) bool {
	var req struct {
		UserName       string `json:"userName"`
		PolicyName     string `json:"policyName"`
		PolicyDocument string `json:"policyDocument"`
	}
	if err := rec.Param(&req); err != nil || req.UserName == "" {
		return false
	}
	f.Target = userARN(rec, req.UserName)
	scope := "narrow"
	if adminDocument(req.PolicyDocument) {
		f.Severity, scope = grade(High, rec), "admin-equivalent"
	} else {
		f.Severity = grade(Medium, rec)
	}
	f.Why = fmt.Sprintf("%s put %s directly on user %s%s%s; permissions belong on groups, never straight on users.", f.Actor.Name, policyText(scope, "inline policy", req.PolicyName), req.UserName, failedClause(rec), byService(rec))
	if rec.IsRoot() {
		f.Manual = rootManual
	}
	if !rec.Failed() && req.PolicyName != "" {
		f.Action = Action{Kind: DeleteUserPolicy, UserName: req.UserName, PolicyName: req.PolicyName, Account: rec.Account()}
	}
	return true
}

func mfaDeactivated(rec *cloudtrail.Record, f *Finding) bool {
	var req struct {
		UserName     string `json:"userName"`
		SerialNumber string `json:"serialNumber"`
	}
	_ = rec.Param(&req)
	if req.UserName == "" && rec.IsRoot() {
		f.Target = "arn:" + rec.Partition() + ":iam::" + rec.Account() + ":root"
		f.Severity = grade(Critical, rec)
		f.Title = "Root user MFA deactivated"
		f.Why = fmt.Sprintf("The root user deactivated its own MFA device%s; the root user must always sign in with MFA.", failedClause(rec))
		f.Manual = "Sign in as the root user and assign a new MFA device at once. " + rootManual
		return true
	}
	// userName defaults to the caller; a role has no MFA device of its own, so such a call
	// fails and names no user.
	// Reference: https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeactivateMFADevice.html
	user := req.UserName
	if user == "" {
		user = rec.UserIdentity.UserName
	}
	if user == "" {
		f.Target = f.Actor.ARN
		f.Severity = grade(Medium, rec)
		f.Why = fmt.Sprintf("%s tried to deactivate %s%s; every person signing in must use MFA.", f.Actor.Name, named("MFA device", req.SerialNumber), failedClause(rec))
		return true
	}
	f.Target = userARN(rec, user)
	whose := "their own"
	if rec.UserIdentity.Type == "IAMUser" && strings.EqualFold(user, rec.UserIdentity.UserName) {
		f.Severity = grade(Medium, rec)
	} else {
		f.Severity, whose = grade(High, rec), "user "+user+"'s"
	}
	f.Why = fmt.Sprintf("%s deactivated %s MFA device%s%s; every person signing in must use MFA.", f.Actor.Name, whose, failedClause(rec), byService(rec))
	if rec.IsRoot() {
		f.Manual = rootManual
	}
	if !rec.Failed() && user != "" {
		f.Action = Action{Kind: QuarantineUser, UserName: user, Account: rec.Account()}
	}
	return true
}

func virtualMFADeleted(rec *cloudtrail.Record, f *Finding) bool {
	var req struct {
		SerialNumber string `json:"serialNumber"`
	}
	_ = rec.Param(&req)
	f.Target = req.SerialNumber
	base := Medium
	if strings.HasSuffix(req.SerialNumber, ":mfa/root-account-mfa-device") {
		base = Critical
	}
	f.Severity = grade(base, rec)
	f.Why = fmt.Sprintf("%s deleted %s%s%s; whoever used it can no longer prove a second factor until a new device is enrolled.", f.Actor.Name, theNamed("virtual MFA device", req.SerialNumber), failedClause(rec), byService(rec))
	if rec.IsRoot() {
		f.Manual = rootManual
	}
	return true
}

func loggingStopped(rec *cloudtrail.Record, f *Finding) bool {
	var req struct {
		Name string `json:"name"`
	}
	_ = rec.Param(&req)
	f.Target = req.Name
	f.Severity = grade(High, rec)
	f.Why = fmt.Sprintf("%s stopped logging on %s%s%s; without CloudTrail nobody can see what happens in the account, which is the first step of covering tracks.", f.Actor.Name, named("trail", req.Name), failedClause(rec), byService(rec))
	if rec.IsRoot() {
		f.Manual = rootManual
	}
	if !rec.Failed() && req.Name != "" {
		f.Action = Action{Kind: RestartLogging, Trail: req.Name, Region: rec.AWSRegion, Account: rec.Account()}
	}
	return true
}

// userARN builds the ARN of an IAM user from its name. CloudTrail does not record the user's
// path, so the ARN is path-less; allowlists match this form.
func userARN(rec *cloudtrail.Record, name string) string {
	return "arn:" + rec.Partition() + ":iam::" + rec.Account() + ":user/" + name
}

// rootARN is the ARN of the account's root user.
func rootARN(rec *cloudtrail.Record) string {
	return "arn:" + rec.Partition() + ":iam::" + rec.Account() + ":root"
}

// readOnlyCall reports whether the call only read. CloudTrail says so in readOnly; a record
// without it (older or hand-made) is judged by the verbs AWS uses for reads.
func readOnlyCall(rec *cloudtrail.Record) bool {
	if rec.ReadOnly != nil {
		return *rec.ReadOnly
	}
	for _, verb := range []string{"Get", "List", "Describe", "Head", "Lookup"} {
		if strings.HasPrefix(rec.EventName, verb) {
			return true
		}
	}
	return false
}

// fromClause names where a call came from, for sentences.
func fromClause(rec *cloudtrail.Record) string {
	if rec.SourceIPAddress == "" || rec.SourceIPAddress == "AWS Internal" {
		return ""
	}
	return " from " + rec.SourceIPAddress
}

// serviceName is the short name of an event source: iam for iam.amazonaws.com.
func serviceName(source string) string {
	name, _, _ := strings.Cut(source, ".")
	return name
}

// lastSegment is what follows the last '/' (or ':' when there is none) of an ARN.
func lastSegment(arn string) string {
	if i := strings.LastIndexAny(arn, "/:"); i >= 0 {
		return arn[i+1:]
	}
	return arn
}

package audit

import "github.com/iam-watchdog/iam-watchdog/pkg/detect"

// checks is the catalogue, one row per check, in the order an audit runs them and List shows
// them. Why and Fix are what a result carries to whoever must act on it.
var checks = []Check{
	{
		ID: "account-access", Severity: detect.High, Scope: ScopeAccount,
		Title: "The audit can read the account",
		Why:   "An account the audit cannot enter is an account whose posture is unknown.",
		Fix:   "Deploy infra/member-role.yaml to the account (a StackSet for an organisation) with the audit's read permissions, and check that its trust names the watchdog's role.",
		eval:  evalAccountAccess,
	},
	{
		ID: "root-access-key", CIS: "1.4", Severity: detect.Critical, Scope: ScopeAccount,
		Title: "The root user has no access key",
		Why:   "A root access key opens the whole account without MFA, and no policy can limit it: a leaked one is the account lost.",
		Fix:   "Sign in as the root user, open Security credentials, deactivate and then delete each access key; give automation an IAM role instead.",
		eval:  evalRootAccessKey,
	},
	{
		ID: "root-mfa", CIS: "1.5", Severity: detect.Critical, Scope: ScopeAccount,
		Title: "The root user has MFA",
		Why:   "Without MFA the root password alone opens an identity that can do anything and that no policy limits.",
		Fix:   "Sign in as the root user, open Security credentials, Assign MFA device (a security key or hardware token). In an organisation, centralized root access can remove member accounts' root credentials instead.",
		eval:  evalRootMFA,
	},
	{
		ID: "root-hardware-mfa", CIS: "1.6", Severity: detect.Medium, Scope: ScopeAccount,
		Title: "The root user's MFA is a hardware device",
		Why:   "A virtual MFA lives on a phone or laptop that is lost, cloned or compromised along with its owner's other devices; CIS asks for a dedicated device for root.",
		Fix:   "Sign in as the root user, Security credentials, Assign MFA device: Security key or Hardware TOTP token; then remove the virtual device.",
		eval:  evalRootHardwareMFA,
	},
	{
		ID: "root-usage", CIS: "1.7", Severity: detect.Medium, Scope: ScopeAccount,
		Title: "The root user is not used for everyday tasks",
		Why:   "Root can do anything and no policy limits it; using it day to day puts the most powerful credential in harm's way. Only the few tasks that need root should use it.",
		Fix:   "Find the root user's calls in CloudTrail (userIdentity.type Root), move that work to IAM roles with least privilege, and change the root password. Tasks that need root: https://docs.aws.amazon.com/IAM/latest/UserGuide/root-user-tasks.html",
		eval:  evalRootUsage,
	},
	{
		ID: "centralized-root-access", Severity: detect.Medium, Scope: ScopeAccount,
		Title: "Member accounts' root credentials are managed centrally",
		Why:   "With root credentials management on, member accounts need no root password, keys or MFA of their own: nothing to steal, and the rare root task runs as a short session from the management account.",
		Fix:   "In the management account: aws organizations enable-aws-service-access --service-principal iam.amazonaws.com; aws iam enable-organizations-root-credentials-management; then delete the member accounts' root credentials.",
		eval:  evalCentralizedRootAccess,
	},
	{
		ID: "password-length", CIS: "1.8", Severity: detect.Medium, Scope: ScopeAccount,
		Title: "The password policy requires 14 or more characters",
		Why:   "Short passwords fall to guessing and cracking; without a policy IAM accepts 8 characters.",
		Fix:   "aws iam update-account-password-policy --minimum-password-length 14 --password-reuse-prevention 24 (it replaces the whole policy: repeat your other settings, or run infra/baseline.yaml's PasswordPolicyCommand output).",
		eval:  evalPasswordLength,
	},
	{
		ID: "password-reuse", CIS: "1.9", Severity: detect.Low, Scope: ScopeAccount,
		Title: "The password policy prevents reuse of the last 24 passwords",
		Why:   "A user who cycles back to an old password brings back whatever exposure it had.",
		Fix:   "aws iam update-account-password-policy --minimum-password-length 14 --password-reuse-prevention 24 (it replaces the whole policy: repeat your other settings, or run infra/baseline.yaml's PasswordPolicyCommand output).",
		eval:  evalPasswordReuse,
	},
	{
		ID: "user-mfa", CIS: "1.10", Severity: detect.High, Scope: ScopeAccount,
		Title: "Every user with a console password has MFA",
		Why:   "A phished or reused password is all it takes to sign in as a user without MFA.",
		Fix:   "Have the user assign an MFA device (IAM console, the user, Security credentials), or remove a password nobody needs: aws iam delete-login-profile --user-name USER. The baseline groups deny everything until MFA is used.",
		eval:  evalUserMFA,
	},
	{
		ID: "key-at-setup", CIS: "1.11", Severity: detect.Low, Scope: ScopeAccount,
		Title: "No console user has an active access key that was never used",
		Why:   "Keys created with a user just in case are long-lived secrets nobody watches: all exposure, no use.",
		Fix:   "Confirm nothing uses it, then: aws iam delete-access-key --user-name USER --access-key-id KEY",
		eval:  evalKeyAtSetup,
	},
	{
		ID: "unused-credentials", CIS: "1.12", Severity: detect.Medium, Scope: ScopeAccount,
		Title: "No password or active access key is left unused (45 days by default)",
		Why:   "Credentials nobody uses are credentials nobody notices being used by someone else.",
		Fix:   "aws iam update-access-key --user-name USER --access-key-id KEY --status Inactive; for a password: aws iam delete-login-profile --user-name USER",
		eval:  evalUnusedCredentials,
	},
	{
		ID: "one-active-key", CIS: "1.13", Severity: detect.Low, Scope: ScopeAccount,
		Title: "No user has more than one active access key",
		Why:   "Two active keys are twice what can leak, and usually a rotation started and never finished.",
		Fix:   "Move the user's software to the newer key, then: aws iam update-access-key --user-name USER --access-key-id OLD_KEY --status Inactive",
		eval:  evalOneActiveKey,
	},
	{
		ID: "key-rotation", CIS: "1.14", Severity: detect.Medium, Scope: ScopeAccount,
		Title: "Active access keys are rotated (every 90 days by default)",
		Why:   "A key that lives for years has had years to leak; rotation bounds how long a leaked key works.",
		Fix:   "aws iam create-access-key --user-name USER; move the user's software to the new key; aws iam update-access-key --user-name USER --access-key-id OLD_KEY --status Inactive; then delete the old key.",
		eval:  evalKeyRotation,
	},
	{
		ID: "user-policies", CIS: "1.15", Severity: detect.Medium, Scope: ScopeAccount,
		Title: "Users get permissions only through groups",
		Why:   "Policies on single users are how access drifts unseen; groups keep who-can-do-what reviewable. The watchdog also flags such policies as they appear (user_policy_attached).",
		Fix:   "aws iam add-user-to-group --user-name USER --group-name GROUP, then aws iam detach-user-policy --user-name USER --policy-arn ARN or aws iam delete-user-policy --user-name USER --policy-name NAME",
		eval:  evalUserPolicies,
	},
	{
		ID: "full-admin-policy", CIS: "1.16", Severity: detect.High, Scope: ScopeAccount,
		Title: `No policy granting full "*:*" administrative privileges is attached`,
		Why:   "Allow * on * is every permission in the account, the power to remove every control included; least privilege starts with not handing it out.",
		Fix:   "Replace it with policies for the tasks needed, then detach it (aws iam detach-user-policy, detach-group-policy or detach-role-policy --policy-arn ARN) or delete the inline policy (aws iam delete-user-policy, delete-group-policy or delete-role-policy).",
		eval:  evalFullAdminPolicy,
	},
	{
		ID: "support-role", CIS: "1.17", Severity: detect.Low, Scope: ScopeAccount,
		Title: "A role for AWS Support exists",
		Why:   "An incident needs someone who can open support cases without root or broad administrator rights.",
		Fix:   "aws iam create-role --role-name aws-support --assume-role-policy-document file://trust.json; aws iam attach-role-policy --role-name aws-support --policy-arn arn:aws:iam::aws:policy/AWSSupportAccess",
		eval:  evalSupportRole,
	},
	{
		ID: "baseline-groups", Severity: detect.Medium, Scope: ScopeAccount,
		Title: "Every human user is in a baseline group",
		Why:   "People get their access from the baseline groups (infra/baseline.yaml), which also require MFA; a person outside them has access nobody designed.",
		Fix:   "aws iam add-user-to-group --user-name USER --group-name GROUP (Administrators, Developers or Business by default; audit.groups names yours).",
		eval:  evalBaselineGroups,
	},
	{
		ID: "watchdog-trail", Severity: detect.High, Scope: ScopeAccount,
		Title: "A multi-Region trail logs all management events, with log file validation",
		Why:   "EventBridge gets CloudTrail's API events only while a trail logs them: without one the watchdog sees nothing. Multi-Region catches sign-ins and calls outside the home Region; validation makes tampering with the logs detectable.",
		Fix:   "Deploy infra/trail.yaml, or: aws cloudtrail create-trail --name NAME --s3-bucket-name BUCKET --is-multi-region-trail --enable-log-file-validation; aws cloudtrail start-logging --name NAME",
		eval:  evalTrail,
	},
	{
		ID: "watchdog-rules", Severity: detect.High, Scope: ScopeHome,
		Title: "The watchdog's EventBridge rules are enabled",
		Why:   "A disabled or deleted rule silently stops the events it routes: the watchdog cannot alert on what never reaches it.",
		Fix:   "aws events enable-rule --name RULE, or redeploy the stack (sam deploy).",
		eval:  evalRules,
	},
	{
		ID: "watchdog-forwarding", Severity: detect.Medium, Scope: ScopeAccount,
		Title: "Events are forwarded to the watchdog's home bus",
		Why:   "Sign-ins and CloudTrail changes outside the home Region, and all events of other accounts, reach the watchdog only through infra/forwarder.yaml's rules.",
		Fix:   "Deploy infra/forwarder.yaml to the account and Region (a StackSet for an organisation), or enable its rules: aws events enable-rule --name RULE --region REGION",
		eval:  evalForwarding,
	},
	{
		ID: "watchdog-slack", Severity: detect.High, Scope: ScopeHome,
		Title: "Slack accepts the watchdog's credentials",
		Why:   "An alert that cannot be posted is an alert nobody reads.",
		Fix:   `Check that the secret is JSON such as {"token": "xoxb-…"} and that the function may read it; reinstall the Slack app if auth.test says invalid_auth or token_revoked (docs/slack-app.md).`,
		eval:  evalSlack,
	},
	{
		ID: "watchdog-dead-letters", Severity: detect.Medium, Scope: ScopeHome,
		Title: "The watchdog's dead-letter queue is empty",
		Why:   "Each message is an event the watchdog failed to handle or EventBridge failed to deliver: a missed alert.",
		Fix:   "Read the messages (aws sqs receive-message --queue-url URL), replay what was missed (watchdog replay), fix the cause from the function's logs, then purge the queue.",
		eval:  evalDeadLetters,
	},
}

// accountAccess is the check an account that cannot be read is reported under.
var accountAccess = &checks[0]

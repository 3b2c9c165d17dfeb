package detect_test

import (
	eventstestdata "github.com/iam-watchdog/iam-watchdog/events-testdata"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/iam-watchdog/iam-watchdog/pkg/cloudtrail"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/policy"
)

// eventsDir holds the shared EventBridge fixtures (see its README.md).
const eventsDir = "../../events-testdata"

const account = "123456789012"

// alert is one finding an alert- file must produce, alerted under the default config.
type alert struct {
	rule     string
	category string
	severity detect.Severity
	actor    string // Finding.Actor.Name; the Why sentence must name it
	target   string
	action   detect.Action // the whole proposed action; zero when no API can undo the change
	act      bool          // Decision.Act under the default config (dry-run)
	region   string        // Finding.Region, checked when set
}

// expectation is what one file must give. A quiet- file has no alerts; dropped lists the rules
// whose findings it does produce but which the default policy must drop as the watchdog's own.
type expectation struct {
	alerts  []alert
	dropped []string
}

func userARN(name string) string { return "arn:aws:iam::" + account + ":user/" + name }

const (
	rootARN    = "arn:aws:iam::" + account + ":root"
	trailARN   = "arn:aws:cloudtrail:us-east-1:" + account + ":trail/management-events"
	ssoAdmin   = "role AWSReservedSSO_AdministratorAccess_4f1c2d3e5a6b7c8d"
	dave       = ssoAdmin + " (session dave@example.com)"
	priya      = ssoAdmin + " (session priya@example.com)"
	terraform  = "role terraform-deployer (session ci-run-1187)"
	hana       = "role network-admin (session hana)"
	rootName   = "the root user"
	adminARN   = "arn:aws:iam::aws:policy/AdministratorAccess"
	iamFullARN = "arn:aws:iam::aws:policy/IAMFullAccess"
)

// expectations lists every file under events-testdata, by its slash-separated path there.
var expectations = map[string]expectation{
	// Root sign-in: without MFA critical, with MFA high, a failed attempt medium.
	"root_signin/alert-root-success-no-mfa.json": {alerts: []alert{{
		rule: "root-console-signin", category: "root_signin", severity: detect.Critical,
		actor: rootName, target: rootARN,
	}}},
	"root_signin/alert-root-success-mfa.json": {alerts: []alert{{
		rule: "root-console-signin", category: "root_signin", severity: detect.High,
		actor: rootName, target: rootARN,
	}}},
	"root_signin/alert-root-failure.json": {alerts: []alert{{
		rule: "root-console-signin", category: "root_signin", severity: detect.Medium,
		actor: rootName, target: rootARN,
	}}},
	"root_signin/alert-root-signin-eu-west-1.json": {alerts: []alert{{
		rule: "root-console-signin", category: "root_signin", severity: detect.High,
		actor: rootName, target: rootARN, region: "eu-west-1",
	}}},
	"root_signin/quiet-iam-user-signin.json":     {},
	"root_signin/quiet-assumed-role-signin.json": {},
	"root_signin/quiet-root-check-mfa.json":      {},

	// Access keys: for oneself medium, for someone else high, anything by root critical, a
	// failed call lower still; the key itself is what remediation deactivates.
	"access_key_created/alert-self.json": {alerts: []alert{{
		rule: "access-key-created", category: "access_key_created", severity: detect.Medium,
		actor: "alice", target: userARN("alice"),
		action: detect.Action{Kind: detect.DeactivateAccessKey, UserName: "alice", AccessKeyID: "AKIA5ALICENEWKEY7Q2X", Account: account},
		act:    true,
	}}},
	"access_key_created/alert-other-user.json": {alerts: []alert{{
		rule: "access-key-created", category: "access_key_created", severity: detect.High,
		actor: "bob", target: userARN("ci-deployer"),
		action: detect.Action{Kind: detect.DeactivateAccessKey, UserName: "ci-deployer", AccessKeyID: "AKIA5CIDEPLOYKEY3H8N", Account: account},
		act:    true,
	}}},
	"access_key_created/alert-root-own-key.json": {alerts: []alert{{
		rule: "access-key-created", category: "access_key_created", severity: detect.Critical,
		actor: rootName, target: rootARN,
	}}},
	"access_key_created/alert-root-for-user.json": {alerts: []alert{{
		rule: "access-key-created", category: "access_key_created", severity: detect.Critical,
		actor: rootName, target: userARN("carol"),
		action: detect.Action{Kind: detect.DeactivateAccessKey, UserName: "carol", AccessKeyID: "AKIA5CAROLNEWKEY1D6W", Account: account},
		act:    true,
	}}},
	"access_key_created/alert-assumed-role-for-user.json": {alerts: []alert{{
		rule: "access-key-created", category: "access_key_created", severity: detect.High,
		actor: dave, target: userARN("ci-deployer"),
		action: detect.Action{Kind: detect.DeactivateAccessKey, UserName: "ci-deployer", AccessKeyID: "AKIA5CIDEPLOYKEY9R2C", Account: account},
		act:    true,
	}}},
	"access_key_created/alert-failed-access-denied.json": {alerts: []alert{{
		rule: "access-key-created", category: "access_key_created", severity: detect.Low,
		actor: "erin", target: userARN("erin"),
		// Named so the decision can say it was not taken because the call failed.
		action: detect.Action{Kind: detect.DeactivateAccessKey, Account: account},
	}}},
	"access_key_created/quiet-list-access-keys.json":  {},
	"access_key_created/quiet-own-watchdog-call.json": {},

	// Policies on users: admin-equivalent high, narrow medium, one lower when CloudFormation
	// made the call (and then remediation stays its hand).
	"user_policy_attached/alert-attach-admin.json": {alerts: []alert{{
		rule: "user-managed-policy-attached", category: "user_policy_attached", severity: detect.High,
		actor: "bob", target: userARN("contractor-jo"),
		action: detect.Action{Kind: detect.DetachUserPolicy, UserName: "contractor-jo", PolicyARN: adminARN, Account: account},
		act:    true,
	}}},
	"user_policy_attached/alert-attach-narrow.json": {alerts: []alert{{
		rule: "user-managed-policy-attached", category: "user_policy_attached", severity: detect.Medium,
		actor: dave, target: userARN("auditor-kim"),
		action: detect.Action{Kind: detect.DetachUserPolicy, UserName: "auditor-kim", PolicyARN: "arn:aws:iam::aws:policy/ReadOnlyAccess", Account: account},
		act:    true,
	}}},
	"user_policy_attached/alert-put-inline-admin.json": {alerts: []alert{{
		rule: "user-inline-policy-put", category: "user_policy_attached", severity: detect.High,
		actor: "bob", target: userARN("ci-deployer"),
		action: detect.Action{Kind: detect.DeleteUserPolicy, UserName: "ci-deployer", PolicyName: "ci-full-access", Account: account},
		act:    true,
	}}},
	"user_policy_attached/alert-put-inline-narrow.json": {alerts: []alert{{
		rule: "user-inline-policy-put", category: "user_policy_attached", severity: detect.Medium,
		actor: dave, target: userARN("ci-deployer"),
		action: detect.Action{Kind: detect.DeleteUserPolicy, UserName: "ci-deployer", PolicyName: "read-build-artifacts", Account: account},
		act:    true,
	}}},
	"user_policy_attached/alert-attach-via-cloudformation.json": {alerts: []alert{{
		rule: "user-managed-policy-attached", category: "user_policy_attached", severity: detect.Medium,
		actor: priya, target: userARN("build-agent"),
		action: detect.Action{Kind: detect.DetachUserPolicy, UserName: "build-agent", PolicyARN: iamFullARN, Account: account},
	}}},
	"user_policy_attached/quiet-own-watchdog-quarantine.json": {dropped: []string{"user-managed-policy-attached"}},

	// MFA: another user's high, one's own medium, root's own critical. Quarantine acts with
	// the deployment's quarantine_policy_arn.
	"mfa_deactivated/alert-deactivate-other-user.json": {alerts: []alert{{
		rule: "mfa-deactivated", category: "mfa_deactivated", severity: detect.High,
		actor: "bob", target: userARN("frank"),
		action: detect.Action{Kind: detect.QuarantineUser, UserName: "frank", Account: account},
		act:    true,
	}}},
	"mfa_deactivated/alert-deactivate-self.json": {alerts: []alert{{
		rule: "mfa-deactivated", category: "mfa_deactivated", severity: detect.Medium,
		actor: "gina", target: userARN("gina"),
		action: detect.Action{Kind: detect.QuarantineUser, UserName: "gina", Account: account},
		act:    true,
	}}},
	"mfa_deactivated/alert-root-deactivate-own.json": {alerts: []alert{{
		rule: "mfa-deactivated", category: "mfa_deactivated", severity: detect.Critical,
		actor: rootName, target: rootARN,
	}}},
	"mfa_deactivated/alert-delete-virtual-mfa.json": {alerts: []alert{{
		rule: "virtual-mfa-deleted", category: "mfa_deactivated", severity: detect.Medium,
		actor: "bob", target: "arn:aws:iam::" + account + ":mfa/frank-iphone",
	}}},
	"mfa_deactivated/quiet-enable-mfa.json": {},

	"cloudtrail_tampering/alert-stop-logging.json": {alerts: []alert{{
		rule: "cloudtrail-logging-stopped", category: "cloudtrail_tampering", severity: detect.High,
		actor: dave, target: trailARN,
		action: detect.Action{Kind: detect.RestartLogging, Trail: trailARN, Region: "us-east-1", Account: account},
		act:    true,
	}}},
	// CIS 4.5: logging started and trails created are reported too, low or info; the watchdog's
	// own restart is its own call.
	"cloudtrail_tampering/alert-start-logging.json": {alerts: []alert{{
		rule: "cloudtrail-logging-started", category: "cloudtrail_tampering", severity: detect.Info,
		actor: dave, target: trailARN,
	}}},
	"cloudtrail_tampering/alert-create-trail.json": {alerts: []alert{{
		rule: "cloudtrail-trail-created", category: "cloudtrail_tampering", severity: detect.Low,
		actor: terraform, target: "arn:aws:cloudtrail:us-east-1:" + account + ":trail/org-audit",
	}}},
	"cloudtrail_tampering/quiet-own-watchdog-restart-logging.json": {dropped: []string{"cloudtrail-logging-started"}},
	"cloudtrail_tampering/quiet-get-trail-status.json":             {},
	// A lifecycle rule that deletes the trail bucket's logs within a day; the same bucket
	// archived and kept for 400 days is an ordinary CIS 4.8 lifecycle change.
	"cloudtrail_tampering/alert-trail-bucket-lifecycle-expire.json": {alerts: []alert{{
		rule: "cloudtrail-logs-expiring", category: "cloudtrail_tampering", severity: detect.High,
		actor: dave, target: "arn:aws:s3:::aws-cloudtrail-logs-123456789012-3f9a1c2e",
	}}},
	"s3_bucket_policy_changed/alert-trail-bucket-lifecycle-archive.json": {alerts: []alert{{
		rule: "s3-bucket-policy-changed", category: "s3_bucket_policy_changed", severity: detect.Low,
		actor: terraform, target: "arn:aws:s3:::aws-cloudtrail-logs-123456789012-3f9a1c2e",
	}}},

	// Defence evasion, graded by how much it blinds the account.
	"defense_evasion/alert-guardduty-delete-detector.json": {alerts: []alert{{
		rule: "guardduty-disabled", category: "defense_evasion", severity: detect.High,
		actor: dave, target: "arn:aws:guardduty:us-east-1:" + account + ":detector/12abc34d567e8fa901bc2d34e56789f0",
	}}},
	"defense_evasion/alert-guardduty-disable-protections.json": {alerts: []alert{{
		rule: "guardduty-disabled", category: "defense_evasion", severity: detect.Medium,
		actor: "bob", target: "arn:aws:guardduty:us-east-1:" + account + ":detector/12abc34d567e8fa901bc2d34e56789f0",
	}}},
	"defense_evasion/alert-disable-security-hub.json": {alerts: []alert{{
		rule: "securityhub-disabled", category: "defense_evasion", severity: detect.Medium,
		actor: "bob", target: "arn:aws:securityhub:us-east-1:" + account + ":hub/default",
	}}},
	"defense_evasion/alert-delete-analyzer.json": {alerts: []alert{{
		rule: "access-analyzer-deleted", category: "defense_evasion", severity: detect.Medium,
		actor: dave, target: "arn:aws:access-analyzer:us-east-1:" + account + ":analyzer/account-analyzer",
	}}},
	"defense_evasion/alert-delete-flow-logs.json": {alerts: []alert{{
		rule: "flow-logs-deleted", category: "defense_evasion", severity: detect.Medium,
		actor: hana, target: "arn:aws:ec2:us-east-1:" + account + ":vpc-flow-log/fl-0a1b2c3d4e5f60718",
	}}},
	"defense_evasion/alert-delete-account-public-access-block.json": {alerts: []alert{{
		rule: "s3-public-access-block-removed", category: "defense_evasion", severity: detect.High,
		actor: dave, target: rootARN,
	}}},
	"defense_evasion/alert-bucket-public-access-block-weakened.json": {alerts: []alert{{
		rule: "s3-public-access-block-removed", category: "defense_evasion", severity: detect.Medium,
		actor: "bob", target: "arn:aws:s3:::example-orders-exports",
	}}},
	"defense_evasion/quiet-guardduty-publishing-frequency.json":    {},
	"defense_evasion/quiet-enable-security-hub.json":               {},
	"defense_evasion/quiet-create-analyzer.json":                   {},
	"defense_evasion/quiet-create-flow-logs.json":                  {},
	"defense_evasion/quiet-bucket-public-access-block-all-on.json": {},

	// New IAM users: low, and the root user's (in the console, invokedBy signin.amazonaws.com:
	// a person, not a service) critical.
	"iam_user_created/alert-create-user.json": {alerts: []alert{{
		rule: "iam-user-created", category: "iam_user_created", severity: detect.Low,
		actor: "bob", target: userARN("maria"),
	}}},
	"iam_user_created/alert-root-create-user-console.json": {alerts: []alert{{
		rule: "iam-user-created", category: "iam_user_created", severity: detect.Critical,
		actor: rootName, target: userARN("temp-admin"),
	}}},
	"iam_user_created/quiet-list-users.json": {},

	// A console user is no service acting for someone: graded and reverted as the same call
	// without invokedBy.
	"user_policy_attached/alert-attach-in-console.json": {alerts: []alert{{
		rule: "user-managed-policy-attached", category: "user_policy_attached", severity: detect.High,
		actor: "bob", target: userARN("contractor-jo"),
		action: detect.Action{Kind: detect.DetachUserPolicy, UserName: "contractor-jo", PolicyARN: adminARN, Account: account},
		act:    true,
	}}},

	// A role of the member role's (default) name created in the home account, trusting another
	// account: someone preparing to pose as the watchdog.
	"watchdog_tampering/alert-create-member-named-role.json": {alerts: []alert{{
		rule: "watchdog-role-changed", category: "watchdog_tampering", severity: detect.High,
		actor: "bob", target: "arn:aws:iam::" + account + ":role/iam-watchdog-member",
	}}},
	"watchdog_tampering/quiet-create-other-role.json": {},

	// Sign-ins whose outcome the record does not give: never a success.
	"console_login_no_mfa/alert-outcome-unknown.json": {alerts: []alert{{
		rule: "console-login-no-mfa", category: "console_login_no_mfa", severity: detect.Low,
		actor: "carol", target: userARN("carol"), region: "us-east-2",
	}}},
	"root_signin/alert-root-outcome-unknown.json": {alerts: []alert{{
		rule: "root-console-signin", category: "root_signin", severity: detect.Medium,
		actor: rootName, target: rootARN,
	}}},

	"other/quiet-s3-getobject.json":       {},
	"other/quiet-describe-instances.json": {},

	// The rules of the issue "every CIS monitoring control and the rest of the IAM best
	// practices": one alert per event, graded as the spine grades.
	"admin_group_membership/alert-add-to-admins.json": {alerts: []alert{{
		rule: "admin-group-membership", category: "admin_group_membership", severity: detect.High,
		actor: "bob", target: userARN("contractor-jo"),
	}}},
	"cloudtrail_tampering/alert-delete-trail.json": {alerts: []alert{{
		rule: "cloudtrail-trail-deleted", category: "cloudtrail_tampering", severity: detect.High,
		actor: dave, target: trailARN,
	}}},
	"cloudtrail_tampering/alert-event-selectors-read-only.json": {alerts: []alert{{
		rule: "cloudtrail-selectors-changed", category: "cloudtrail_tampering", severity: detect.High,
		actor: dave, target: trailARN,
	}}},
	"cloudtrail_tampering/alert-update-trail-single-region.json": {alerts: []alert{{
		rule: "cloudtrail-trail-updated", category: "cloudtrail_tampering", severity: detect.High,
		actor: dave, target: trailARN,
	}}},
	"cloudtrail_tampering/alert-update-trail-validation-on.json": {alerts: []alert{{
		rule: "cloudtrail-trail-updated", category: "cloudtrail_tampering", severity: detect.Low,
		actor: terraform, target: trailARN,
	}}},
	"config_changed/alert-put-delivery-channel.json": {alerts: []alert{{
		rule: "config-changed", category: "config_changed", severity: detect.Low,
		actor: terraform, target: "delivery channel default",
	}}},
	"config_changed/alert-stop-recorder.json": {alerts: []alert{{
		rule: "config-changed", category: "config_changed", severity: detect.High,
		actor: dave, target: "configuration recorder default",
	}}},
	"console_auth_failure/alert-unknown-user-name.json": {alerts: []alert{{
		rule: "console-auth-failure", category: "console_auth_failure", severity: detect.Low,
		actor: "an unknown user name", target: "",
	}}},
	"console_auth_failure/alert-wrong-password.json": {alerts: []alert{{
		rule: "console-auth-failure", category: "console_auth_failure", severity: detect.Low,
		actor: "alice", target: userARN("alice"),
	}}},
	"console_login_no_mfa/alert-iam-user-no-mfa.json": {alerts: []alert{{
		rule: "console-login-no-mfa", category: "console_login_no_mfa", severity: detect.Medium,
		actor: "carol", target: userARN("carol"), region: "us-east-2",
	}}},
	"iam_policy_changed/alert-attach-group-policy.json": {alerts: []alert{{
		rule: "iam-policy-changed", category: "iam_policy_changed", severity: detect.High,
		actor: "bob", target: "arn:aws:iam::123456789012:group/Admins",
	}}},
	"iam_policy_changed/alert-attach-role-policy.json": {alerts: []alert{{
		rule: "iam-policy-changed", category: "iam_policy_changed", severity: detect.Medium,
		actor: dave, target: "arn:aws:iam::123456789012:role/reporting-lambda",
	}}},
	"iam_policy_changed/alert-detach-role-policy.json": {alerts: []alert{{
		rule: "iam-policy-changed", category: "iam_policy_changed", severity: detect.Low,
		actor: terraform, target: "arn:aws:iam::123456789012:role/reporting-lambda",
	}}},
	"iam_policy_changed/alert-policy-version-admin-default.json": {alerts: []alert{{
		rule: "iam-policy-changed", category: "iam_policy_changed", severity: detect.High,
		actor: "alice", target: "arn:aws:iam::123456789012:policy/deploy-artifacts",
	}}},
	"iam_policy_changed/alert-create-role-for-other-account.json": {alerts: []alert{{
		rule: "iam-policy-changed", category: "iam_policy_changed", severity: detect.High,
		actor: dave, target: "arn:aws:iam::123456789012:role/vendor-support",
	}}},
	"iam_policy_changed/alert-trust-other-account.json": {alerts: []alert{{
		rule: "iam-policy-changed", category: "iam_policy_changed", severity: detect.High,
		actor: dave, target: "arn:aws:iam::123456789012:role/billing-reports",
	}}},
	"kms_key_disabled/alert-disable-key.json": {alerts: []alert{{
		rule: "kms-key-disabled", category: "kms_key_disabled", severity: detect.Medium,
		actor: "bob", target: "arn:aws:kms:us-east-1:123456789012:key/0987dcba-09fe-87dc-65ba-ab0987654321",
	}}},
	"kms_key_disabled/alert-schedule-key-deletion.json": {alerts: []alert{{
		rule: "kms-key-disabled", category: "kms_key_disabled", severity: detect.High,
		actor: dave, target: "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
	}}},
	"login_profile_created/alert-create-for-other-user.json": {alerts: []alert{{
		rule: "login-profile-created", category: "login_profile_created", severity: detect.High,
		actor: "bob", target: userARN("contractor-jo"),
	}}},
	"login_profile_created/alert-reset-required.json": {alerts: []alert{{
		rule: "login-profile-created", category: "login_profile_created", severity: detect.Medium,
		actor: dave, target: userARN("frank"),
	}}},
	"nacl_changed/alert-allow-all-inbound.json": {alerts: []alert{{
		rule: "nacl-changed", category: "nacl_changed", severity: detect.Medium,
		actor: hana, target: "arn:aws:ec2:us-east-1:123456789012:network-acl/acl-0123456789abcdef0",
	}}},
	"nacl_changed/alert-deny-entry.json": {alerts: []alert{{
		rule: "nacl-changed", category: "nacl_changed", severity: detect.Low,
		actor: hana, target: "arn:aws:ec2:us-east-1:123456789012:network-acl/acl-0123456789abcdef0",
	}}},
	"network_gateway_changed/alert-attach-internet-gateway.json": {alerts: []alert{{
		rule: "network-gateway-changed", category: "network_gateway_changed", severity: detect.Medium,
		actor: hana, target: "arn:aws:ec2:us-east-1:123456789012:internet-gateway/igw-0c1d2e3f4a5b6c7d8",
	}}},
	"organizations_changed/alert-create-organizational-unit.json": {alerts: []alert{{
		rule: "organizations-changed", category: "organizations_changed", severity: detect.Low,
		actor: terraform, target: rootARN,
	}}},
	"organizations_changed/alert-leave-organization.json": {alerts: []alert{{
		rule: "organizations-changed", category: "organizations_changed", severity: detect.High,
		actor: dave, target: rootARN,
	}}},
	"password_policy_changed/alert-delete-policy.json": {alerts: []alert{{
		rule: "password-policy-changed", category: "password_policy_changed", severity: detect.Medium,
		actor: dave, target: "arn:aws:iam::123456789012:account-password-policy",
	}}},
	"password_policy_changed/alert-weak-policy.json": {alerts: []alert{{
		rule: "password-policy-changed", category: "password_policy_changed", severity: detect.Medium,
		actor: "bob", target: "arn:aws:iam::123456789012:account-password-policy",
	}}},
	// sts:AssumeRoot is recorded where the Regional STS endpoint is: never the global one.
	"root_activity/alert-assume-root-unlock-bucket.json": {alerts: []alert{{
		rule: "root-session-assumed", category: "root_activity", severity: detect.High,
		actor: dave, target: "arn:aws:iam::210987654321:root", region: "us-west-2",
	}}},
	"root_activity/alert-root-list-buckets.json": {alerts: []alert{{
		rule: "root-activity", category: "root_activity", severity: detect.High,
		actor: rootName, target: rootARN,
	}}},
	"root_activity/alert-root-run-instances.json": {alerts: []alert{{
		rule: "root-activity", category: "root_activity", severity: detect.Critical,
		actor: rootName, target: rootARN,
	}}},
	"route_table_changed/alert-default-route.json": {alerts: []alert{{
		rule: "route-table-changed", category: "route_table_changed", severity: detect.Medium,
		actor: hana, target: "arn:aws:ec2:us-east-1:123456789012:route-table/rtb-0d1e2f3a4b5c6d7e8",
	}}},
	"route_table_changed/alert-delete-route.json": {alerts: []alert{{
		rule: "route-table-changed", category: "route_table_changed", severity: detect.Low,
		actor: terraform, target: "arn:aws:ec2:us-east-1:123456789012:route-table/rtb-0d1e2f3a4b5c6d7e8",
	}}},
	"s3_bucket_policy_changed/alert-public-bucket-policy.json": {alerts: []alert{{
		rule: "s3-bucket-policy-changed", category: "s3_bucket_policy_changed", severity: detect.High,
		actor: "bob", target: "arn:aws:s3:::example-marketing-assets",
	}}},
	"s3_bucket_policy_changed/alert-public-read-acl.json": {alerts: []alert{{
		rule: "s3-bucket-policy-changed", category: "s3_bucket_policy_changed", severity: detect.High,
		actor: "bob", target: "arn:aws:s3:::example-orders-exports",
	}}},
	"s3_bucket_policy_changed/alert-put-bucket-lifecycle.json": {alerts: []alert{{
		rule: "s3-bucket-policy-changed", category: "s3_bucket_policy_changed", severity: detect.Low,
		actor: terraform, target: "arn:aws:s3:::example-build-cache",
	}}},
	"security_group_changed/alert-https-open-to-world-ipv6.json": {alerts: []alert{{
		rule: "security-group-changed", category: "security_group_changed", severity: detect.Medium,
		actor: terraform, target: "arn:aws:ec2:us-east-1:123456789012:security-group/sg-0c3d4e5f607182930",
	}}},
	"security_group_changed/alert-rdp-flat-form.json": {alerts: []alert{{
		rule: "security-group-changed", category: "security_group_changed", severity: detect.High,
		actor: "bob", target: "arn:aws:ec2:us-east-1:123456789012:security-group/sg-0b2c3d4e5f6071829",
	}}},
	"security_group_changed/alert-ssh-from-office.json": {alerts: []alert{{
		rule: "security-group-changed", category: "security_group_changed", severity: detect.Low,
		actor: hana, target: "arn:aws:ec2:us-east-1:123456789012:security-group/sg-0a1b2c3d4e5f60718",
	}}},
	"security_group_changed/alert-ssh-open-to-world.json": {alerts: []alert{{
		rule: "security-group-changed", category: "security_group_changed", severity: detect.High,
		actor: hana, target: "arn:aws:ec2:us-east-1:123456789012:security-group/sg-0a1b2c3d4e5f60718",
	}}},
	"unauthorized_api_calls/alert-ec2-describe-unauthorized.json": {alerts: []alert{{
		rule: "unauthorized-api-calls", category: "unauthorized_api_calls", severity: detect.Low,
		actor: "erin", target: userARN("erin"),
	}}},
	"unauthorized_api_calls/alert-iam-create-user-denied.json": {alerts: []alert{{
		rule: "unauthorized-api-calls", category: "unauthorized_api_calls", severity: detect.Medium,
		actor: "erin", target: userARN("erin"),
	}}},
	"vpc_changed/alert-modify-vpc-attribute.json": {alerts: []alert{{
		rule: "vpc-changed", category: "vpc_changed", severity: detect.Low,
		actor: terraform, target: "arn:aws:ec2:us-east-1:123456789012:vpc/vpc-0f1e2d3c4b5a69788",
	}}},
	"vpc_changed/alert-peering-other-account.json": {alerts: []alert{{
		rule: "vpc-changed", category: "vpc_changed", severity: detect.Medium,
		actor: dave, target: "arn:aws:ec2:us-east-1:123456789012:vpc/vpc-0f1e2d3c4b5a69788",
	}}},

	// Their near misses.
	"admin_group_membership/quiet-add-to-developers.json":             {},
	"cloudtrail_tampering/quiet-event-selectors-add-data-events.json": {},
	"config_changed/quiet-start-recorder.json":                        {},
	"console_auth_failure/quiet-successful-signin.json":               {},
	"console_login_no_mfa/quiet-iam-user-with-mfa.json":               {},
	"console_login_no_mfa/quiet-sso-signin.json":                      {},
	"iam_policy_changed/quiet-get-role-policy.json":                   {},
	"iam_policy_changed/quiet-create-role-for-lambda.json":            {},
	"kms_key_disabled/quiet-enable-key.json":                          {},
	"login_profile_created/quiet-change-password.json":                {},
	"login_profile_created/quiet-own-login-profile.json":              {},
	"nacl_changed/quiet-describe-network-acls.json":                   {},
	"network_gateway_changed/quiet-create-nat-gateway.json":           {},
	"organizations_changed/quiet-list-accounts.json":                  {},
	"password_policy_changed/quiet-cis-baseline-policy.json":          {},
	"root_activity/quiet-root-invoked-by-service.json":                {},
	"root_activity/quiet-user-run-instances.json":                     {},
	"route_table_changed/quiet-describe-route-tables.json":            {},
	"s3_bucket_policy_changed/quiet-put-bucket-tagging.json":          {},
	"security_group_changed/quiet-describe-security-groups.json":      {},
	"unauthorized_api_calls/quiet-head-bucket-denied.json":            {},
	"unauthorized_api_calls/quiet-no-such-entity.json":                {},
	"unauthorized_api_calls/quiet-service-denied.json":                {},
	"user_policy_attached/quiet-list-attached-user-policies.json":     {},
	"vpc_changed/quiet-describe-vpcs.json":                            {},
}

// eventFiles walks events-testdata and returns every fixture's slash-separated path in it.
// The README and the Go file that embeds the fixtures are not fixtures.
func eventFiles(t testing.TB) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(eventsDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(eventsDir, path)
		if err != nil {
			return err
		}
		if rel == "README.md" || strings.HasSuffix(rel, ".go") {
			return nil
		}
		files = append(files, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", eventsDir, err)
	}
	return files
}

func TestEventsTestdataIsListed(t *testing.T) {
	files := eventFiles(t)
	if len(files) == 0 {
		t.Fatalf("no event files under %s", eventsDir)
	}
	for _, name := range files {
		if _, ok := expectations[name]; !ok {
			t.Errorf("%s is not in the expectations table: add what it must produce", name)
		}
	}
	for name := range expectations {
		if !slices.Contains(files, name) {
			t.Errorf("expectations list %s, which is not under %s", name, eventsDir)
		}
	}
}

func TestEventsTestdata(t *testing.T) {
	d := detect.Default()
	for _, name := range eventFiles(t) {
		want, listed := expectations[name]
		if !listed {
			continue // reported by TestEventsTestdataIsListed
		}
		t.Run(name, func(t *testing.T) {
			base := filepath.Base(name)
			switch {
			case strings.HasPrefix(base, "alert-") && len(want.alerts) == 0:
				t.Fatal("an alert- file must expect at least one alert")
			case strings.HasPrefix(base, "quiet-") && len(want.alerts) > 0:
				t.Fatal("a quiet- file must expect no alert")
			case !strings.HasPrefix(base, "alert-") && !strings.HasPrefix(base, "quiet-"):
				t.Fatal("file name must start with alert- or quiet-")
			}

			rec := readOne(t, name)
			// The config of a deployment: the template passes the function's role and the
			// quarantine policy it created.
			cfg := policy.Default()
			cfg.SelfRoleARNs = []string{eventstestdata.WatchdogRoleARN}
			cfg.QuarantinePolicyARN = eventstestdata.QuarantinePolicyARN
			var alerted []detect.Finding
			var decisions []policy.Decision
			var dropped []string
			for _, f := range d.Detect(rec) {
				dec := cfg.Decide(&f)
				if !dec.Alert {
					if dec.Reason != "the watchdog's own call" {
						t.Errorf("finding %s dropped for %q; by default only the watchdog's own calls are", f.Rule, dec.Reason)
					}
					dropped = append(dropped, f.Rule)
					continue
				}
				alerted, decisions = append(alerted, f), append(decisions, dec)
			}
			if !slices.Equal(dropped, want.dropped) {
				t.Errorf("dropped findings %v, want %v", dropped, want.dropped)
			}
			if len(alerted) != len(want.alerts) {
				t.Fatalf("got %d alerted findings %v, want %d", len(alerted), rules(alerted), len(want.alerts))
			}
			for i, f := range alerted {
				checkFinding(t, rec, f, want.alerts[i])
				if dec := decisions[i]; dec.Mode != policy.DryRun || dec.Act != want.alerts[i].act {
					t.Errorf("decision mode %q act %v (reason %q), want mode %q act %v", dec.Mode, dec.Act, dec.Reason, policy.DryRun, want.alerts[i].act)
				}
			}
		})
	}
}

// readOne reads a fixture through the same parser the Lambda and CLI use, and insists on
// exactly one record without errors.
func readOne(t *testing.T, name string) *cloudtrail.Record {
	t.Helper()
	file, err := os.Open(filepath.Join(eventsDir, filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	var recs []*cloudtrail.Record
	for rec, err := range cloudtrail.Records(name, file) {
		if err != nil {
			t.Fatalf("parse: %v", err)
		}
		recs = append(recs, rec)
	}
	if len(recs) != 1 {
		t.Fatalf("got %d records, want one EventBridge event per file", len(recs))
	}
	if recs[0].DetailType == "" {
		t.Error("record did not arrive in an EventBridge envelope")
	}
	return recs[0]
}

func checkFinding(t *testing.T, rec *cloudtrail.Record, f detect.Finding, want alert) {
	t.Helper()
	if f.Rule != want.rule || f.Category != want.category || f.Severity != want.severity {
		t.Errorf("finding %s/%s/%s, want %s/%s/%s", f.Rule, f.Category, f.Severity, want.rule, want.category, want.severity)
	}
	if f.Actor.Name != want.actor {
		t.Errorf("actor name %q, want %q", f.Actor.Name, want.actor)
	}
	if f.Target != want.target {
		t.Errorf("target %q, want %q", f.Target, want.target)
	}
	if f.Action != want.action {
		t.Errorf("action %+v, want %+v", f.Action, want.action)
	}
	if want.region != "" && f.Region != want.region {
		t.Errorf("region %q, want %q", f.Region, want.region)
	}
	if f.Account != account || f.EventID != rec.EventID || f.EventID == "" || f.EventTime.IsZero() || f.Title == "" {
		t.Errorf("finding misses event facts: account %q, event ID %q (record %q), time %v, title %q", f.Account, f.EventID, rec.EventID, f.EventTime, f.Title)
	}
	if rec.IsRoot() && f.Manual == "" {
		t.Error("a root finding must say what a person has to do by hand (Manual)")
	}
	checkWhy(t, f)
}

// checkWhy holds the Why contract: one sentence that names the actor.
func checkWhy(t *testing.T, f detect.Finding) {
	t.Helper()
	why := f.Why
	if why == "" || !strings.HasSuffix(why, ".") || strings.ContainsAny(why, "\r\n") {
		t.Errorf("Why must be one line ending in '.': %q", why)
	}
	for i := strings.Index(why, ". "); i >= 0; i = nextIndex(why, ". ", i) {
		if r := []rune(why[i+2:]); len(r) > 0 && unicode.IsUpper(r[0]) {
			t.Errorf("Why must be one sentence, found a second at %q", why[i+2:])
			break
		}
	}
	if !strings.Contains(strings.ToLower(why), strings.ToLower(f.Actor.Name)) {
		t.Errorf("Why does not name the actor %q: %q", f.Actor.Name, why)
	}
}

func nextIndex(s, sub string, after int) int {
	j := strings.Index(s[after+1:], sub)
	if j < 0 {
		return -1
	}
	return after + 1 + j
}

func rules(fs []detect.Finding) []string {
	var ids []string
	for _, f := range fs {
		ids = append(ids, f.Rule)
	}
	return ids
}

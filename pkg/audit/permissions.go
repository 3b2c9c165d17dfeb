package audit

// RequiredActions are the IAM actions an audit's credentials need: the home account's (the
// function's role, or the CLI user's) and, for --org, the member role's. Every one is a read.
// The stack's roles must grant them; a missing one makes its checks errors, not failures.
var RequiredActions = []string{
	"sts:GetCallerIdentity",
	"iam:GenerateCredentialReport",
	"iam:GetCredentialReport",
	"iam:GetAccountAuthorizationDetails",
	"iam:GetAccountPasswordPolicy",
	"iam:ListVirtualMFADevices",
	"iam:ListOrganizationsFeatures",
	"cloudtrail:DescribeTrails",
	"cloudtrail:GetTrailStatus",
	"cloudtrail:GetEventSelectors",
	"events:ListRuleNamesByTarget",
	"events:ListRules",
	"sqs:GetQueueAttributes",
	"organizations:ListAccounts",
}

package audit

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// IAMAPI is the IAM calls an audit makes: account-wide reads only, none per user.
type IAMAPI interface {
	GenerateCredentialReport(ctx context.Context, params *iam.GenerateCredentialReportInput, optFns ...func(*iam.Options)) (*iam.GenerateCredentialReportOutput, error)
	GetCredentialReport(ctx context.Context, params *iam.GetCredentialReportInput, optFns ...func(*iam.Options)) (*iam.GetCredentialReportOutput, error)
	GetAccountAuthorizationDetails(ctx context.Context, params *iam.GetAccountAuthorizationDetailsInput, optFns ...func(*iam.Options)) (*iam.GetAccountAuthorizationDetailsOutput, error)
	GetAccountPasswordPolicy(ctx context.Context, params *iam.GetAccountPasswordPolicyInput, optFns ...func(*iam.Options)) (*iam.GetAccountPasswordPolicyOutput, error)
	ListVirtualMFADevices(ctx context.Context, params *iam.ListVirtualMFADevicesInput, optFns ...func(*iam.Options)) (*iam.ListVirtualMFADevicesOutput, error)
	ListOrganizationsFeatures(ctx context.Context, params *iam.ListOrganizationsFeaturesInput, optFns ...func(*iam.Options)) (*iam.ListOrganizationsFeaturesOutput, error)
}

// STSAPI tells whose credentials an audit holds.
type STSAPI interface {
	GetCallerIdentity(ctx context.Context, params *sts.GetCallerIdentityInput, optFns ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)
}

// TrailAPI is what the trail check reads of CloudTrail.
type TrailAPI interface {
	DescribeTrails(ctx context.Context, params *cloudtrail.DescribeTrailsInput, optFns ...func(*cloudtrail.Options)) (*cloudtrail.DescribeTrailsOutput, error)
	GetTrailStatus(ctx context.Context, params *cloudtrail.GetTrailStatusInput, optFns ...func(*cloudtrail.Options)) (*cloudtrail.GetTrailStatusOutput, error)
	GetEventSelectors(ctx context.Context, params *cloudtrail.GetEventSelectorsInput, optFns ...func(*cloudtrail.Options)) (*cloudtrail.GetEventSelectorsOutput, error)
}

// EventsAPI is what the rules and forwarding checks read of EventBridge in one Region.
type EventsAPI interface {
	ListRuleNamesByTarget(ctx context.Context, params *eventbridge.ListRuleNamesByTargetInput, optFns ...func(*eventbridge.Options)) (*eventbridge.ListRuleNamesByTargetOutput, error)
	ListRules(ctx context.Context, params *eventbridge.ListRulesInput, optFns ...func(*eventbridge.Options)) (*eventbridge.ListRulesOutput, error)
}

// SQSAPI reads the dead-letter queue's depth.
type SQSAPI interface {
	GetQueueAttributes(ctx context.Context, params *sqs.GetQueueAttributesInput, optFns ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
}

// OrganizationsAPI lists the organisation's accounts for `--org`.
type OrganizationsAPI interface {
	ListAccounts(ctx context.Context, params *organizations.ListAccountsInput, optFns ...func(*organizations.Options)) (*organizations.ListAccountsOutput, error)
}

var (
	_ IAMAPI                                      = (*iam.Client)(nil)
	_ iam.GetAccountAuthorizationDetailsAPIClient = IAMAPI(nil)
	_ iam.ListVirtualMFADevicesAPIClient          = IAMAPI(nil)
	_ STSAPI                                      = (*sts.Client)(nil)
	_ TrailAPI                                    = (*cloudtrail.Client)(nil)
	_ EventsAPI                                   = (*eventbridge.Client)(nil)
	_ SQSAPI                                      = (*sqs.Client)(nil)
	_ OrganizationsAPI                            = (*organizations.Client)(nil)
	_ organizations.ListAccountsAPIClient         = OrganizationsAPI(nil)
)

// Clients are one account's API clients. Region is the home Region: where the trail, the
// watchdog's rules and its queue are read. Events builds a client for any Region (forwarding is
// read where it runs). A nil client is a check that cannot run (an error result), not a crash.
type Clients struct {
	Region        string
	IAM           IAMAPI
	STS           STSAPI
	CloudTrail    TrailAPI
	Events        func(region string) EventsAPI
	SQS           SQSAPI
	Organizations OrganizationsAPI
}

// NewClients builds every client from cfg; cfg.Region is the home Region.
func NewClients(cfg aws.Config) Clients {
	return Clients{
		Region:     cfg.Region,
		IAM:        iam.NewFromConfig(cfg),
		STS:        sts.NewFromConfig(cfg),
		CloudTrail: cloudtrail.NewFromConfig(cfg),
		Events: func(region string) EventsAPI {
			return eventbridge.NewFromConfig(cfg, func(o *eventbridge.Options) { o.Region = region })
		},
		SQS:           sqs.NewFromConfig(cfg),
		Organizations: organizations.NewFromConfig(cfg),
	}
}

// Assumer hands out configuration for another account of the organisation: in production,
// the member role that remediation assumes (pkg/remediate's AssumeRole). It must be safe for
// concurrent use; an error means the account cannot be audited.
type Assumer interface {
	Config(ctx context.Context, account string) (aws.Config, error)
}

// AssumerFunc adapts a function to Assumer.
type AssumerFunc func(ctx context.Context, account string) (aws.Config, error)

// Config calls f.
func (f AssumerFunc) Config(ctx context.Context, account string) (aws.Config, error) {
	return f(ctx, account)
}

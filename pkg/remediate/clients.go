package remediate

import (
	"context"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// IAMAPI is exactly the IAM calls remediation makes, with the SDK v2 signatures, so
// *iam.Client satisfies it and tests can substitute a fake.
type IAMAPI interface {
	UpdateAccessKey(ctx context.Context, params *iam.UpdateAccessKeyInput, optFns ...func(*iam.Options)) (*iam.UpdateAccessKeyOutput, error)
	AttachUserPolicy(ctx context.Context, params *iam.AttachUserPolicyInput, optFns ...func(*iam.Options)) (*iam.AttachUserPolicyOutput, error)
	DetachUserPolicy(ctx context.Context, params *iam.DetachUserPolicyInput, optFns ...func(*iam.Options)) (*iam.DetachUserPolicyOutput, error)
	GetUserPolicy(ctx context.Context, params *iam.GetUserPolicyInput, optFns ...func(*iam.Options)) (*iam.GetUserPolicyOutput, error)
	PutUserPolicy(ctx context.Context, params *iam.PutUserPolicyInput, optFns ...func(*iam.Options)) (*iam.PutUserPolicyOutput, error)
	DeleteUserPolicy(ctx context.Context, params *iam.DeleteUserPolicyInput, optFns ...func(*iam.Options)) (*iam.DeleteUserPolicyOutput, error)
}

// TrailAPI is the one CloudTrail call remediation makes.
type TrailAPI interface {
	StartLogging(ctx context.Context, params *cloudtrail.StartLoggingInput, optFns ...func(*cloudtrail.Options)) (*cloudtrail.StartLoggingOutput, error)
}

var (
	_ IAMAPI   = (*iam.Client)(nil)
	_ TrailAPI = (*cloudtrail.Client)(nil)
	_ Clients  = (*Static)(nil)
)

// Clients hands out API clients for the account (and, for CloudTrail, the region) an action
// targets. An implementation returns an error, and no client, for an account it holds no
// credentials for; it must be safe for concurrent use.
type Clients interface {
	IAM(ctx context.Context, account string) (IAMAPI, error)
	CloudTrail(ctx context.Context, account, region string) (TrailAPI, error)
}

// Static serves one account's clients from a single aws.Config: one IAM client (IAM is
// global) and one CloudTrail client per region, built on first use and cached. It is safe for
// concurrent use.
type Static struct {
	cfg     aws.Config
	account string
	iam     *iam.Client

	mu     sync.Mutex
	trails map[string]*cloudtrail.Client
}

// NewStatic serves the clients of account from cfg. With account "", every account is
// assumed to be cfg's own (handy for moto and single-account setups); otherwise a request for
// any other account fails, because acting there needs the member account's role.
func NewStatic(cfg aws.Config, account string) *Static {
	return &Static{
		cfg:     cfg,
		account: account,
		iam:     iam.NewFromConfig(cfg),
		trails:  map[string]*cloudtrail.Client{},
	}
}

// IAM returns the IAM client when account is Static's own (or either is "").
func (s *Static) IAM(_ context.Context, account string) (IAMAPI, error) {
	if err := s.check(account); err != nil {
		return nil, err
	}
	return s.iam, nil
}

// CloudTrail returns the CloudTrail client for region ("" means the config's region) when
// account is Static's own (or either is "").
func (s *Static) CloudTrail(_ context.Context, account, region string) (TrailAPI, error) {
	if err := s.check(account); err != nil {
		return nil, err
	}
	if region == "" {
		region = s.cfg.Region
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.trails[region]
	if !ok {
		c = cloudtrail.NewFromConfig(s.cfg, func(o *cloudtrail.Options) { o.Region = region })
		s.trails[region] = c
	}
	return c, nil
}

func (s *Static) check(account string) error {
	if s.account == "" || account == "" || account == s.account {
		return nil
	}
	return fmt.Errorf("account %s: these credentials are for account %s only; cross-account remediation needs the member role in %s", account, s.account, account)
}

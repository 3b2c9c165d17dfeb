package remediate

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// MemberQuarantinePolicyName is the quarantine policy's name in member accounts: the default of
// infra/member-role.yaml's QuarantinePolicyName.
const MemberQuarantinePolicyName = "iam-watchdog-quarantine"

// New builds the remediator that acts where the watchdog acts: account home with cfg's own
// credentials and, when memberRole is set, every other account through the role of that name
// there (infra/member-role.yaml), assumed with cfg's credentials. The Lambda functions and the
// CLI build it here alike, so that a config acts the same wherever it runs. home "" without a
// member role takes every account for cfg's own (moto, single-account setups).
func New(cfg aws.Config, home, memberRole, quarantinePolicyARN string) (*Remediator, error) {
	r := &Remediator{QuarantinePolicyARN: quarantinePolicyARN}
	switch {
	case memberRole == "":
		r.Clients = NewStatic(cfg, home)
	case home == "":
		return nil, errors.New("a member role needs the home account: the one acted in without assuming a role")
	default:
		r.Clients = NewAssumeRole(cfg, home, memberRole, sts.NewFromConfig(cfg))
		r.MemberQuarantinePolicyName = MemberQuarantinePolicyName
	}
	return r, nil
}

// CallerAPI is the STS call that says whose credentials are in use.
type CallerAPI interface {
	GetCallerIdentity(ctx context.Context, params *sts.GetCallerIdentityInput, optFns ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)
}

var _ CallerAPI = (*sts.Client)(nil)

// Caller is whose credentials are in use: their account, and the ARN their calls carry in
// CloudTrail (userIdentity.arn).
type Caller struct {
	Account string
	ARN     string
}

// WhoAmI asks STS whose credentials c signs with.
func WhoAmI(ctx context.Context, c CallerAPI) (Caller, error) {
	out, err := c.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return Caller{}, fmt.Errorf("who am I (sts GetCallerIdentity): %w", err)
	}
	return Caller{Account: aws.ToString(out.Account), ARN: aws.ToString(out.Arn)}, nil
}

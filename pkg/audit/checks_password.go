package audit

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
)

// CIS 1.8 and 1.9's minimums.
const (
	minPasswordLength      = 14
	minPasswordsRemembered = 24
)

func evalPasswordLength(ctx context.Context, a *accountAudit, c *Check) []Result {
	return a.passwordMinimum(ctx, c, "IAM accepts passwords of 8 characters",
		"minimum password length", func(p *types.PasswordPolicy) *int32 { return p.MinimumPasswordLength }, minPasswordLength)
}

func evalPasswordReuse(ctx context.Context, a *accountAudit, c *Check) []Result {
	return a.passwordMinimum(ctx, c, "any old password may be reused",
		"passwords remembered against reuse", func(p *types.PasswordPolicy) *int32 { return p.PasswordReusePrevention }, minPasswordsRemembered)
}

// passwordMinimum checks that a setting of the password policy is at least want; without a
// policy the check fails, saying what IAM's default allows.
func (a *accountAudit) passwordMinimum(ctx context.Context, c *Check, withoutPolicy, setting string, get func(*types.PasswordPolicy) *int32, want int32) []Result {
	p, err := a.passwordPolicy(ctx)
	switch {
	case err != nil:
		return a.errorResult(c, err)
	case p == nil:
		return []Result{a.result(c, Fail, a.rootARN(), "the account has no password policy: "+withoutPolicy)}
	}
	if n := aws.ToInt32(get(p)); n < want {
		return []Result{a.result(c, Fail, a.rootARN(), fmt.Sprintf("%s: %d, want %d or more", setting, n, want))}
	}
	return []Result{a.result(c, Pass, a.rootARN(), fmt.Sprintf("%s: %d", setting, aws.ToInt32(get(p))))}
}

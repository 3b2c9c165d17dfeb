package audit

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// CIS 1.8 and 1.9's minimums.
const (
	minPasswordLength      = 14
	minPasswordsRemembered = 24
)

func evalPasswordLength(ctx context.Context, a *accountAudit, c *Check) []Result {
	p, err := a.passwordPolicy(ctx)
	switch {
	case err != nil:
		return a.errorResult(c, err)
	case p == nil:
		return []Result{a.result(c, Fail, a.rootARN(), "the account has no password policy: IAM accepts passwords of 8 characters")}
	}
	n := aws.ToInt32(p.MinimumPasswordLength)
	if n < minPasswordLength {
		return []Result{a.result(c, Fail, a.rootARN(), fmt.Sprintf("minimum password length is %d, want %d or more", n, minPasswordLength))}
	}
	return []Result{a.result(c, Pass, a.rootARN(), fmt.Sprintf("minimum password length is %d", n))}
}

func evalPasswordReuse(ctx context.Context, a *accountAudit, c *Check) []Result {
	p, err := a.passwordPolicy(ctx)
	switch {
	case err != nil:
		return a.errorResult(c, err)
	case p == nil:
		return []Result{a.result(c, Fail, a.rootARN(), "the account has no password policy: any old password may be reused")}
	}
	n := aws.ToInt32(p.PasswordReusePrevention)
	if n < minPasswordsRemembered {
		return []Result{a.result(c, Fail, a.rootARN(), fmt.Sprintf("password reuse prevention remembers %d passwords, want %d", n, minPasswordsRemembered))}
	}
	return []Result{a.result(c, Pass, a.rootARN(), fmt.Sprintf("password reuse prevention remembers %d passwords", n))}
}

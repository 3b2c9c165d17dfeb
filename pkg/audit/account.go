package audit

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// accountAudit is one account's audit: the facts fetched once and shared by the checks.
type accountAudit struct {
	account   string
	partition string
	home      bool   // the account the watchdog runs in: its sight checks run here
	homeBus   string // the bus forwarders target
	identity  string // the ARN the audit reads the account as
	now       time.Time
	opts      Options
	c         Clients

	report    *CredentialReport
	reportErr error
	inv       *inventory
	invErr    error

	pwOnce   sync.Once
	pwPolicy *types.PasswordPolicy // nil with pwErr nil: the account has no password policy
	pwErr    error
}

// rootARN is the account's root user, the resource of account-wide results.
func (a *accountAudit) rootARN() string {
	return "arn:" + a.partition + ":iam::" + a.account + ":root"
}

// result makes a result of check c.
func (a *accountAudit) result(c *Check, status Status, resource, detail string) Result {
	return Result{
		Check: c.ID, CIS: c.CIS, Status: status, Severity: c.Severity,
		Account: a.account, Resource: resource,
		Title: c.Title, Detail: detail, Why: c.Why, Fix: c.Fix,
	}
}

// errorResult is c's one result when it could not run, on the account's root ARN.
func (a *accountAudit) errorResult(c *Check, err error) []Result {
	return []Result{a.result(c, Error, a.rootARN(), err.Error())}
}

// fetch reads the facts most checks share: the credential report and the authorization
// details, at the same time, since IAM may take seconds to generate the report.
func (a *accountAudit) fetch(ctx context.Context) {
	if a.c.IAM == nil {
		a.reportErr = errors.New("no IAM client")
		a.invErr = a.reportErr
		return
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		a.report, a.reportErr = fetchCredentialReport(ctx, a.c.IAM, a.opts.ReportWait, a.opts.ReportPoll)
	})
	a.inv, a.invErr = fetchInventory(ctx, a.c.IAM)
	wg.Wait()
}

// passwordPolicy reads the account password policy once.
func (a *accountAudit) passwordPolicy(ctx context.Context) (*types.PasswordPolicy, error) {
	a.pwOnce.Do(func() {
		if a.c.IAM == nil {
			a.pwErr = errors.New("no IAM client")
			return
		}
		out, err := a.c.IAM.GetAccountPasswordPolicy(ctx, &iam.GetAccountPasswordPolicyInput{})
		var none *types.NoSuchEntityException
		switch {
		case errors.As(err, &none):
			// No policy: IAM's defaults apply.
		case err != nil:
			a.pwErr = fmt.Errorf("get account password policy: %w", err)
		default:
			a.pwPolicy = out.PasswordPolicy
			if a.pwPolicy == nil {
				a.pwErr = errors.New("get account password policy: IAM returned no policy and no error")
			}
		}
	})
	return a.pwPolicy, a.pwErr
}

// identify asks STS whose the credentials are: the account ID, the partition and the caller's
// ARN. It names the account of a single-account audit, and proves an assumed role's credentials
// are the account's they claim to be.
func identify(ctx context.Context, api STSAPI) (account, partition, identity string, err error) {
	if api == nil {
		return "", "", "", errors.New("no STS client")
	}
	out, err := api.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", "", "", fmt.Errorf("get caller identity: %w", err)
	}
	identity = aws.ToString(out.Arn)
	parts := strings.SplitN(identity, ":", 3)
	if len(parts) < 3 || parts[0] != "arn" || parts[1] == "" || !isAccountID(aws.ToString(out.Account)) {
		return "", "", "", fmt.Errorf("get caller identity: account %q, ARN %q: not an account ID and an ARN", aws.ToString(out.Account), identity)
	}
	return aws.ToString(out.Account), parts[1], identity, nil
}

// accountID is what an AWS account ID looks like.
var accountID = regexp.MustCompile(`^[0-9]{12}$`)

func isAccountID(s string) bool { return accountID.MatchString(s) }

// days is the whole number of days from t to now (never negative).
func days(now, t time.Time) int {
	d := now.Sub(t)
	if d < 0 {
		return 0
	}
	return int(d / (24 * time.Hour))
}

// olderThan reports whether t is at least n days before now.
func olderThan(now, t time.Time, n int) bool {
	return !t.After(now.Add(-time.Duration(n) * 24 * time.Hour))
}

package audit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/smithy-go"
)

// rootRow returns the credential report's root row, or the error result the check gives
// without it. moto's reports have no root row; AWS's always do.
func (a *accountAudit) rootRow(c *Check) (CredentialRow, []Result) {
	if a.reportErr != nil {
		return CredentialRow{}, a.errorResult(c, a.reportErr)
	}
	row, ok := a.report.RootRow()
	if !ok {
		return CredentialRow{}, a.errorResult(c, fmt.Errorf("the credential report has no %s row", RootUser))
	}
	return row, nil
}

// rootHasCredentials reports whether the root user can sign in at all: a member account whose
// root credentials were removed (centralized root access) has no password and no key.
func rootHasCredentials(row CredentialRow) bool {
	return row.HasPassword() || row.Keys[0].Active || row.Keys[1].Active
}

func evalRootAccessKey(_ context.Context, a *accountAudit, c *Check) []Result {
	row, errs := a.rootRow(c)
	if errs != nil {
		return errs
	}
	var active []string
	for i, k := range row.Keys {
		if k.Active {
			active = append(active, fmt.Sprintf("access key %d is active (created %s, last used %s)", i+1, k.LastRotated, k.LastUsed))
		}
	}
	if len(active) > 0 {
		return []Result{a.result(c, Fail, a.rootARN(), strings.Join(active, "; "))}
	}
	return []Result{a.result(c, Pass, a.rootARN(), "no active root access key")}
}

// rootSignIn returns the root row when the root user can sign in, or the result a check about
// how it signs in gives: without a root row, an error; without root credentials, not applicable.
func (a *accountAudit) rootSignIn(c *Check) (CredentialRow, []Result) {
	row, errs := a.rootRow(c)
	if errs == nil && !rootHasCredentials(row) {
		errs = []Result{a.result(c, NotApplicable, a.rootARN(), "the root user has no password and no access key")}
	}
	return row, errs
}

func evalRootMFA(_ context.Context, a *accountAudit, c *Check) []Result {
	row, errs := a.rootSignIn(c)
	switch {
	case errs != nil:
		return errs
	case row.MFAActive:
		return []Result{a.result(c, Pass, a.rootARN(), "MFA is active on the root user")}
	}
	return []Result{a.result(c, Fail, a.rootARN(), "the root user has a password and no MFA device")}
}

// evalRootHardwareMFA fails a root user whose MFA is a virtual device: one the
// ListVirtualMFADevices answer shows assigned to the root user. AWS Config's
// root-account-hardware-mfa-enabled rule decides the same way:
//
//	https://docs.aws.amazon.com/config/latest/developerguide/root-account-hardware-mfa-enabled.html
//
// The call is made only when the root user has MFA at all.
func evalRootHardwareMFA(ctx context.Context, a *accountAudit, c *Check) []Result {
	row, errs := a.rootSignIn(c)
	switch {
	case errs != nil:
		return errs
	case !row.MFAActive:
		return []Result{a.result(c, Fail, a.rootARN(), "the root user has no MFA device at all")}
	}
	pages := iam.NewListVirtualMFADevicesPaginator(a.c.IAM, &iam.ListVirtualMFADevicesInput{AssignmentStatus: types.AssignmentStatusTypeAssigned, MaxItems: aws.Int32(1000)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return a.errorResult(c, fmt.Errorf("list virtual MFA devices: %w", err))
		}
		for _, d := range page.VirtualMFADevices {
			if d.User != nil && aws.ToString(d.User.Arn) == a.rootARN() {
				return []Result{a.result(c, Fail, a.rootARN(), fmt.Sprintf("the root user's MFA is the virtual device %s", aws.ToString(d.SerialNumber)))}
			}
		}
	}
	return []Result{a.result(c, Pass, a.rootARN(), "the root user's MFA is not a virtual device")}
}

func evalRootUsage(_ context.Context, a *accountAudit, c *Check) []Result {
	row, errs := a.rootRow(c)
	if errs != nil {
		return errs
	}
	uses := []struct {
		what  string
		stamp Stamp
	}{{"password", row.PasswordLastUsed}, {"access key 1", row.Keys[0].LastUsed}, {"access key 2", row.Keys[1].LastUsed}}
	var recent, seen []string
	var last time.Time
	for _, u := range uses {
		if !u.stamp.Set() {
			continue
		}
		seen = append(seen, fmt.Sprintf("%s last used %s", u.what, u.stamp))
		last = later(last, u.stamp.Time)
		if !olderThan(a.now, u.stamp.Time, a.opts.RootUseDays) {
			recent = append(recent, fmt.Sprintf("%s used %s (%d days ago)", u.what, u.stamp, days(a.now, u.stamp.Time)))
		}
	}
	switch {
	case len(recent) > 0:
		return []Result{a.result(c, Fail, a.rootARN(), fmt.Sprintf("root used within %d days: %s", a.opts.RootUseDays, strings.Join(recent, "; ")))}
	case len(seen) == 0:
		return []Result{a.result(c, Pass, a.rootARN(), "no recorded use of the root user's password or keys")}
	}
	return []Result{a.result(c, Pass, a.rootARN(), fmt.Sprintf("not used within %d days; last use %d days ago (%s)", a.opts.RootUseDays, days(a.now, last), strings.Join(seen, "; ")))}
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// evalCentralizedRootAccess asks IAM which centralized root access features the organisation
// has (ListOrganizationsFeatures); RootCredentialsManagement is the one that lets member
// accounts go without root credentials:
//
//	https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListOrganizationsFeatures.html
//	https://docs.aws.amazon.com/IAM/latest/UserGuide/id_root-user.html#id_root-user-access-management
//
// Only the management account or IAM's delegated administrator can ask; elsewhere the answer is
// AccountNotManagementOrDelegatedAdministrator, and the check does not apply there (`--org`
// audits the management account too). An account outside any organisation is not applicable.
func evalCentralizedRootAccess(ctx context.Context, a *accountAudit, c *Check) []Result {
	if a.c.IAM == nil {
		return a.errorResult(c, errors.New("no IAM client"))
	}
	out, err := a.c.IAM.ListOrganizationsFeatures(ctx, &iam.ListOrganizationsFeaturesInput{})
	switch code := orgFeaturesError(err); code {
	case "":
	case "OrganizationNotFound":
		return []Result{a.result(c, NotApplicable, a.rootARN(), "the account is not in an organisation")}
	case "AccountNotManagementOrDelegatedAdministrator":
		return []Result{a.result(c, NotApplicable, a.rootARN(), "a member account: the organisation's management account (or IAM's delegated administrator) holds this setting")}
	case "ServiceAccessNotEnabled":
		return []Result{a.result(c, Fail, a.rootARN(), "trusted access for IAM is not enabled in AWS Organizations, so centralized root access is off")}
	case "OrganizationNotInAllFeaturesMode":
		return []Result{a.result(c, Fail, a.rootARN(), "the organisation does not have all features enabled, which centralized root access needs")}
	default:
		return a.errorResult(c, fmt.Errorf("list organizations features: %w", err))
	}
	features := make([]string, 0, len(out.EnabledFeatures))
	for _, f := range out.EnabledFeatures {
		features = append(features, string(f))
	}
	slices.Sort(features)
	if slices.Contains(features, string(types.FeatureTypeRootCredentialsManagement)) {
		return []Result{a.result(c, Pass, a.rootARN(), fmt.Sprintf("organisation %s manages member accounts' root credentials (features: %s)", aws.ToString(out.OrganizationId), strings.Join(features, ", ")))}
	}
	enabled := "none"
	if len(features) > 0 {
		enabled = strings.Join(features, ", ")
	}
	return []Result{a.result(c, Fail, a.rootARN(), fmt.Sprintf("organisation %s does not manage member accounts' root credentials (features enabled: %s)", aws.ToString(out.OrganizationId), enabled))}
}

// orgFeaturesError names the ListOrganizationsFeatures errors the check answers, "" for no
// error and "other" for the rest. The SDK's model names the codes with an "Exception" suffix,
// the API reference without; either is accepted, through the typed errors and the API code.
func orgFeaturesError(err error) string {
	if err == nil {
		return ""
	}
	var (
		notFound  *types.OrganizationNotFoundException
		notAdmin  *types.AccountNotManagementOrDelegatedAdministratorException
		noAccess  *types.ServiceAccessNotEnabledException
		notAllFts *types.OrganizationNotInAllFeaturesModeException
	)
	switch {
	case errors.As(err, &notFound):
		return "OrganizationNotFound"
	case errors.As(err, &notAdmin):
		return "AccountNotManagementOrDelegatedAdministrator"
	case errors.As(err, &noAccess):
		return "ServiceAccessNotEnabled"
	case errors.As(err, &notAllFts):
		return "OrganizationNotInAllFeaturesMode"
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch code := strings.TrimSuffix(apiErr.ErrorCode(), "Exception"); code {
		case "OrganizationNotFound", "AccountNotManagementOrDelegatedAdministrator", "ServiceAccessNotEnabled", "OrganizationNotInAllFeaturesMode":
			return code
		}
	}
	return "other"
}

package audit

import (
	"context"
	"fmt"
	"net/url"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
)

// principal is a user, group or role with its permissions as GetAccountAuthorizationDetails
// lists them.
type principal struct {
	Name     string
	ARN      string
	Groups   []string          // a user's groups, by name
	Attached []string          // managed policy ARNs
	Inline   map[string]string // inline policy name → document (JSON, decoded)
}

// inventory is an account's IAM: every user, group and role, and every managed policy's
// default version.
type inventory struct {
	Users, Groups, Roles []principal
	Policies             map[string]string // managed policy ARN → default version document
}

// detailsPageSize is the page size asked of GetAccountAuthorizationDetails: its maximum, so
// that an account needs one call per thousand entities rather than per hundred.
const detailsPageSize = 1000

// fetchInventory reads the whole of an account's IAM with GetAccountAuthorizationDetails,
// through the SDK's paginator. Policy documents arrive URL-encoded (RFC 3986):
//
//	https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountAuthorizationDetails.html
//
// and are decoded with url.PathUnescape, as pkg/remediate decodes GetUserPolicy's, which keeps a
// literal '+' (QueryUnescape would turn it into a space).
func fetchInventory(ctx context.Context, api iam.GetAccountAuthorizationDetailsAPIClient) (*inventory, error) {
	inv := &inventory{Policies: map[string]string{}}
	pages := iam.NewGetAccountAuthorizationDetailsPaginator(api, &iam.GetAccountAuthorizationDetailsInput{MaxItems: aws.Int32(detailsPageSize)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("get account authorization details: %w", err)
		}
		for _, u := range page.UserDetailList {
			p, err := newPrincipal("user", u.UserName, u.Arn, u.AttachedManagedPolicies, u.UserPolicyList)
			if err != nil {
				return nil, err
			}
			p.Groups = slices.Clone(u.GroupList)
			inv.Users = append(inv.Users, p)
		}
		for _, g := range page.GroupDetailList {
			p, err := newPrincipal("group", g.GroupName, g.Arn, g.AttachedManagedPolicies, g.GroupPolicyList)
			if err != nil {
				return nil, err
			}
			inv.Groups = append(inv.Groups, p)
		}
		for _, r := range page.RoleDetailList {
			p, err := newPrincipal("role", r.RoleName, r.Arn, r.AttachedManagedPolicies, r.RolePolicyList)
			if err != nil {
				return nil, err
			}
			inv.Roles = append(inv.Roles, p)
		}
		for _, mp := range page.Policies {
			doc, err := defaultVersion(mp)
			if err != nil {
				return nil, err
			}
			inv.Policies[aws.ToString(mp.Arn)] = doc
		}
	}
	return inv, nil
}

func newPrincipal(kind string, name, arn *string, attached []types.AttachedPolicy, inline []types.PolicyDetail) (principal, error) {
	p := principal{Name: aws.ToString(name), ARN: aws.ToString(arn), Attached: []string{}, Inline: map[string]string{}}
	for _, a := range attached {
		p.Attached = append(p.Attached, aws.ToString(a.PolicyArn))
	}
	slices.Sort(p.Attached)
	for _, d := range inline {
		doc, err := url.PathUnescape(aws.ToString(d.PolicyDocument))
		if err != nil {
			return p, fmt.Errorf("decode inline policy %s of %s %s: %w", aws.ToString(d.PolicyName), kind, p.Name, err)
		}
		p.Inline[aws.ToString(d.PolicyName)] = doc
	}
	return p, nil
}

// defaultVersion returns a managed policy's default version document, decoded. A policy listed
// without it is an error: the audit would otherwise pass a policy it could not read.
func defaultVersion(mp types.ManagedPolicyDetail) (string, error) {
	for _, v := range mp.PolicyVersionList {
		if v.IsDefaultVersion || (mp.DefaultVersionId != nil && aws.ToString(v.VersionId) == aws.ToString(mp.DefaultVersionId)) {
			doc, err := url.PathUnescape(aws.ToString(v.Document))
			if err != nil {
				return "", fmt.Errorf("decode default version of policy %s: %w", aws.ToString(mp.Arn), err)
			}
			return doc, nil
		}
	}
	return "", fmt.Errorf("policy %s: GetAccountAuthorizationDetails listed no default version", aws.ToString(mp.Arn))
}

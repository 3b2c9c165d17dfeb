package remediate

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// SessionName is the role session name of every cross-account session that remediates. It
// shows in the member account's CloudTrail as arn:…:assumed-role/<role>/iam-watchdog, and
// infra/member-role.yaml lets the watchdog's roles assume the role under this name only, and
// grants remediation only to sessions of this name.
const SessionName = "iam-watchdog"

// AuditSessionName is the session name the audit enters member accounts with: the member role
// lets its principals (AuditPrincipalArns) in under this name only, and a session of this name
// may read what the audit reads and change nothing.
const AuditSessionName = "iam-watchdog-audit"

// STSAPI is the one STS call cross-account remediation makes (stscreds.AssumeRoleAPIClient).
type STSAPI interface {
	AssumeRole(ctx context.Context, params *sts.AssumeRoleInput, optFns ...func(*sts.Options)) (*sts.AssumeRoleOutput, error)
}

var (
	_ STSAPI                       = (*sts.Client)(nil)
	_ stscreds.AssumeRoleAPIClient = STSAPI(nil)
	_ Clients                      = (*AssumeRole)(nil)
)

// AssumeRole serves the home account (the one the function runs in) with the base
// configuration, and any other account through its member role: sts:AssumeRole into
// arn:<partition>:iam::<account>:role/<role name>, deployed to every member account by
// infra/member-role.yaml. Credentials are fetched on the first request for an account, cached,
// and refreshed before they expire; a failed AssumeRole is not cached, so the next event
// tries again. It is safe for concurrent use.
type AssumeRole struct {
	cfg      aws.Config
	home     *Static
	account  string
	roleName string
	session  string
	sts      STSAPI

	mu      sync.Mutex
	members map[string]*member
}

// member is one other account: its credentials, and the configuration and clients built on them.
type member struct {
	roleARN string
	creds   *aws.CredentialsCache
	cfg     aws.Config
	clients *Static
}

// NewAssumeRole serves account home from cfg and every other account by assuming roleName
// there through stsAPI (an *sts.Client built from cfg in production). roleName may carry a
// path ("security/iam-watchdog-member"). The partition of the role ARNs is cfg.Region's.
func NewAssumeRole(cfg aws.Config, home, roleName string, stsAPI STSAPI) *AssumeRole {
	return NewAssumeRoleAs(cfg, home, roleName, SessionName, stsAPI)
}

// NewAssumeRoleAs is NewAssumeRole with another session name: AuditSessionName for the audit,
// which the member role lets read and not change.
func NewAssumeRoleAs(cfg aws.Config, home, roleName, session string, stsAPI STSAPI) *AssumeRole {
	return &AssumeRole{
		cfg:      cfg,
		home:     NewStatic(cfg, home),
		account:  home,
		roleName: strings.Trim(roleName, "/"),
		session:  session,
		sts:      stsAPI,
		members:  map[string]*member{},
	}
}

// Config returns the configuration for account: the base configuration for the home account
// (or ""), and for any other account one with its member role's credentials, retrieved before
// it is returned, so that a role that cannot be assumed is this call's error. It makes
// AssumeRole the audit's way into other accounts (audit.Assumer).
func (a *AssumeRole) Config(ctx context.Context, account string) (aws.Config, error) {
	if a.isHome(account) {
		return a.cfg, nil
	}
	m, err := a.member(ctx, account)
	if err != nil {
		return aws.Config{}, err
	}
	return m.cfg, nil
}

// RoleARN is the role AssumeRole assumes in account.
func (a *AssumeRole) RoleARN(account string) string {
	return fmt.Sprintf("arn:%s:iam::%s:role/%s", partitionOf(a.cfg.Region), account, a.roleName)
}

// IAM returns the home account's IAM client for the home account (or account ""), and for any
// other account a client with that account's member-role credentials. It fails, with the STS
// error in the chain (AccessDenied for a missing or untrusting role), when the role cannot be
// assumed.
func (a *AssumeRole) IAM(ctx context.Context, account string) (IAMAPI, error) {
	if a.isHome(account) {
		return a.home.IAM(ctx, account)
	}
	m, err := a.member(ctx, account)
	if err != nil {
		return nil, err
	}
	return m.clients.IAM(ctx, account)
}

// CloudTrail is IAM's counterpart for CloudTrail in region ("" means the config's region).
func (a *AssumeRole) CloudTrail(ctx context.Context, account, region string) (TrailAPI, error) {
	if a.isHome(account) {
		return a.home.CloudTrail(ctx, account, region)
	}
	m, err := a.member(ctx, account)
	if err != nil {
		return nil, err
	}
	return m.clients.CloudTrail(ctx, account, region)
}

func (a *AssumeRole) isHome(account string) bool {
	return account == "" || account == a.account
}

// member returns account's entry with credentials in hand. Retrieving them here, rather than
// on the first API call, makes a role that cannot be assumed fail as "no client for this
// account" instead of as whatever IAM call came first.
func (a *AssumeRole) member(ctx context.Context, account string) (*member, error) {
	if !isAccountID(account) {
		return nil, fmt.Errorf("account %q: not a 12-digit account ID, so no member role can be assumed there", account)
	}
	a.mu.Lock()
	m, ok := a.members[account]
	if !ok {
		roleARN := a.RoleARN(account)
		creds := aws.NewCredentialsCache(
			stscreds.NewAssumeRoleProvider(a.sts, roleARN, func(o *stscreds.AssumeRoleOptions) {
				o.RoleSessionName = a.session
			}),
			// Refresh a minute early, so that no call is signed with credentials about to lapse.
			func(o *aws.CredentialsCacheOptions) { o.ExpiryWindow = time.Minute },
		)
		cfg := a.cfg.Copy()
		cfg.Credentials = creds
		m = &member{roleARN: roleARN, creds: creds, cfg: cfg, clients: NewStatic(cfg, account)}
		a.members[account] = m
	}
	a.mu.Unlock()

	if _, err := m.creds.Retrieve(ctx); err != nil {
		return nil, fmt.Errorf("account %s: assume member role %s: %w", account, m.roleARN, err)
	}
	return m, nil
}

// partitionOf is the ARN partition of region. Regions outside these prefixes are in "aws".
func partitionOf(region string) string {
	for _, p := range []struct{ prefix, partition string }{
		{"cn-", "aws-cn"},
		{"us-gov-", "aws-us-gov"},
		{"us-isob-", "aws-iso-b"},
		{"us-isof-", "aws-iso-f"},
		{"us-iso-", "aws-iso"},
		{"eu-isoe-", "aws-iso-e"},
		{"eusc-", "aws-eusc"},
	} {
		if strings.HasPrefix(region, p.prefix) {
			return p.partition
		}
	}
	return "aws"
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

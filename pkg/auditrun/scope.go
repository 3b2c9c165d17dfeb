// Package auditrun runs `watchdog audit`'s engine (pkg/audit) as the deployment runs it: the
// configuration's audit: keys made into audit options and a scope, and the scheduled audit
// function (functions/audit), which, on each tick of EventBridge Scheduler, audits, keeps each
// account's snapshot for remediation (pkg/auditstore), and posts one Slack digest of what changed
// since the last audit. The tick (pkg/schedule) and the digest's layout (render.Digest) are
// shared machinery: other periodic jobs join the same tick.
package auditrun

import (
	"context"
	"slices"

	"github.com/iam-watchdog/iam-watchdog/pkg/audit"
	"github.com/iam-watchdog/iam-watchdog/pkg/policy"
)

// Options makes the audit options of the config's audit: keys, with sight telling where the
// watchdog's own parts are. Keys left unset take pkg/audit's defaults.
func Options(c policy.AuditConfig, sight audit.Sight) audit.Options {
	deref := func(p *int) int {
		if p == nil {
			return 0
		}
		return *p
	}
	sight.ForwardRegions = slices.Clone(c.ForwardRegions)
	sight.HomeBusARN = c.HomeBusARN
	return audit.Options{
		UnusedDays:   deref(c.UnusedDays),
		RotationDays: deref(c.RotationDays),
		RootUseDays:  deref(c.RootUseDays),
		Concurrency:  deref(c.Concurrency),
		Groups:       slices.Clone(c.Groups),
		Sight:        sight,
	}
}

// Scope is which accounts an audit covers: the home account (the zero Scope), listed accounts,
// or every active account of the organisation.
type Scope struct {
	Accounts     []string
	Organization bool
}

// ScopeOf is the scope the config's audit.accounts and audit.organization name.
func ScopeOf(c policy.AuditConfig) Scope {
	return Scope{Accounts: slices.Clone(c.Accounts), Organization: c.Organization}
}

// Run audits the scope: accounts other than home's through assume. The error is for an
// organisation whose accounts could not be listed; accounts that fail are results.
func (s Scope) Run(ctx context.Context, au *audit.Auditor, home audit.Clients, assume audit.Assumer) (audit.Report, error) {
	switch {
	case s.Organization:
		return au.Organization(ctx, home, assume)
	case len(s.Accounts) > 0:
		return au.Accounts(ctx, home, s.Accounts, assume), nil
	}
	return au.Account(ctx, home), nil
}

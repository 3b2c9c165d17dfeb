package audit

import (
	"context"

	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
)

// Check is one thing the audit verifies. ID is stable: results, the digest's state and users'
// filters name checks by it.
type Check struct {
	ID       string          // kebab-case, e.g. root-access-key
	CIS      string          // CIS AWS Foundations v3.0 recommendation, e.g. "1.4", or ""
	Title    string          // what a pass means
	Severity detect.Severity // how bad a failure is
	Why      string          // why it matters
	Fix      string          // steps or an AWS CLI command
	// Scope says where the check runs: "account" (every audited account) or "home" (the
	// account the watchdog runs in: its own sight).
	Scope string

	eval func(ctx context.Context, a *accountAudit, c *Check) []Result
}

// Check scopes.
const (
	ScopeAccount = "account"
	ScopeHome    = "home"
)

// List returns every check, in the order audits run them, for `watchdog audit --list`.
func List() []Check {
	out := make([]Check, len(checks))
	copy(out, checks)
	for i := range out {
		out[i].eval = nil
	}
	return out
}

// Lookup returns the check with the given ID.
func Lookup(id string) (Check, bool) {
	for _, c := range checks {
		if c.ID == id {
			c.eval = nil
			return c, true
		}
	}
	return Check{}, false
}

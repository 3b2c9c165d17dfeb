package audit

import (
	"context"
	"fmt"
	"strings"
)

// users returns the credential report's IAM user rows, or the error result the check gives
// without a report.
func (a *accountAudit) users(c *Check) ([]CredentialRow, []Result) {
	if a.reportErr != nil {
		return nil, a.errorResult(c, a.reportErr)
	}
	return a.report.Users(), nil
}

// perUser runs decide on every IAM user in the credential report: one result per user.
func (a *accountAudit) perUser(c *Check, decide func(CredentialRow) (Status, string)) []Result {
	rows, errs := a.users(c)
	if errs != nil {
		return errs
	}
	out := make([]Result, 0, len(rows))
	for _, row := range rows {
		status, detail := decide(row)
		out = append(out, a.result(c, status, row.ARN, detail))
	}
	return out
}

func evalUserMFA(_ context.Context, a *accountAudit, c *Check) []Result {
	return a.perUser(c, func(row CredentialRow) (Status, string) {
		switch {
		case !row.HasPassword():
			return NotApplicable, "no console password"
		case row.MFAActive:
			return Pass, "console password with MFA"
		}
		return Fail, "console password and no MFA device"
	})
}

// evalKeyAtSetup is CIS 1.11: a user with a console password whose active access key has never
// been used (access_key_N_last_used_date N/A) was most likely given it at set-up, unasked.
func evalKeyAtSetup(_ context.Context, a *accountAudit, c *Check) []Result {
	return a.perUser(c, func(row CredentialRow) (Status, string) {
		if !row.HasPassword() {
			return NotApplicable, "no console password"
		}
		var unused []string
		for i, k := range row.Keys {
			if k.Active && !k.LastUsed.Set() {
				unused = append(unused, fmt.Sprintf("access key %d (created %s) is active and was never used", i+1, k.LastRotated))
			}
		}
		if len(unused) > 0 {
			return Fail, strings.Join(unused, "; ")
		}
		return Pass, "no active access key that was never used"
	})
}

// evalUnusedCredentials is CIS 1.12: a password or active key unused for UnusedDays, or never
// used and older than that, should be disabled. A password's age is taken from when it was
// last changed, else when the user was created.
func evalUnusedCredentials(_ context.Context, a *accountAudit, c *Check) []Result {
	limit := a.opts.UnusedDays
	return a.perUser(c, func(row CredentialRow) (Status, string) {
		var stale []string
		checked := false
		if row.HasPassword() {
			checked = true
			if s := a.staleness("password", row.PasswordLastUsed, firstSet(row.PasswordLastChanged, row.Created), limit); s != "" {
				stale = append(stale, s)
			}
		}
		for i, k := range row.Keys {
			if !k.Active {
				continue
			}
			checked = true
			if s := a.staleness(fmt.Sprintf("access key %d", i+1), k.LastUsed, firstSet(k.LastRotated, row.Created), limit); s != "" {
				stale = append(stale, s)
			}
		}
		switch {
		case !checked:
			return NotApplicable, "no console password and no active access key"
		case len(stale) > 0:
			return Fail, strings.Join(stale, "; ")
		}
		return Pass, fmt.Sprintf("every credential used within %d days", limit)
	})
}

// staleness describes a credential unused for limit days, or "" when it is in use (or too new
// to tell).
func (a *accountAudit) staleness(what string, lastUsed, since Stamp, limit int) string {
	if lastUsed.Set() {
		if olderThan(a.now, lastUsed.Time, limit) {
			return fmt.Sprintf("%s last used %d days ago", what, days(a.now, lastUsed.Time))
		}
		return ""
	}
	if since.Set() && olderThan(a.now, since.Time, limit) {
		return fmt.Sprintf("%s never used in the %d days since %s", what, days(a.now, since.Time), since)
	}
	return ""
}

func firstSet(stamps ...Stamp) Stamp {
	for _, s := range stamps {
		if s.Set() {
			return s
		}
	}
	return Stamp{Word: "N/A"}
}

func evalOneActiveKey(_ context.Context, a *accountAudit, c *Check) []Result {
	return a.perUser(c, func(row CredentialRow) (Status, string) {
		if row.Keys[0].Active && row.Keys[1].Active {
			return Fail, fmt.Sprintf("two active access keys (created %s and %s)", row.Keys[0].LastRotated, row.Keys[1].LastRotated)
		}
		return Pass, "at most one active access key"
	})
}

func evalKeyRotation(_ context.Context, a *accountAudit, c *Check) []Result {
	limit := a.opts.RotationDays
	return a.perUser(c, func(row CredentialRow) (Status, string) {
		var old []string
		active := 0
		for i, k := range row.Keys {
			if !k.Active {
				continue
			}
			active++
			if !k.LastRotated.Set() {
				return Error, fmt.Sprintf("access key %d is active but the report gives no creation time (%q)", i+1, k.LastRotated)
			}
			if olderThan(a.now, k.LastRotated.Time, limit) {
				old = append(old, fmt.Sprintf("access key %d is %d days old (created %s)", i+1, days(a.now, k.LastRotated.Time), k.LastRotated))
			}
		}
		switch {
		case active == 0:
			return NotApplicable, "no active access key"
		case len(old) > 0:
			return Fail, fmt.Sprintf("%s; rotate within %d days", strings.Join(old, "; "), limit)
		}
		return Pass, fmt.Sprintf("active keys younger than %d days", limit)
	})
}

package audit

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// inventoryOr returns the authorization details, or the error result the check gives without.
func (a *accountAudit) inventoryOr(c *Check) (*inventory, []Result) {
	if a.invErr != nil {
		return nil, a.errorResult(c, a.invErr)
	}
	return a.inv, nil
}

func evalUserPolicies(_ context.Context, a *accountAudit, c *Check) []Result {
	inv, errs := a.inventoryOr(c)
	if errs != nil {
		return errs
	}
	out := make([]Result, 0, len(inv.Users))
	for _, u := range inv.Users {
		var direct []string
		for _, arn := range u.Attached {
			direct = append(direct, "managed "+arn)
		}
		for _, name := range slices.Sorted(maps.Keys(u.Inline)) {
			direct = append(direct, "inline "+name)
		}
		if len(direct) > 0 {
			out = append(out, a.result(c, Fail, u.ARN, "policies on the user itself: "+strings.Join(direct, ", ")))
			continue
		}
		out = append(out, a.result(c, Pass, u.ARN, "no policy on the user itself"))
	}
	return out
}

// evalFullAdminPolicy is CIS 1.16: every managed policy attached to a user, group or role, and
// every inline policy, is read for a statement allowing "*" on "*". One result per managed
// policy that grants it (where it is attached, in the detail) and per principal whose inline
// policies do; a pass on the account when none does.
func evalFullAdminPolicy(_ context.Context, a *accountAudit, c *Check) []Result {
	inv, errs := a.inventoryOr(c)
	if errs != nil {
		return errs
	}
	var out []Result
	attachedTo := map[string][]string{} // managed policy ARN → where attached
	for _, kind := range []struct {
		name string
		list []principal
	}{{"user", inv.Users}, {"group", inv.Groups}, {"role", inv.Roles}} {
		for _, p := range kind.list {
			for _, arn := range p.Attached {
				attachedTo[arn] = append(attachedTo[arn], kind.name+"/"+p.Name)
			}
			var admin, unreadable []string
			for _, name := range slices.Sorted(maps.Keys(p.Inline)) {
				full, err := GrantsFullAdmin(p.Inline[name])
				switch {
				case err != nil:
					unreadable = append(unreadable, fmt.Sprintf("%s (%v)", name, err))
				case full:
					admin = append(admin, name)
				}
			}
			switch {
			case len(admin) > 0:
				out = append(out, a.result(c, Fail, p.ARN, fmt.Sprintf("inline polic%s %s on %s %s allow%s * on *", plural(len(admin), "y", "ies"), strings.Join(admin, ", "), kind.name, p.Name, plural(len(admin), "s", ""))))
			case len(unreadable) > 0:
				out = append(out, a.result(c, Error, p.ARN, fmt.Sprintf("inline policies of %s %s could not be read: %s", kind.name, p.Name, strings.Join(unreadable, "; "))))
			}
		}
	}
	for _, arn := range slices.Sorted(maps.Keys(attachedTo)) {
		doc, ok := inv.Policies[arn]
		if !ok {
			out = append(out, a.result(c, Error, arn, fmt.Sprintf("attached to %s, but GetAccountAuthorizationDetails did not return its document", strings.Join(attachedTo[arn], ", "))))
			continue
		}
		full, err := GrantsFullAdmin(doc)
		switch {
		case err != nil:
			out = append(out, a.result(c, Error, arn, fmt.Sprintf("default version could not be read: %v", err)))
		case full:
			out = append(out, a.result(c, Fail, arn, fmt.Sprintf("allows * on * and is attached to %s", strings.Join(attachedTo[arn], ", "))))
		}
	}
	if len(out) == 0 {
		out = append(out, a.result(c, Pass, a.rootARN(), "no attached or inline policy allows * on *"))
	}
	return out
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// evalSupportRole is CIS 1.17: some role has the AWS managed AWSSupportAccess policy attached.
func evalSupportRole(_ context.Context, a *accountAudit, c *Check) []Result {
	inv, errs := a.inventoryOr(c)
	if errs != nil {
		return errs
	}
	want := "arn:" + a.partition + ":iam::aws:policy/AWSSupportAccess"
	var roles []string
	for _, r := range inv.Roles {
		if slices.Contains(r.Attached, want) {
			roles = append(roles, r.Name)
		}
	}
	if len(roles) == 0 {
		return []Result{a.result(c, Fail, a.rootARN(), "no role has AWSSupportAccess attached")}
	}
	return []Result{a.result(c, Pass, a.rootARN(), "AWSSupportAccess is attached to role "+strings.Join(roles, ", "))}
}

// evalBaselineGroups checks that every human user, taken to be one with a console password, is
// in one of the baseline groups. With Options.Groups unset, the baseline is those of
// DefaultGroups that exist, and the check does not apply when none does; a configured group
// that does not exist fails on the account.
func evalBaselineGroups(_ context.Context, a *accountAudit, c *Check) []Result {
	inv, errs := a.inventoryOr(c)
	if errs != nil {
		return errs
	}
	rows, errs := a.users(c)
	if errs != nil {
		return errs
	}
	existing := map[string]bool{}
	for _, g := range inv.Groups {
		existing[g.Name] = true
	}
	var out []Result
	var baseline []string
	if a.opts.Groups == nil {
		for _, g := range DefaultGroups {
			if existing[g] {
				baseline = append(baseline, g)
			}
		}
		if len(baseline) == 0 {
			return []Result{a.result(c, NotApplicable, a.rootARN(), fmt.Sprintf("none of the default baseline groups (%s) exists; set audit.groups to check yours", strings.Join(DefaultGroups, ", ")))}
		}
	} else {
		var missing []string
		for _, g := range a.opts.Groups {
			if existing[g] {
				baseline = append(baseline, g)
			} else {
				missing = append(missing, g)
			}
		}
		if len(missing) > 0 {
			out = append(out, a.result(c, Fail, a.rootARN(), "configured baseline group(s) do not exist: "+strings.Join(missing, ", ")))
		} else {
			out = append(out, a.result(c, Pass, a.rootARN(), "every configured baseline group exists"))
		}
	}
	human := map[string]bool{}
	for _, row := range rows {
		human[row.ARN] = row.HasPassword()
	}
	for _, u := range inv.Users {
		if !human[u.ARN] {
			out = append(out, a.result(c, NotApplicable, u.ARN, "no console password: not taken for a person"))
			continue
		}
		var in []string
		for _, g := range u.Groups {
			if slices.Contains(baseline, g) {
				in = append(in, g)
			}
		}
		if len(in) == 0 {
			groups := "no group"
			if len(u.Groups) > 0 {
				groups = "groups " + strings.Join(u.Groups, ", ")
			}
			out = append(out, a.result(c, Fail, u.ARN, fmt.Sprintf("in %s, none of %s", groups, strings.Join(baseline, ", "))))
			continue
		}
		out = append(out, a.result(c, Pass, u.ARN, "in "+strings.Join(in, ", ")))
	}
	return out
}

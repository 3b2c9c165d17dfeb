package audit

// Diff is what changed between two audits, for the daily digest.
type Diff struct {
	// NewlyFailing failed now and did not fail before (or did not exist), worst first.
	NewlyFailing []Result
	// Fixed failed before and now pass, do not apply, or are gone (a deleted user, a detached
	// policy), worst first; each is the previous run's result.
	Fixed []Result
	// StillFailing failed both times, worst first; the digest shows their count.
	StillFailing []Result
	// Unknown failed before and could not be checked now (the check or the account errored),
	// worst first; each is the previous run's result.
	Unknown []Result
	// NewErrors could not run now and ran (or did not exist) before, worst first.
	NewErrors []Result
}

// Changed reports whether the digest has news: something newly failing, fixed, or newly
// unable to run.
func (d Diff) Changed() bool {
	return len(d.NewlyFailing) > 0 || len(d.Fixed) > 0 || len(d.NewErrors) > 0
}

// Compare pairs the previous run's results with the current ones by Key. With no previous
// results (a first run), every failure is newly failing. It changes neither argument.
func Compare(previous, current []Result) Diff {
	prev := make(map[string]Result, len(previous))
	for _, r := range previous {
		prev[r.Key()] = r
	}
	cur := make(map[string]Result, len(current))
	// A check that errored on an account (as a whole, on its root ARN, or the account itself
	// unreachable) leaves that account's earlier failures of it unknown rather than fixed.
	erroredCheck := map[string]bool{}
	erroredAccount := map[string]bool{}
	for _, r := range current {
		cur[r.Key()] = r
		if r.Status == Error {
			erroredCheck[r.Check+"|"+r.Account] = true
			if r.Check == accountAccess.ID {
				erroredAccount[r.Account] = true
			}
		}
	}

	var d Diff
	for _, r := range current {
		p, seen := prev[r.Key()]
		switch {
		case r.Status == Fail && seen && p.Status == Fail:
			d.StillFailing = append(d.StillFailing, r)
		case r.Status == Fail:
			d.NewlyFailing = append(d.NewlyFailing, r)
		case r.Status == Error && (!seen || p.Status != Error):
			d.NewErrors = append(d.NewErrors, r)
		}
	}
	for _, p := range previous {
		if p.Status != Fail {
			continue
		}
		r, ok := cur[p.Key()]
		switch {
		case ok && r.Status == Fail:
		case ok && r.Status == Error, !ok && (erroredCheck[p.Check+"|"+p.Account] || erroredAccount[p.Account]):
			d.Unknown = append(d.Unknown, p)
		default:
			d.Fixed = append(d.Fixed, p)
		}
	}
	for _, list := range [][]Result{d.NewlyFailing, d.Fixed, d.StillFailing, d.Unknown, d.NewErrors} {
		SortWorstFirst(list)
	}
	return d
}

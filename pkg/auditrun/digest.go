package auditrun

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/iam-watchdog/iam-watchdog/pkg/audit"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/render"
)

// ChangeDigest is the digest of what changed since the last audit, at previous: newly failing,
// fixed, newly unable to run and no longer checked, each worst first, and the count of what is
// still failing by severity, worst first.
func ChangeDigest(report audit.Report, d audit.Diff, previous time.Time) render.Digest {
	summary := []string{
		counted(len(d.NewlyFailing), "newly failing"),
		counted(len(d.Fixed), "fixed"),
		counted(len(d.StillFailing), "still failing"),
	}
	if n := len(d.NewErrors); n > 0 {
		summary = append(summary, counted(n, "newly could not run"))
	}
	if n := len(d.Unknown); n > 0 {
		summary = append(summary, counted(n, "not checked this time"))
	}
	return render.Digest{
		Title:   "IAM audit of " + accountsOf(report.Results) + ": what changed",
		Summary: strings.Join(summary, ", "),
		Sections: []render.DigestSection{
			{Heading: "Newly failing", Items: items(d.NewlyFailing)},
			{Heading: "Fixed", Items: was(items(d.Fixed))},
			{Heading: "Newly could not run", Items: items(d.NewErrors)},
			{Heading: "Failed last time, not checked this time", Items: was(items(d.Unknown))},
			{Heading: "Still failing", Note: bySeverity(d.StillFailing)},
		},
		Footer: footer(report.StartedAt, previous),
	}
}

// FullDigest is the first audit's digest: the whole picture, once. What fails and what could not
// run are listed worst first; passes are counted.
func FullDigest(report audit.Report) render.Digest {
	var failing, errored []audit.Result
	passed := 0
	for _, r := range report.Results {
		switch r.Status {
		case audit.Fail:
			failing = append(failing, r)
		case audit.Error:
			errored = append(errored, r)
		case audit.Pass:
			passed++
		}
	}
	audit.SortWorstFirst(failing)
	audit.SortWorstFirst(errored)
	return render.Digest{
		Title:   "IAM audit of " + accountsOf(report.Results) + ": first audit",
		Summary: fmt.Sprintf("%s, %s, %d passed; from now on this digest says what changed", counted(len(failing), "failing"), counted(len(errored), "could not run"), passed),
		Sections: []render.DigestSection{
			{Heading: "Failing", Note: bySeverity(failing), Items: items(failing)},
			{Heading: "Could not run", Items: items(errored)},
		},
		Footer: footer(report.StartedAt, time.Time{}),
	}
}

func items(rs []audit.Result) []render.DigestItem {
	out := make([]render.DigestItem, 0, len(rs))
	for _, r := range rs {
		title := r.Title
		if r.CIS != "" {
			title = "CIS " + r.CIS + " " + title
		}
		out = append(out, render.DigestItem{Severity: r.Severity, Title: title, Resource: r.Resource, Detail: r.Detail})
	}
	return out
}

// was marks items of the last audit's results as what was seen then.
func was(its []render.DigestItem) []render.DigestItem {
	for i := range its {
		if its[i].Detail != "" {
			its[i].Detail = "was: " + its[i].Detail
		}
	}
	return its
}

// bySeverity counts results by severity, worst first: "14: 2 critical, 5 high, 7 medium".
func bySeverity(rs []audit.Result) string {
	if len(rs) == 0 {
		return ""
	}
	counts := map[detect.Severity]int{}
	for _, r := range rs {
		counts[r.Severity]++
	}
	var parts []string
	for _, s := range slices.Backward([]detect.Severity{detect.Info, detect.Low, detect.Medium, detect.High, detect.Critical}) {
		if n := counts[s]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, s))
		}
	}
	return fmt.Sprintf("%d: %s", len(rs), strings.Join(parts, ", "))
}

func footer(started, previous time.Time) string {
	s := "Audited " + started.UTC().Format("2006-01-02 15:04 MST")
	if !previous.IsZero() {
		s += ", compared with the audit of " + previous.UTC().Format("2006-01-02 15:04 MST")
	}
	return s + ". `watchdog audit` lists every result."
}

func accountsOf(rs []audit.Result) string {
	var accounts []string
	for _, r := range rs {
		accounts = append(accounts, r.Account)
	}
	slices.Sort(accounts)
	accounts = slices.Compact(accounts)
	switch len(accounts) {
	case 0:
		return "no account"
	case 1:
		return "account " + accounts[0]
	}
	return fmt.Sprintf("%d accounts", len(accounts))
}

func counted(n int, what string) string { return fmt.Sprintf("%d %s", n, what) }

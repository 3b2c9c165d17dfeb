package audit

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
)

// TextOptions shape WriteText's output.
type TextOptions struct {
	// Verbose lists every passing and not-applicable result too, not only their checks.
	Verbose bool
	// Width is the column lines are wrapped at; 0 means 80.
	Width int
}

// WriteText renders a report for a terminal: a summary line, then each failing check and each
// check that could not run, worst first, with the resources concerned, the detail and the fix
// once per check; then the checks that passed or did not apply, by ID. Lines are wrapped to
// fit Width.
func WriteText(w io.Writer, r Report, opts TextOptions) error {
	width := cmp.Or(opts.Width, 80)
	bw := bufio.NewWriter(w)
	accounts := accountsOf(r.Results)
	counts := map[Status]int{}
	for _, res := range r.Results {
		counts[res.Status]++
	}
	writeWrapped(bw, fmt.Sprintf("Audit of %s at %s", accountList(accounts), r.StartedAt.UTC().Format("2006-01-02 15:04 MST")), "", width)
	fmt.Fprintf(bw, "%d failed, %d could not run, %d passed, %d not applicable\n",
		counts[Fail], counts[Error], counts[Pass], counts[NotApplicable])

	groups := groupByCheck(r.Results)
	var passed, notApplicable []string
	for _, g := range groups {
		worst := g.results[0].Status
		if worst != Fail && worst != Error {
			if worst == Pass {
				passed = append(passed, g.check)
			} else {
				notApplicable = append(notApplicable, g.check)
			}
			if !opts.Verbose {
				continue
			}
		}
		writeGroup(bw, g, len(accounts) > 1, opts.Verbose, width)
	}
	if !opts.Verbose {
		if len(passed) > 0 {
			fmt.Fprintln(bw)
			writeWrapped(bw, "Passed: "+strings.Join(passed, ", "), "", width)
		}
		if len(notApplicable) > 0 {
			fmt.Fprintln(bw)
			writeWrapped(bw, "Not applicable: "+strings.Join(notApplicable, ", "), "", width)
		}
	}
	return bw.Flush()
}

// checkGroup is one check's results, worst first.
type checkGroup struct {
	check   string
	results []Result
}

// groupByCheck groups results by check, groups ordered by their worst result.
func groupByCheck(results []Result) []checkGroup {
	sorted := slices.Clone(results)
	SortWorstFirst(sorted)
	var groups []checkGroup
	index := map[string]int{}
	for _, r := range sorted {
		i, ok := index[r.Check]
		if !ok {
			i = len(groups)
			index[r.Check] = i
			groups = append(groups, checkGroup{check: r.Check})
		}
		groups[i].results = append(groups[i].results, r)
	}
	return groups
}

func writeGroup(w *bufio.Writer, g checkGroup, manyAccounts, verbose bool, width int) {
	first := g.results[0]
	head := fmt.Sprintf("%s %s  %s", strings.ToUpper(statusWord(first.Status)), first.Severity, first.Check)
	if first.CIS != "" {
		head += "  CIS " + first.CIS
	}
	shown := 0
	for _, r := range g.results {
		if verbose || r.Status == Fail || r.Status == Error {
			shown++
		}
	}
	if shown < len(g.results) {
		head += fmt.Sprintf("  (%d of %d resources)", shown, len(g.results))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, head)
	writeWrapped(w, first.Title, "  ", width)
	for _, r := range g.results {
		if !verbose && r.Status != Fail && r.Status != Error {
			continue
		}
		line := shortResource(r.Resource, r.Account)
		if manyAccounts {
			line = r.Account + " " + line
		}
		if r.Status != first.Status {
			line = statusWord(r.Status) + " " + line
		}
		writeWrapped(w, line+": "+r.Detail, "  ", width)
	}
	if first.Status == Fail {
		writeWrapped(w, "fix: "+first.Fix, "  ", width)
	}
}

// statusWord is a status as the text output writes it.
func statusWord(s Status) string {
	if s == NotApplicable {
		return "n/a"
	}
	return string(s)
}

// writeWrapped writes text indented, wrapped at width on spaces; continuation lines are
// indented two more. A word longer than the line (an ARN, a URL) stays whole.
func writeWrapped(w *bufio.Writer, text, indent string, width int) {
	line := indent
	fresh := true
	for _, word := range strings.Fields(text) {
		if !fresh && len(line)+1+len(word) > width {
			fmt.Fprintln(w, line)
			line, fresh = indent+"  ", true
		}
		if !fresh {
			line += " "
		}
		line += word
		fresh = false
	}
	fmt.Fprintln(w, line)
}

// shortResource drops what the header already says: arn:aws:iam::123456789012:user/alice is
// user/alice, the account's root ARN is root, other ARNs keep service, Region and resource.
func shortResource(arn, account string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || (parts[4] != account && parts[4] != "") {
		return arn
	}
	service, region, resource := parts[2], parts[3], parts[5]
	if service == "iam" {
		return resource
	}
	return strings.Join(slices.DeleteFunc([]string{service, region, resource}, func(s string) bool { return s == "" }), ":")
}

func accountsOf(results []Result) []string {
	var out []string
	for _, r := range results {
		out = append(out, r.Account)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func accountList(accounts []string) string {
	switch len(accounts) {
	case 0:
		return "no account"
	case 1:
		return "account " + accounts[0]
	case 2, 3:
		return "accounts " + strings.Join(accounts, ", ")
	}
	return fmt.Sprintf("%d accounts", len(accounts))
}

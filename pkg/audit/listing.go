package audit

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
)

// CheckJSON is a check as `watchdog audit --list --output json` shows it: a contract, as the
// results' fields are.
type CheckJSON struct {
	ID       string `json:"id"`
	CIS      string `json:"cis"`
	Severity string `json:"severity"`
	Scope    string `json:"scope"`
	Title    string `json:"title"`
	Why      string `json:"why"`
	Fix      string `json:"fix"`
}

// WriteList prints the checks' catalogue (`watchdog audit --list`), in the order audits run
// them: a table in "text"; with the why and the fix, one indented array in "json" or one
// object a line in "jsonl".
func WriteList(w io.Writer, format string) error {
	checks := List()
	switch format {
	case "text":
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tCIS\tSEVERITY\tSCOPE\tTITLE")
		for _, c := range checks {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.ID, orDash(c.CIS), c.Severity, c.Scope, c.Title)
		}
		return tw.Flush()
	case "json", "jsonl":
		out := make([]CheckJSON, 0, len(checks))
		for _, c := range checks {
			out = append(out, CheckJSON{ID: c.ID, CIS: c.CIS, Severity: c.Severity.String(), Scope: c.Scope, Title: c.Title, Why: c.Why, Fix: c.Fix})
		}
		if format == "json" {
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			return enc.Encode(out)
		}
		return writeJSONL(w, out)
	}
	return fmt.Errorf("list format %q: want text, json or jsonl", format)
}

// WriteReport writes a report as format says: "text" (WriteText) or "jsonl", one JSON object a
// line per result, a contract (`watchdog audit --output jsonl`).
func WriteReport(w io.Writer, r Report, format string, opts TextOptions) error {
	switch format {
	case "text":
		return WriteText(w, r, opts)
	case "jsonl":
		return writeJSONL(w, r.Results)
	}
	return fmt.Errorf("report format %q: want text or jsonl", format)
}

func writeJSONL[T any](w io.Writer, items []T) error {
	enc := json.NewEncoder(w)
	for _, it := range items {
		if err := enc.Encode(it); err != nil {
			return err
		}
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

package detect

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/iam-watchdog/iam-watchdog/internal/textwrap"
)

// WriteRulesText lists rules for a terminal of width columns (`watchdog rules`): per rule, a
// line with its ID, category and CIS controls, then its remediation, if any, and its events,
// wrapped; a rule that looks at every event shows "*" and its scope. Titles are in
// WriteRulesJSON.
func WriteRulesText(w io.Writer, rules []Rule, width int) error {
	idWidth, catWidth := len("ID"), len("CATEGORY")
	for _, r := range rules {
		idWidth, catWidth = max(idWidth, len(r.ID)), max(catWidth, len(r.Category))
	}
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "%-*s  %-*s  %s\n", idWidth, "ID", catWidth, "CATEGORY", "CIS")
	for _, r := range rules {
		cis := strings.Join(r.CIS, ",")
		if cis == "" {
			cis = "-"
		}
		fmt.Fprintf(bw, "%-*s  %-*s  %s\n", idWidth, r.ID, catWidth, r.Category, cis)
		if r.Action != "" {
			fmt.Fprintf(bw, "    remediation: %s\n", r.Action)
		}
		events := "* (" + r.Scope + ")"
		if !r.AnyEvent {
			source := strings.TrimSuffix(r.Source, ".amazonaws.com")
			events = source + ":" + strings.Join(r.Events, ", "+source+":")
		}
		for _, l := range textwrap.Lines(events, "    events: ", "      ", width) {
			fmt.Fprintln(bw, l)
		}
	}
	return bw.Flush()
}

// WriteRulesJSON lists rules as one indented JSON array, every field in full (`watchdog rules
// --output json`); cis is always an array.
func WriteRulesJSON(w io.Writer, rules []Rule) error {
	for i := range rules {
		if rules[i].CIS == nil {
			rules[i].CIS = []string{}
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rules)
}

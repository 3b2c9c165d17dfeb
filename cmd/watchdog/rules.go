package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
)

// runRules lists the rule table: id, category, CIS controls, remediation and watched events, and
// in JSON the title too. Rules that look at every event (root activity, denied calls) show
// source and events "*"; in JSON, any_event and scope say which events they report.
func runRules(args []string, std stdio) error {
	fs := flag.NewFlagSet("rules", flag.ContinueOnError)
	output := fs.String("output", "text", "text or json")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	table := detect.Rules()
	switch *output {
	case "json":
		for i := range table {
			if table[i].CIS == nil {
				table[i].CIS = []string{}
			}
		}
		enc := json.NewEncoder(std.out)
		enc.SetIndent("", "  ")
		return enc.Encode(table)
	case "text":
		tw := tabwriter.NewWriter(std.out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tCATEGORY\tCIS\tREMEDIATION\tEVENTS")
		for _, r := range table {
			events := strings.TrimSuffix(r.Source, ".amazonaws.com") + ":" + strings.Join(r.Events, ",")
			if r.AnyEvent {
				events = r.Source // every event: the JSON output's scope says which are reported
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.ID, r.Category, orDash(strings.Join(r.CIS, ",")), orDash(r.Action), events)
		}
		return tw.Flush()
	}
	return usageError{fmt.Errorf("--output %q: want text or json", *output)}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

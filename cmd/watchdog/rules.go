package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
)

// rules lists the rule table: id, category, title, watched events, remediation and CIS controls.
func rules(args []string, io ios) error {
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
		enc := json.NewEncoder(io.out)
		enc.SetIndent("", "  ")
		return enc.Encode(table)
	case "text":
		tw := tabwriter.NewWriter(io.out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tCATEGORY\tCIS\tREMEDIATION\tEVENTS")
		for _, r := range table {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.ID, r.Category, orDash(strings.Join(r.CIS, ",")), orDash(r.Action),
				strings.TrimSuffix(r.Source, ".amazonaws.com")+":"+strings.Join(r.Events, ","))
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

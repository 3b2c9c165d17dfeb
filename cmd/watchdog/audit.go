package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/iam-watchdog/iam-watchdog/pkg/audit"
	"github.com/iam-watchdog/iam-watchdog/pkg/auditrun"
	"github.com/iam-watchdog/iam-watchdog/pkg/auditstore"
	"github.com/iam-watchdog/iam-watchdog/pkg/clienv"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/policy"
	"github.com/iam-watchdog/iam-watchdog/pkg/remediate"
	"github.com/iam-watchdog/iam-watchdog/pkg/watchdog"
)

// exitCode ends a run with a code of its own (the audit's 1 and 3), everything already said.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// accountList is --account: repeated, or a comma-separated list, or both.
type accountList []string

func (l *accountList) String() string { return strings.Join(*l, ",") }

func (l *accountList) Set(v string) error {
	for _, a := range strings.Split(v, ",") {
		if a = strings.TrimSpace(a); a != "" {
			*l = append(*l, a)
		}
	}
	return nil
}

// runAudit audits the account the credentials are for, listed accounts or the organisation
// (pkg/audit), and prints the results; with --state it keeps each account's snapshot there,
// for `watchdog replay --mode auto --state` to revert to. Exit 0 when the audit ran, 1 when some
// check could not run (each on standard error), 3 when --fail-on's severity failed.
func runAudit(ctx context.Context, args []string, std stdio) error {
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	var pf pipelineFlags
	pf.register(fs, false)
	output := fs.String("output", "text", "text or jsonl (json too with --list)")
	var accounts accountList
	fs.Var(&accounts, "account", "audit this account (repeat, or a comma-separated list); others than the credentials' through member_role_name")
	org := fs.Bool("org", false, "audit every active account of the organisation through member_role_name")
	failOn := fs.String("fail-on", "", "exit 3 when a check fails at this severity or above (info, low, medium, high, critical)")
	list := fs.Bool("list", false, "list every check with its CIS ID, and audit nothing")
	verbose := fs.Bool("verbose", false, "text: list passing and not-applicable results too")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageError{fmt.Errorf("audit takes no arguments, got %q", rest)}
	}
	if *list {
		return listChecks(*output, std)
	}
	if *output != "text" && *output != "jsonl" {
		return usageError{fmt.Errorf("--output %q: want text or jsonl", *output)}
	}
	if *org && len(accounts) > 0 {
		return usageError{errors.New("--account and --org: give one of them")}
	}
	var threshold *detect.Severity
	if *failOn != "" {
		s, err := detect.ParseSeverity(*failOn)
		if err != nil {
			return usageError{fmt.Errorf("--fail-on: %w", err)}
		}
		threshold = &s
	}
	cfg, err := pf.policyConfig()
	if err != nil {
		return err
	}
	scope := auditrun.ScopeOf(cfg.Audit)
	switch {
	case *org:
		scope = auditrun.Scope{Organization: true}
	case len(accounts) > 0:
		scope = auditrun.Scope{Accounts: accounts}
	}

	awsCfg, err := pf.env(ctx).AWS()
	if err != nil {
		return err
	}
	env, err := auditrun.EnvFrom(os.Getenv)
	if err != nil {
		return err
	}
	au, err := audit.New(auditrun.Options(cfg.Audit, env.Sight(awsCfg)))
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	var assume audit.Assumer
	if cfg.MemberRoleName != "" {
		assume = remediate.NewAssumeRoleAs(awsCfg, "", cfg.MemberRoleName, remediate.AuditSessionName, sts.NewFromConfig(awsCfg))
	}
	report, err := scope.Run(ctx, au, audit.NewClients(awsCfg), assume)
	if err != nil {
		return err
	}

	if err := writeReport(report, *output, *verbose, std); err != nil {
		return err
	}
	code := audit.ExitCode(report.Results, threshold)
	for _, r := range report.Results {
		if r.Status == audit.Error {
			std.problem(fmt.Errorf("check %s could not run on %s (account %s): %s", r.Check, r.Resource, r.Account, r.Detail))
		}
	}
	if pf.state != "" {
		if err := saveSnapshots(ctx, pf.state, cfg, awsCfg, report); err != nil {
			std.problem(err)
			code = max(code, audit.ExitErrored)
		}
	}
	if code != audit.ExitOK {
		return exitCode(code)
	}
	return nil
}

func writeReport(report audit.Report, output string, verbose bool, std stdio) error {
	if output == "text" {
		return audit.WriteText(std.out, report, audit.TextOptions{Verbose: verbose})
	}
	enc := json.NewEncoder(std.out)
	for _, r := range report.Results {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return nil
}

// saveSnapshots keeps each audited account's snapshot in the --state store, authenticated with
// the config's state_key_arn as that store's alert records are (clienv.Env.Codec).
func saveSnapshots(ctx context.Context, spec string, cfg policy.Config, awsCfg aws.Config, report audit.Report) error {
	records, err := clienv.With(awsCfg).Records(cfg, spec)
	if err != nil {
		return err
	}
	store := auditstore.Store{State: records.Store, Codec: records.Codec}
	var errs []error
	for _, snap := range report.Snapshots {
		errs = append(errs, store.SaveSnapshot(ctx, snap))
	}
	return errors.Join(errs...)
}

// checkJSON is a check as `watchdog audit --list --output json` shows it.
type checkJSON struct {
	ID       string `json:"id"`
	CIS      string `json:"cis"`
	Severity string `json:"severity"`
	Scope    string `json:"scope"`
	Title    string `json:"title"`
	Why      string `json:"why"`
	Fix      string `json:"fix"`
}

// listChecks prints the checks' catalogue, in the order audits run them.
func listChecks(output string, std stdio) error {
	checks := audit.List()
	switch output {
	case "text":
		tw := tabwriter.NewWriter(std.out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tCIS\tSEVERITY\tSCOPE\tTITLE")
		for _, c := range checks {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.ID, orDash(c.CIS), c.Severity, c.Scope, c.Title)
		}
		return tw.Flush()
	case "json", "jsonl":
		out := make([]checkJSON, 0, len(checks))
		for _, c := range checks {
			out = append(out, checkJSON{ID: c.ID, CIS: c.CIS, Severity: c.Severity.String(), Scope: c.Scope, Title: c.Title, Why: c.Why, Fix: c.Fix})
		}
		enc := json.NewEncoder(std.out)
		if output == "json" {
			enc.SetIndent("", "  ")
			return enc.Encode(out)
		}
		for _, c := range out {
			if err := enc.Encode(c); err != nil {
				return err
			}
		}
		return nil
	}
	return usageError{fmt.Errorf("--output %q: want text, json or jsonl", output)}
}

// revertToSnapshots lets replay's remediator revert to the audit snapshots its state store keeps
// (`watchdog audit --state`), and put an overwritten inline policy back to its snapshot's
// document: the CLI acts with a person's credentials, which may (the functions' roles may not,
// unless RestoreInlinePolicies).
func revertToSnapshots(p *watchdog.Pipeline) {
	if rem, ok := p.Remediator.(*remediate.Remediator); ok && p.Store != nil {
		rem.Snapshots = &auditstore.Store{State: p.Store, Codec: p.Codec}
		rem.RestoreInline = true
	}
}

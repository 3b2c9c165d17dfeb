package main

import (
	"context"
	"errors"
	"flag"
	"os"
	"strings"

	"github.com/iam-watchdog/iam-watchdog/internal/cli"
	"github.com/iam-watchdog/iam-watchdog/pkg/audit"
	"github.com/iam-watchdog/iam-watchdog/pkg/auditrun"
	"github.com/iam-watchdog/iam-watchdog/pkg/auditstore"
	"github.com/iam-watchdog/iam-watchdog/pkg/clienv"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/remediate"
	"github.com/iam-watchdog/iam-watchdog/pkg/watchdog"
)

// runAudit audits the accounts (auditrun.Once) and prints the results; with --state it keeps
// their snapshots there, for `replay --mode auto --state` to revert to. Exit 0, 1 or 3.
func runAudit(ctx context.Context, args []string, std stdio) error {
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	var pf pipelineFlags
	pf.register(fs, false)
	output := cli.Choice(fs, "output", "text", "`text|jsonl|json`: the report, or one JSON object per result (json: with --list only)", "text", "jsonl", "json")
	var accounts []string
	fs.Func("account", "audit this `ACCOUNT` (repeat, or a comma-separated list); others than the credentials' through member_role_name", func(v string) error {
		accounts = append(accounts, strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' })...)
		return nil
	})
	org := fs.Bool("org", false, "audit every active account of the organisation through member_role_name")
	var failOn *detect.Severity
	fs.Func("fail-on", "exit 3 when a check fails at this `SEVERITY` or above (info, low, medium, high, critical)", func(v string) error {
		s, err := detect.ParseSeverity(v)
		failOn = &s
		return err
	})
	list := fs.Bool("list", false, "list every check with its CIS ID, and audit nothing")
	verbose := fs.Bool("verbose", false, "text: list passing and not-applicable results too")
	if _, err := parseArgs(fs, args, ""); err != nil {
		return err
	}
	switch {
	case *list:
		return audit.WriteList(std.out, *output)
	case *output == "json":
		return usageError{errors.New("--output json lists the checks (--list); an audit's results are text or jsonl")}
	case *org && len(accounts) > 0:
		return usageError{errors.New("--account and --org: give one of them")}
	}
	cfg, err := pf.policyConfig()
	if err != nil {
		return err
	}
	scope := auditrun.ScopeOf(cfg.Audit)
	if *org || len(accounts) > 0 {
		scope = auditrun.Scope{Organization: *org, Accounts: accounts}
	}
	awsCfg, err := pf.env(ctx).AWS()
	if err != nil {
		return err
	}
	report, err := auditrun.Once(ctx, cfg, scope, awsCfg, os.Getenv)
	if err != nil {
		return err
	}
	if err := audit.WriteReport(std.out, report, *output, audit.TextOptions{Verbose: *verbose}); err != nil {
		return err
	}
	code := audit.ExitCode(report.Results, failOn)
	for _, err := range audit.Errors(report.Results) {
		std.problem(err)
	}
	if pf.state != "" {
		// Authenticated with the config's state_key_arn, as the store's alert records are.
		records, err := clienv.With(awsCfg).Records(cfg, pf.state)
		if err == nil {
			err = (&auditstore.Store{State: records.Store, Codec: records.Codec}).SaveSnapshots(ctx, report.Snapshots)
		}
		if err != nil {
			std.problem(err)
			code = max(code, audit.ExitErrored)
		}
	}
	if code != audit.ExitOK {
		return exitCode(code)
	}
	return nil
}

// revertToSnapshots lets replay's remediator revert to the audit snapshots in its state store,
// inline policies included: a person's credentials may put them back (the functions' may not).
func revertToSnapshots(p *watchdog.Pipeline) {
	if rem, ok := p.Remediator.(*remediate.Remediator); ok && p.Store != nil {
		rem.Snapshots = &auditstore.Store{State: p.Store, Codec: p.Codec}
		rem.RestoreInline = true
	}
}

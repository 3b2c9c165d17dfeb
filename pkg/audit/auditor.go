package audit

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
)

// Report is what an audit found.
type Report struct {
	StartedAt time.Time `json:"started_at"`
	// Results are every check's results, worst first.
	Results []Result `json:"results"`
	// Snapshots are each audited account's users' policies, by account ID. An account whose
	// authorization details could not be read has none.
	Snapshots map[string]Snapshot `json:"snapshots"`
}

// Auditor runs audits. It is safe for concurrent use.
type Auditor struct {
	opts Options
}

// New checks opts and fills in the defaults.
func New(opts Options) (*Auditor, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	return &Auditor{opts: opts.withDefaults()}, nil
}

// Account audits the account home's credentials belong to: the account the watchdog runs in,
// so the sight checks run too. When STS cannot say which account that is, the report holds one
// account-access error, with no account.
func (au *Auditor) Account(ctx context.Context, home Clients) Report {
	return au.Accounts(ctx, home, nil, nil)
}

// Accounts audits the home account (home's credentials') and each of accounts, the others
// through assume, at most Options.Concurrency at a time. With accounts nil, only the home
// account is audited; when accounts is given, the home account is audited only if listed. An
// account that cannot be entered (no role, a refused AssumeRole, credentials of another account)
// gets one account-access result saying why, and the others are audited all the same.
func (au *Auditor) Accounts(ctx context.Context, home Clients, accounts []string, assume Assumer) Report {
	started := au.opts.Now()
	homeAccount, homePartition, homeIdentity, homeErr := identify(ctx, home.STS)
	if homeErr != nil {
		// Members name their own partition when entered; this one only names the unreachable.
		homePartition = "aws"
	}
	targets := accounts
	if targets == nil {
		targets = []string{homeAccount}
	}
	targets = slices.Compact(slices.Sorted(slices.Values(targets)))
	homeBus := au.opts.Sight.HomeBusARN
	if homeBus == "" && homeErr == nil {
		homeBus = fmt.Sprintf("arn:%s:events:%s:%s:event-bus/default", homePartition, home.Region, homeAccount)
	}

	type outcome struct {
		results  []Result
		snapshot *Snapshot
	}
	outcomes := make([]outcome, len(targets))
	sem := make(chan struct{}, au.opts.Concurrency)
	var wg sync.WaitGroup
	for i, account := range targets {
		wg.Go(func() {
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			case <-ctx.Done():
				outcomes[i] = outcome{results: []Result{unreachable(account, homePartition, fmt.Errorf("account %s: not audited: %w", account, context.Cause(ctx)))}}
				return
			}
			a := &accountAudit{account: account, partition: homePartition, homeBus: homeBus, now: started, opts: au.opts}
			switch {
			case homeErr == nil && account == homeAccount:
				a.home, a.c, a.identity = true, home, homeIdentity
			case accounts == nil:
				// The home account could not be identified: nothing else to audit.
				outcomes[i] = outcome{results: []Result{unreachable(account, "aws", homeErr)}}
				return
			case !isAccountID(account):
				outcomes[i] = outcome{results: []Result{unreachable(account, homePartition, fmt.Errorf("account %q: not a 12-digit account ID", account))}}
				return
			default:
				c, identity, partition, err := au.enter(ctx, account, assume)
				if err != nil {
					if partition == "" {
						partition = homePartition
					}
					outcomes[i] = outcome{results: []Result{unreachable(account, partition, err)}}
					return
				}
				a.c, a.identity, a.partition = c, identity, partition
			}
			results, snap := au.audit(ctx, a)
			outcomes[i] = outcome{results: results, snapshot: snap}
		})
	}
	wg.Wait()

	report := Report{StartedAt: started, Snapshots: map[string]Snapshot{}}
	for _, o := range outcomes {
		report.Results = append(report.Results, o.results...)
		if o.snapshot != nil {
			report.Snapshots[o.snapshot.Account] = *o.snapshot
		}
	}
	SortWorstFirst(report.Results)
	return report
}

// Organization audits every ACTIVE account of the organisation, as ListAccounts (through home's
// Organizations client: the management account or a delegated administrator) lists them. The
// error is for a listing that failed; accounts that fail are results.
func (au *Auditor) Organization(ctx context.Context, home Clients, assume Assumer) (Report, error) {
	if home.Organizations == nil {
		return Report{}, fmt.Errorf("list organisation accounts: no Organizations client")
	}
	var accounts []string
	pages := organizations.NewListAccountsPaginator(home.Organizations, &organizations.ListAccountsInput{})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return Report{}, fmt.Errorf("list organisation accounts: %w", err)
		}
		for _, acct := range page.Accounts {
			if active(acct) {
				accounts = append(accounts, aws.ToString(acct.Id))
			}
		}
	}
	if len(accounts) == 0 {
		return Report{}, fmt.Errorf("list organisation accounts: no ACTIVE account")
	}
	return au.Accounts(ctx, home, accounts, assume), nil
}

// active reads an account's State, or, from organisations that do not send it yet, its
// Status (which AWS retires in September 2026).
func active(acct orgtypes.Account) bool {
	if acct.State != "" {
		return acct.State == orgtypes.AccountStateActive
	}
	return acct.Status == orgtypes.AccountStatusActive
}

// enter builds clients for another account through assume and checks with STS that they are
// that account's: an assumer that handed out the wrong account's credentials must not have
// that account audited under this one's name.
func (au *Auditor) enter(ctx context.Context, account string, assume Assumer) (Clients, string, string, error) {
	if assume == nil {
		return Clients{}, "", "", fmt.Errorf("account %s: no way to enter other accounts was given", account)
	}
	cfg, err := assume.Config(ctx, account)
	if err != nil {
		return Clients{}, "", "", fmt.Errorf("account %s: %w", account, err)
	}
	c := NewClients(cfg)
	got, partition, identity, err := identify(ctx, c.STS)
	if err != nil {
		return Clients{}, "", "", fmt.Errorf("account %s: %w", account, err)
	}
	if got != account {
		return Clients{}, partition, "", fmt.Errorf("account %s: the credentials given for it are %s's (%s)", account, got, identity)
	}
	return c, identity, partition, nil
}

// unreachable is the one result of an account that could not be read.
func unreachable(account, partition string, err error) Result {
	c := accountAccess
	a := &accountAudit{account: account, partition: partition}
	return a.result(c, Error, a.rootARN(), err.Error())
}

// audit runs every check on one entered account and takes its snapshot.
func (au *Auditor) audit(ctx context.Context, a *accountAudit) ([]Result, *Snapshot) {
	a.fetch(ctx)
	var results []Result
	for i := range checks {
		c := &checks[i]
		if c.Scope == ScopeHome && !a.home {
			continue
		}
		results = append(results, c.eval(ctx, a, c)...)
	}
	var snap *Snapshot
	if a.invErr == nil {
		s := newSnapshot(a.account, a.now, a.inv)
		snap = &s
	}
	return results, snap
}

package audit

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/iam-watchdog/iam-watchdog/internal/faultproxy"
	"github.com/iam-watchdog/iam-watchdog/internal/mototest"
)

const memberRole = "iam-watchdog-member"

// memberConfig is cfg with the credentials of the member role in account, assumed through STS
// as pkg/remediate's AssumeRole does. moto's AssumeRole hands out credentials of the account in
// the role ARN, which is how it emulates an organisation behind one endpoint.
func memberConfig(cfg aws.Config, account string) aws.Config {
	c := cfg.Copy()
	c.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg),
		"arn:aws:iam::"+account+":role/"+memberRole, func(o *stscreds.AssumeRoleOptions) { o.RoleSessionName = "iam-watchdog" }))
	return c
}

// assumeThrough is the Assumer the lead wires from pkg/remediate, in test form: credentials are
// fetched before returning, so a refused AssumeRole is the assumer's error.
func assumeThrough(cfg aws.Config) Assumer {
	return AssumerFunc(func(ctx context.Context, account string) (aws.Config, error) {
		c := memberConfig(cfg, account)
		if _, err := c.Credentials.Retrieve(ctx); err != nil {
			return aws.Config{}, err
		}
		return c, nil
	})
}

func createAccount(t *testing.T, org *organizations.Client, name string) string {
	t.Helper()
	out, err := org.CreateAccount(t.Context(), &organizations.CreateAccountInput{AccountName: aws.String(name), Email: aws.String(name + "@example.com")})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.CreateAccountStatus.AccountId)
}

// TestOrganizationMoto audits a moto organisation: the management account with its own
// credentials, every ACTIVE member through the member role, a suspended member not at all, and
// a member whose role cannot be assumed as one account-access error while the rest are audited.
func TestOrganizationMoto(t *testing.T) {
	srv := startMoto(t)
	cfg := srv.Config(t)
	org := organizations.NewFromConfig(cfg)
	if _, err := org.CreateOrganization(t.Context(), &organizations.CreateOrganizationInput{FeatureSet: orgtypes.OrganizationFeatureSetAll}); err != nil {
		t.Fatal(err)
	}
	dev, prod, locked, closed := createAccount(t, org, "dev"), createAccount(t, org, "prod"), createAccount(t, org, "locked"), createAccount(t, org, "closed")
	if _, err := org.CloseAccount(t.Context(), &organizations.CloseAccountInput{AccountId: aws.String(closed)}); err != nil {
		t.Fatal(err)
	}
	for account, user := range map[string]string{dev: "dev-alice", prod: "prod-bob", mototest.AccountID: "home-carol"} {
		c := cfg
		if account != mototest.AccountID {
			c = memberConfig(cfg, account)
		}
		s := iamSetup{t, iam.NewFromConfig(c), srv.Endpoint}
		s.user(user)
		s.password(user)
	}

	proxy := faultproxy.Start(t, srv.Endpoint)
	lockedRole := "arn:aws:iam::" + locked + ":role/" + memberRole
	proxy.Inject(faultproxy.AssumeRoleOf(lockedRole), faultproxy.AccessDenied(false))
	viaProxy := mototest.Config(t, proxy.URL)

	opts := fastOptions(time.Now())
	opts.Concurrency = 2
	report, err := mustAuditor(t, opts).Organization(t.Context(), NewClients(viaProxy), assumeThrough(viaProxy))
	if err != nil {
		t.Fatal(err)
	}

	byAccount := map[string][]Result{}
	for _, r := range report.Results {
		byAccount[r.Account] = append(byAccount[r.Account], r)
	}
	if _, ok := byAccount[closed]; ok {
		t.Errorf("the suspended account %s was audited", closed)
	}
	if got := byAccount[locked]; len(got) != 1 || got[0].Check != "account-access" || got[0].Status != Error || !strings.Contains(got[0].Detail, "AccessDenied") || got[0].Resource != "arn:aws:iam::"+locked+":root" {
		t.Errorf("the account whose role is refused: %+v, want one account-access error saying AccessDenied", got)
	}
	for account, user := range map[string]string{dev: "dev-alice", prod: "prod-bob", mototest.AccountID: "home-carol"} {
		if r := find(t, byAccount[account], "user-mfa", ":user/"+user); r.Status != Fail || r.Account != account || r.Resource != "arn:aws:iam::"+account+":user/"+user {
			t.Errorf("account %s: user-mfa of %s: %+v", account, user, r)
		}
		if r := find(t, byAccount[account], "account-access", ":root"); r.Status != Pass {
			t.Errorf("account %s: account-access %+v", account, r)
		}
		snap, ok := report.Snapshots[account]
		if _, has := snap.Users[user]; !ok || !has || len(snap.Users) != 1 {
			t.Errorf("account %s: snapshot %+v, want %s alone", account, snap, user)
		}
	}
	// The watchdog's own sight is the home account's; members get the account-wide checks only.
	for _, account := range []string{dev, prod} {
		for _, r := range byAccount[account] {
			if c, _ := Lookup(r.Check); c.Scope == ScopeHome {
				t.Errorf("member %s got the home check %s", account, r.Check)
			}
		}
	}
	if len(ofCheck(byAccount[mototest.AccountID], "watchdog-slack")) != 1 {
		t.Errorf("the home account has no watchdog-slack result")
	}
	if got := proxy.Counts("AssumeRole").Seen; got != 3 {
		t.Errorf("%d AssumeRole calls, want 3 (dev, prod, locked; never the home account or the suspended one)", got)
	}
}

// TestAccountsRefuseWrongCredentials: an assumer that hands out another account's credentials
// must not get that account audited under the asked one's name.
func TestAccountsRefuseWrongCredentials(t *testing.T) {
	srv := startMoto(t)
	cfg := srv.Config(t)
	const asked, given = "111111111111", "222222222222"
	wrong := AssumerFunc(func(ctx context.Context, account string) (aws.Config, error) {
		return memberConfig(cfg, given), nil
	})
	report := mustAuditor(t, fastOptions(time.Now())).Accounts(t.Context(), NewClients(cfg), []string{asked}, wrong)
	if len(report.Results) != 1 {
		t.Fatalf("results %+v, want one", report.Results)
	}
	r := report.Results[0]
	if r.Check != "account-access" || r.Status != Error || r.Account != asked || !strings.Contains(r.Detail, "are "+given+"'s") {
		t.Errorf("%+v", r)
	}
	if len(report.Snapshots) != 0 {
		t.Errorf("snapshots %v", report.Snapshots)
	}
}

// TestAccountsConcurrencyBound holds each account in the assumer until the test lets go: at
// most Options.Concurrency accounts are entered at once, and with more accounts than that, as
// many as the bound allows.
func TestAccountsConcurrencyBound(t *testing.T) {
	accounts := []string{"111111111111", "222222222222", "333333333333", "444444444444", "555555555555"}
	var mu sync.Mutex
	inside, most := 0, 0
	entered := make(chan string, len(accounts))
	release := make(chan struct{})
	refuse := AssumerFunc(func(ctx context.Context, account string) (aws.Config, error) {
		mu.Lock()
		inside++
		most = max(most, inside)
		mu.Unlock()
		entered <- account
		<-release
		mu.Lock()
		inside--
		mu.Unlock()
		return aws.Config{}, errors.New("no role here")
	})
	opts := fastOptions(time.Now())
	opts.Concurrency = 2
	done := make(chan Report)
	go func() {
		done <- mustAuditor(t, opts).Accounts(context.Background(), Clients{}, accounts, refuse)
	}()
	<-entered
	<-entered
	select {
	case a := <-entered:
		t.Errorf("a third account (%s) was entered while two were held", a)
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	report := <-done
	if most != 2 {
		t.Errorf("at most %d accounts at once, want 2", most)
	}
	var got []string
	for _, r := range report.Results {
		if r.Check != "account-access" || r.Status != Error || !strings.Contains(r.Detail, "no role here") || r.Resource != "arn:aws:iam::"+r.Account+":root" {
			t.Errorf("%+v", r)
		}
		got = append(got, r.Account)
	}
	slices.Sort(got)
	if !slices.Equal(got, accounts) {
		t.Errorf("accounts reported %v, want %v", got, accounts)
	}
}

// TestAccountsRefuseNonAccounts: a listed "account" that is no account ID is reported, never
// assumed into.
func TestAccountsRefuseNonAccounts(t *testing.T) {
	called := false
	assume := AssumerFunc(func(context.Context, string) (aws.Config, error) {
		called = true
		return aws.Config{}, errors.New("unexpected")
	})
	report := mustAuditor(t, fastOptions(time.Now())).Accounts(t.Context(), Clients{}, []string{"12345", "arn:aws:iam::123456789012:root"}, assume)
	if called {
		t.Error("the assumer was asked for a non-account")
	}
	for _, r := range report.Results {
		if r.Check != "account-access" || r.Status != Error || !strings.Contains(r.Detail, "not a 12-digit account ID") {
			t.Errorf("%+v", r)
		}
	}
	if len(report.Results) != 2 {
		t.Errorf("%d results, want 2", len(report.Results))
	}
}

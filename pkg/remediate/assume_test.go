package remediate

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
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"

	"github.com/iam-watchdog/iam-watchdog/internal/faultproxy"
	"github.com/iam-watchdog/iam-watchdog/internal/mototest"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
)

const (
	homeAccount     = mototest.AccountID // the account moto's static test credentials belong to
	memberAccount   = "111111111111"
	strangerAccount = "222222222222"
	memberRoleName  = "iam-watchdog-member"
)

// fakeSTS answers AssumeRole with its func field and records the inputs.
type fakeSTS struct {
	mu         sync.Mutex
	calls      []sts.AssumeRoleInput
	assumeRole func(*sts.AssumeRoleInput) (*sts.AssumeRoleOutput, error)
}

func (f *fakeSTS) AssumeRole(_ context.Context, in *sts.AssumeRoleInput, _ ...func(*sts.Options)) (*sts.AssumeRoleOutput, error) {
	f.mu.Lock()
	f.calls = append(f.calls, *in)
	f.mu.Unlock()
	return f.assumeRole(in)
}

func (f *fakeSTS) roleARNs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls {
		out = append(out, aws.ToString(c.RoleArn))
	}
	return out
}

// grantAll hands out credentials named after the role's account, valid for an hour.
func grantAll(in *sts.AssumeRoleInput) (*sts.AssumeRoleOutput, error) {
	account := strings.Split(aws.ToString(in.RoleArn), ":")[4]
	return &sts.AssumeRoleOutput{Credentials: &ststypes.Credentials{
		AccessKeyId:     aws.String("ASIA" + account),
		SecretAccessKey: aws.String("secret"),
		SessionToken:    aws.String("token"),
		Expiration:      aws.Time(time.Now().Add(time.Hour)),
	}}, nil
}

// accessKeyOf is the access key an IAM client returned by Clients signs with.
func accessKeyOf(t *testing.T, c IAMAPI) string {
	t.Helper()
	creds, err := c.(*iam.Client).Options().Credentials.Retrieve(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return creds.AccessKeyID
}

func baseConfig() aws.Config {
	return aws.Config{
		Region:      "us-east-1",
		Credentials: aws.NewCredentialsCache(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return aws.Credentials{AccessKeyID: "AKIAHOME"}, nil })),
	}
}

func TestAssumeRoleServesHomeWithoutSTS(t *testing.T) {
	f := &fakeSTS{assumeRole: grantAll}
	a := NewAssumeRole(baseConfig(), homeAccount, memberRoleName, f)
	for _, account := range []string{homeAccount, ""} {
		c, err := a.IAM(t.Context(), account)
		if err != nil {
			t.Fatalf("IAM(%q): %v", account, err)
		}
		if got := accessKeyOf(t, c); got != "AKIAHOME" {
			t.Errorf("IAM(%q) signs with %s, want the base credentials", account, got)
		}
		if _, err := a.CloudTrail(t.Context(), account, "eu-west-1"); err != nil {
			t.Fatalf("CloudTrail(%q): %v", account, err)
		}
	}
	if len(f.calls) != 0 {
		t.Errorf("the home account cost %d AssumeRole calls, want none", len(f.calls))
	}
}

func TestAssumeRoleMemberAccounts(t *testing.T) {
	f := &fakeSTS{assumeRole: grantAll}
	a := NewAssumeRole(baseConfig(), homeAccount, "/security/"+memberRoleName+"/", f)

	c, err := a.IAM(t.Context(), memberAccount)
	if err != nil {
		t.Fatal(err)
	}
	if got := accessKeyOf(t, c); got != "ASIA"+memberAccount {
		t.Errorf("IAM(member) signs with %s, want the assumed role's credentials", got)
	}
	ct, err := a.CloudTrail(t.Context(), memberAccount, "eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	if got := ct.(*cloudtrail.Client).Options().Region; got != "eu-west-1" {
		t.Errorf("CloudTrail(member, eu-west-1) has region %s", got)
	}
	if _, err := a.IAM(t.Context(), memberAccount); err != nil {
		t.Fatal(err)
	}
	if _, err := a.IAM(t.Context(), strangerAccount); err != nil {
		t.Fatal(err)
	}

	want := []string{
		"arn:aws:iam::" + memberAccount + ":role/security/" + memberRoleName,
		"arn:aws:iam::" + strangerAccount + ":role/security/" + memberRoleName,
	}
	if got := f.roleARNs(); !slices.Equal(got, want) {
		t.Errorf("assumed %v, want each account's role once (credentials cached): %v", got, want)
	}
	for _, in := range f.calls {
		if got := aws.ToString(in.RoleSessionName); got != SessionName {
			t.Errorf("session name %q, want %q", got, SessionName)
		}
	}
}

func TestAssumeRoleDenied(t *testing.T) {
	denied := &smithy.GenericAPIError{Code: "AccessDenied", Message: "User: arn:aws:sts::123456789012:assumed-role/watchdog/fn is not authorized to perform: sts:AssumeRole"}
	f := &fakeSTS{assumeRole: func(*sts.AssumeRoleInput) (*sts.AssumeRoleOutput, error) { return nil, denied }}
	a := NewAssumeRole(baseConfig(), homeAccount, memberRoleName, f)
	for range 2 {
		c, err := a.IAM(t.Context(), memberAccount)
		if c != nil || !IsAccessDenied(err) {
			t.Fatalf("IAM(member) = %v, %v; want no client and AccessDenied", c, err)
		}
		if !strings.Contains(err.Error(), "account "+memberAccount) || !strings.Contains(err.Error(), ":role/"+memberRoleName) {
			t.Errorf("error %q does not name the account and the role", err)
		}
		if _, err := a.CloudTrail(t.Context(), memberAccount, ""); !IsAccessDenied(err) {
			t.Errorf("CloudTrail(member) = %v, want AccessDenied", err)
		}
	}
	if n := len(f.calls); n != 4 {
		t.Errorf("%d AssumeRole calls, want 4: a refusal is not cached, the next event tries again", n)
	}
}

func TestAssumeRoleRejectsNonAccounts(t *testing.T) {
	f := &fakeSTS{assumeRole: grantAll}
	a := NewAssumeRole(baseConfig(), homeAccount, memberRoleName, f)
	for _, account := range []string{"12345", "12345678901x", "arn:aws:iam::111111111111:root"} {
		if _, err := a.IAM(t.Context(), account); err == nil || !strings.Contains(err.Error(), "12-digit") {
			t.Errorf("IAM(%q) = %v, want an error about the account ID", account, err)
		}
	}
	if len(f.calls) != 0 {
		t.Errorf("AssumeRole was called for %v", f.roleARNs())
	}
}

func TestRoleARNPartition(t *testing.T) {
	for region, want := range map[string]string{
		"us-east-1":      "arn:aws:iam::111111111111:role/r",
		"eu-central-2":   "arn:aws:iam::111111111111:role/r",
		"cn-north-1":     "arn:aws-cn:iam::111111111111:role/r",
		"us-gov-west-1":  "arn:aws-us-gov:iam::111111111111:role/r",
		"us-iso-east-1":  "arn:aws-iso:iam::111111111111:role/r",
		"us-isob-east-1": "arn:aws-iso-b:iam::111111111111:role/r",
	} {
		a := NewAssumeRole(aws.Config{Region: region}, homeAccount, "r", &fakeSTS{})
		if got := a.RoleARN("111111111111"); got != want {
			t.Errorf("RoleARN in %s = %s, want %s", region, got, want)
		}
	}
}

// adminIAM is an IAM client for account in moto, for setting up and reading state there
// independently of the code under test. moto's AssumeRole hands out credentials that belong to
// the account in the role ARN (whether or not the role exists), which is how it emulates several
// accounts behind one endpoint.
func adminIAM(t *testing.T, cfg aws.Config, account string) *iam.Client {
	t.Helper()
	c := cfg.Copy()
	c.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg),
		"arn:aws:iam::"+account+":role/OrganizationAccountAccessRole"))
	return iam.NewFromConfig(c)
}

func userNames(t *testing.T, c *iam.Client) []string {
	t.Helper()
	out, err := c.ListUsers(t.Context(), &iam.ListUsersInput{})
	if err != nil {
		t.Fatal(err)
	}
	names := []string{}
	for _, u := range out.Users {
		names = append(names, aws.ToString(u.UserName))
	}
	slices.Sort(names)
	return names
}

// TestMotoSeparatesAssumedAccounts pins down the moto behaviour the cross-account tests rely
// on: a user created with credentials of a role in another account exists in that account
// only, and STS says who the credentials belong to.
func TestMotoSeparatesAssumedAccounts(t *testing.T) {
	srv := mototest.Start(t)
	cfg := srv.Config(t)
	home := iam.NewFromConfig(cfg)
	member := adminIAM(t, cfg, memberAccount)
	if _, err := member.CreateUser(t.Context(), &iam.CreateUserInput{UserName: aws.String("only-in-member")}); err != nil {
		t.Fatal(err)
	}
	if got := userNames(t, member); !slices.Equal(got, []string{"only-in-member"}) {
		t.Errorf("users in the member account: %v", got)
	}
	if got := userNames(t, home); len(got) != 0 {
		t.Errorf("users in the home account: %v, want none", got)
	}

	a := NewAssumeRole(cfg, homeAccount, memberRoleName, sts.NewFromConfig(cfg))
	c, err := a.IAM(t.Context(), memberAccount)
	if err != nil {
		t.Fatal(err)
	}
	c2 := cfg.Copy()
	c2.Credentials = c.(*iam.Client).Options().Credentials
	id, err := sts.NewFromConfig(c2).GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	wantARN := "arn:aws:sts::" + memberAccount + ":assumed-role/" + memberRoleName + "/" + SessionName
	if aws.ToString(id.Account) != memberAccount || aws.ToString(id.Arn) != wantARN {
		t.Errorf("caller identity %s %s, want %s %s", aws.ToString(id.Account), aws.ToString(id.Arn), memberAccount, wantARN)
	}
}

// TestCrossAccountRemediationMoto deactivates a key in a member account through the member
// role, and leaves the same-named user's key in the home account alone.
func TestCrossAccountRemediationMoto(t *testing.T) {
	srv := mototest.Start(t)
	cfg := srv.Config(t)
	home := &motoEnv{iam: iam.NewFromConfig(cfg)}
	member := &motoEnv{iam: adminIAM(t, cfg, memberAccount)}
	for _, e := range []*motoEnv{home, member} {
		e.createUser(t, "ci-deployer")
	}
	homeKey := home.createKey(t, "ci-deployer")
	memberKey := member.createKey(t, "ci-deployer")

	r := &Remediator{Clients: NewAssumeRole(cfg, homeAccount, memberRoleName, sts.NewFromConfig(cfg)), Now: func() time.Time { return appliedAt }}
	a := detect.Action{Kind: detect.DeactivateAccessKey, UserName: "ci-deployer", AccessKeyID: memberKey, Account: memberAccount}
	if d := r.Describe(a); !strings.Contains(d, "in account "+memberAccount) {
		t.Errorf("Describe = %q, want it to name account %s", d, memberAccount)
	}
	u, err := r.Apply(t.Context(), a)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if u.Account != memberAccount {
		t.Errorf("undo record for account %q, want %s", u.Account, memberAccount)
	}
	if got := member.keyStatus(t, "ci-deployer", memberKey); got != "Inactive" {
		t.Errorf("member key is %s after Apply, want Inactive", got)
	}
	if got := home.keyStatus(t, "ci-deployer", homeKey); got != "Active" {
		t.Errorf("home key is %s after acting in the member account, want Active", got)
	}
	if err := r.Revert(t.Context(), u); err != nil {
		t.Fatalf("Revert: %v", err)
	}
	if got := member.keyStatus(t, "ci-deployer", memberKey); got != "Active" {
		t.Errorf("member key is %s after Revert, want Active", got)
	}

	// The home account is still acted on with the function's own credentials.
	if _, err := r.Apply(t.Context(), detect.Action{Kind: detect.DeactivateAccessKey, UserName: "ci-deployer", AccessKeyID: homeKey, Account: homeAccount}); err != nil {
		t.Fatalf("Apply in the home account: %v", err)
	}
	if got := home.keyStatus(t, "ci-deployer", homeKey); got != "Inactive" {
		t.Errorf("home key is %s after Apply, want Inactive", got)
	}
}

// TestUntrustedMemberRoleMoto: an account whose role is missing or does not trust the
// watchdog fails the action with AccessDenied, changes nothing, and does not stop the next
// account from being served.
func TestUntrustedMemberRoleMoto(t *testing.T) {
	srv := mototest.Start(t)
	cfg := srv.Config(t)
	stranger := &motoEnv{iam: adminIAM(t, cfg, strangerAccount)}
	member := &motoEnv{iam: adminIAM(t, cfg, memberAccount)}
	stranger.createUser(t, "ci-deployer")
	member.createUser(t, "ci-deployer")
	strangerKey := stranger.createKey(t, "ci-deployer")
	memberKey := member.createKey(t, "ci-deployer")

	// moto grants AssumeRole for any ARN; AWS answers a missing or untrusting role with
	// AccessDenied (alike, so as not to reveal which roles exist).
	proxy := faultproxy.Start(t, srv.Endpoint)
	refused := proxy.Inject(faultproxy.AssumeRoleOf("arn:aws:iam::"+strangerAccount+":role/"+memberRoleName), faultproxy.AccessDenied(false))
	viaProxy := mototest.Config(t, proxy.URL)
	r := &Remediator{Clients: NewAssumeRole(viaProxy, homeAccount, memberRoleName, sts.NewFromConfig(viaProxy))}

	_, err := r.Apply(t.Context(), detect.Action{Kind: detect.DeactivateAccessKey, UserName: "ci-deployer", AccessKeyID: strangerKey, Account: strangerAccount})
	if !IsAccessDenied(err) || errors.Is(err, ErrAlreadyReverted) {
		t.Fatalf("Apply in an account without a trusting role = %v, want AccessDenied", err)
	}
	for _, want := range []string{"account " + strangerAccount, "role/" + memberRoleName} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if n := proxy.Hits(refused); n != 1 {
		t.Errorf("proxy refused %d AssumeRole calls, want 1 (AccessDenied is not retried)", n)
	}
	if got := stranger.keyStatus(t, "ci-deployer", strangerKey); got != "Active" {
		t.Errorf("key in the refusing account is %s, want it untouched (Active)", got)
	}

	if _, err := r.Apply(t.Context(), detect.Action{Kind: detect.DeactivateAccessKey, UserName: "ci-deployer", AccessKeyID: memberKey, Account: memberAccount}); err != nil {
		t.Fatalf("Apply in a trusting member account after a refusal elsewhere: %v", err)
	}
	if got := member.keyStatus(t, "ci-deployer", memberKey); got != "Inactive" {
		t.Errorf("member key is %s, want Inactive", got)
	}
}

// TestAssumeRoleConfigForAudit: Config hands the audit the base configuration at home and the
// member role's, entered as iam-watchdog-audit, elsewhere; a refused role is Config's error.
func TestAssumeRoleConfigForAudit(t *testing.T) {
	f := &fakeSTS{assumeRole: grantAll}
	a := NewAssumeRoleAs(baseConfig(), homeAccount, memberRoleName, AuditSessionName, f)
	home, err := a.Config(t.Context(), homeAccount)
	if err != nil || home.Credentials == nil || len(f.calls) != 0 {
		t.Fatalf("Config(home) = %v, %v after %d AssumeRole calls; want the base configuration and no call", home.Credentials, err, len(f.calls))
	}
	cfg, err := a.Config(t.Context(), memberAccount)
	if err != nil {
		t.Fatal(err)
	}
	creds, err := cfg.Credentials.Retrieve(t.Context())
	if err != nil || creds.AccessKeyID != "ASIA"+memberAccount {
		t.Errorf("Config(member) signs with %q (%v), want the assumed role's credentials", creds.AccessKeyID, err)
	}
	if len(f.calls) != 1 || aws.ToString(f.calls[0].RoleSessionName) != AuditSessionName {
		t.Errorf("AssumeRole calls %+v, want one with session %s", f.calls, AuditSessionName)
	}

	denied := &smithy.GenericAPIError{Code: "AccessDenied", Message: "not authorized"}
	refused := NewAssumeRoleAs(baseConfig(), homeAccount, memberRoleName, AuditSessionName,
		&fakeSTS{assumeRole: func(*sts.AssumeRoleInput) (*sts.AssumeRoleOutput, error) { return nil, denied }})
	if _, err := refused.Config(t.Context(), memberAccount); !IsAccessDenied(err) || !strings.Contains(err.Error(), memberAccount) {
		t.Errorf("Config(member) with the role refused: %v, want AccessDenied naming the account", err)
	}
}

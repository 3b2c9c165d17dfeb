package audit

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/iam-watchdog/iam-watchdog/internal/mototest"
)

// expect is one result a case asserts: the check's status on the resource whose ARN ends with
// suffix.
type expect struct {
	check, suffix string
	status        Status
}

// TestUserChecksMoto audits moto accounts holding real users (with and without console
// passwords and MFA; keys two active, old, unused, used; direct and inline policies; groups; no
// password policy and weak and strong ones) and checks each check passes and fails where it
// should. moto dates everything now, so "old" is the audit's clock moved on (later).
func TestUserChecksMoto(t *testing.T) {
	srv := startMoto(t)
	const day = 24 * time.Hour
	for _, tc := range []struct {
		name   string
		later  time.Duration // the audit's clock, ahead of the set-up
		groups []string      // Options.Groups
		setup  func(s iamSetup)
		want   []expect
	}{
		{
			name: "console users and MFA",
			setup: func(s iamSetup) {
				s.user("alice")
				s.password("alice")
				s.mfa("alice")
				s.user("bob")
				s.password("bob")
				s.user("carol")
			},
			want: []expect{{"user-mfa", ":user/alice", Pass}, {"user-mfa", ":user/bob", Fail}, {"user-mfa", ":user/carol", NotApplicable}},
		},
		{
			name: "access keys made at set-up and never used",
			setup: func(s iamSetup) {
				s.user("dave")
				s.password("dave")
				s.key("dave")
				s.user("erin")
				s.password("erin")
				s.usedKey("erin")
				s.user("frank")
				s.key("frank")
			},
			want: []expect{{"key-at-setup", ":user/dave", Fail}, {"key-at-setup", ":user/erin", Pass}, {"key-at-setup", ":user/frank", NotApplicable}},
		},
		{
			name:  "credentials unused for 45 days",
			later: 100 * day,
			setup: func(s iamSetup) {
				s.user("gina")
				s.password("gina")
				s.user("hank")
				s.key("hank")
				s.user("ivan")
				s.user("jill")
				s.usedKey("jill")
			},
			want: []expect{{"unused-credentials", ":user/gina", Fail}, {"unused-credentials", ":user/hank", Fail}, {"unused-credentials", ":user/ivan", NotApplicable}, {"unused-credentials", ":user/jill", Fail}},
		},
		{
			name:  "credentials too new to be unused",
			later: 10 * day,
			setup: func(s iamSetup) {
				s.user("gina")
				s.password("gina")
				s.user("hank")
				s.key("hank")
				s.user("jill")
				s.usedKey("jill")
			},
			want: []expect{{"unused-credentials", ":user/gina", Pass}, {"unused-credentials", ":user/hank", Pass}, {"unused-credentials", ":user/jill", Pass}},
		},
		{
			name: "two active keys",
			setup: func(s iamSetup) {
				s.user("kate")
				s.key("kate")
				s.key("kate")
				s.user("liam")
				s.key("liam")
				s.deactivate("liam", s.keyID("liam"))
				s.user("mona")
			},
			want: []expect{{"one-active-key", ":user/kate", Fail}, {"one-active-key", ":user/liam", Pass}, {"one-active-key", ":user/mona", Pass}},
		},
		{
			name:  "keys older than 90 days",
			later: 91 * day,
			setup: func(s iamSetup) {
				s.user("nick")
				s.key("nick")
				s.user("olga")
				s.deactivate("olga", s.keyID("olga"))
			},
			want: []expect{{"key-rotation", ":user/nick", Fail}, {"key-rotation", ":user/olga", NotApplicable}},
		},
		{
			name:  "keys younger than 90 days",
			later: 89 * day,
			setup: func(s iamSetup) {
				s.user("nick")
				s.key("nick")
			},
			want: []expect{{"key-rotation", ":user/nick", Pass}},
		},
		{
			name: "permissions only through groups",
			setup: func(s iamSetup) {
				readS3 := s.policy("read-s3", readOnlyDoc)
				s.group("Readers", readS3)
				s.user("pat")
				s.attachUser("pat", readS3)
				s.user("quinn")
				s.inline("quinn", "extra", readOnlyDoc)
				s.user("rae", "Readers")
			},
			want: []expect{{"user-policies", ":user/pat", Fail}, {"user-policies", ":user/quinn", Fail}, {"user-policies", ":user/rae", Pass}},
		},
		{
			name: "baseline groups of the seed",
			setup: func(s iamSetup) {
				s.group("Administrators")
				s.group("Developers")
				s.group("Misc")
				s.user("sam", "Developers")
				s.password("sam")
				s.user("tess", "Misc")
				s.password("tess")
				s.user("uma")
			},
			want: []expect{{"baseline-groups", ":user/sam", Pass}, {"baseline-groups", ":user/tess", Fail}, {"baseline-groups", ":user/uma", NotApplicable}},
		},
		{
			name: "no baseline group exists",
			setup: func(s iamSetup) {
				s.user("sam")
				s.password("sam")
			},
			want: []expect{{"baseline-groups", ":root", NotApplicable}},
		},
		{
			name:   "configured baseline groups, one missing",
			groups: []string{"Engineers", "Auditors"},
			setup: func(s iamSetup) {
				s.group("Engineers")
				s.group("Developers")
				s.user("vic", "Engineers")
				s.password("vic")
				s.user("wes", "Developers")
				s.password("wes")
			},
			want: []expect{{"baseline-groups", ":root", Fail}, {"baseline-groups", ":user/vic", Pass}, {"baseline-groups", ":user/wes", Fail}},
		},
		{
			name:  "no password policy",
			setup: func(iamSetup) {},
			want:  []expect{{"password-length", ":root", Fail}, {"password-reuse", ":root", Fail}},
		},
		{
			name:  "weak password policy",
			setup: func(s iamSetup) { s.passwordPolicy(8, 5) },
			want:  []expect{{"password-length", ":root", Fail}, {"password-reuse", ":root", Fail}},
		},
		{
			name:  "CIS password policy",
			setup: func(s iamSetup) { s.passwordPolicy(14, 24) },
			want:  []expect{{"password-length", ":root", Pass}, {"password-reuse", ":root", Pass}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv.Reset(t)
			cfg := srv.Config(t)
			tc.setup(iamSetup{t, iam.NewFromConfig(cfg), srv.Endpoint})
			opts := fastOptions(time.Now().Add(tc.later))
			opts.Groups = tc.groups
			report := mustAuditor(t, opts).Account(t.Context(), NewClients(cfg))
			for _, w := range tc.want {
				if r := find(t, report.Results, w.check, w.suffix); r.Status != w.status {
					t.Errorf("%s on *%s: %s (%s), want %s", w.check, w.suffix, r.Status, r.Detail, w.status)
				}
			}
		})
	}
}

// TestPolicyChecksManagedMoto covers the checks that need AWS managed policies
// (AdministratorAccess, AWSSupportAccess): first with them attached, then with them gone. moto
// then lists every AWS managed policy, about 1,300 with their documents (5 MB), in each
// GetAccountAuthorizationDetails answer, which takes it seconds: the test audits few times.
func TestPolicyChecksManagedMoto(t *testing.T) {
	srv := mototest.StartManaged(t)
	cfg := srv.Config(t)
	s := iamSetup{t, iam.NewFromConfig(cfg), srv.Endpoint}
	const admin = "arn:aws:iam::aws:policy/AdministratorAccess"
	const support = "arn:aws:iam::aws:policy/AWSSupportAccess"
	everything := s.policy("everything", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*:*","Resource":["*"]}}`)
	unattached := s.policy("unattached-everything", adminDoc)
	narrow := s.policy("narrow", readOnlyDoc)
	s.group("Administrators", admin)
	s.role("ops", everything, narrow)
	s.role("aws-support", support)
	s.user("mallory")
	s.inline("mallory", "all", adminDoc)
	s.inline("mallory", "some", readOnlyDoc)

	au := mustAuditor(t, fastOptions(time.Now()))
	report := au.Account(t.Context(), NewClients(cfg))
	for _, w := range []expect{
		{"full-admin-policy", ":policy/AdministratorAccess", Fail},
		{"full-admin-policy", ":policy/everything", Fail},
		{"full-admin-policy", ":user/mallory", Fail},
		{"support-role", ":root", Pass},
	} {
		if r := find(t, report.Results, w.check, w.suffix); r.Status != w.status {
			t.Errorf("%s on *%s: %s (%s), want %s", w.check, w.suffix, r.Status, r.Detail, w.status)
		}
	}
	for _, r := range ofCheck(report.Results, "full-admin-policy") {
		if r.Resource == unattached || r.Resource == narrow {
			t.Errorf("full-admin-policy reported %s, which is unattached or narrow: %+v", r.Resource, r)
		}
	}
	if got := len(ofCheck(report.Results, "full-admin-policy")); got != 3 {
		t.Errorf("%d full-admin-policy results, want 3: %v", got, ofCheck(report.Results, "full-admin-policy"))
	}

	ctx := t.Context()
	for _, err := range []error{
		ignore(s.iam.DetachGroupPolicy(ctx, &iam.DetachGroupPolicyInput{GroupName: aws.String("Administrators"), PolicyArn: aws.String(admin)})),
		ignore(s.iam.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String("ops"), PolicyArn: aws.String(everything)})),
		ignore(s.iam.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String("aws-support"), PolicyArn: aws.String(support)})),
		ignore(s.iam.DeleteUserPolicy(ctx, &iam.DeleteUserPolicyInput{UserName: aws.String("mallory"), PolicyName: aws.String("all")})),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	report = au.Account(t.Context(), NewClients(cfg))
	if r := find(t, report.Results, "full-admin-policy", ":root"); r.Status != Pass || len(ofCheck(report.Results, "full-admin-policy")) != 1 {
		t.Errorf("after detaching: %v", ofCheck(report.Results, "full-admin-policy"))
	}
	if r := find(t, report.Results, "support-role", ":root"); r.Status != Fail {
		t.Errorf("support-role without AWSSupportAccess anywhere: %s (%s)", r.Status, r.Detail)
	}
}

func ignore[T any](_ T, err error) error { return err }

// usedKey creates an access key for user and signs a request to moto with it, which moto records
// as the key's last use.
func (s iamSetup) usedKey(user string) string {
	t := s.t
	t.Helper()
	id, secret := s.key(user)
	endpoint := s.endpoint
	cfg, err := config.LoadDefaultConfig(t.Context(),
		config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(id, secret, "")),
		config.WithBaseEndpoint(endpoint),
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) { o.RateLimiter = ratelimit.None })
		}),
	)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sts.NewFromConfig(cfg).GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatalf("use key %s: %v", id, err)
	}
	return id
}

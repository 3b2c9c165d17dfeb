package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
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
	"github.com/iam-watchdog/iam-watchdog/pkg/audit"
	"github.com/iam-watchdog/iam-watchdog/pkg/auditstore"
	"github.com/iam-watchdog/iam-watchdog/pkg/state"
)

// auditKeys are the fields of every `watchdog audit --output jsonl` line (issue 15's contract).
var auditKeys = []string{"check", "cis", "status", "severity", "account", "resource", "title", "why", "fix"}

// auditRows reads --output jsonl: one object per line, each with the contract's fields.
func auditRows(t *testing.T, stdout string) []audit.Result {
	t.Helper()
	var out []audit.Result
	sc := bufio.NewScanner(strings.NewReader(stdout))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var fields map[string]any
		if err := json.Unmarshal(sc.Bytes(), &fields); err != nil {
			t.Fatalf("line %q is not JSON: %v", sc.Text(), err)
		}
		for _, k := range auditKeys {
			if _, ok := fields[k]; !ok {
				t.Errorf("line %s lacks %q", sc.Text(), k)
			}
		}
		var r audit.Result
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		out = append(out, r)
	}
	if len(out) == 0 {
		t.Fatal("no results")
	}
	return out
}

// resultOf is the one result of check on resource.
func resultOf(t *testing.T, rs []audit.Result, check, resource string) audit.Result {
	t.Helper()
	for _, r := range rs {
		if r.Check == check && r.Resource == resource {
			return r
		}
	}
	t.Fatalf("no %s result on %s", check, resource)
	return audit.Result{}
}

func accountsIn(rs []audit.Result) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Account)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// TestAuditMoto runs `watchdog audit` against moto_server: users with and without MFA, a policy
// on a user, a second account of the organisation entered through member_role_name (--account,
// repeated or a comma list, and --org), JSON Lines with the contract's fields, the text report,
// exit 1 with each check that could not run on standard error (moto's credential report has no
// root row), and the snapshots --state keeps.
func TestAuditMoto(t *testing.T) {
	m := startMoto(t)
	ctx := t.Context()
	cfg := mototest.Config(t, os.Getenv("AWS_ENDPOINT_URL"))
	for _, u := range []string{"alice", "bob"} {
		m.fx().CreateUser(t, u)
		if _, err := m.iam.CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{UserName: aws.String(u), Password: aws.String("Correct-Horse-Battery-1")}); err != nil {
			t.Fatal(err)
		}
	}
	dev, err := m.iam.CreateVirtualMFADevice(ctx, &iam.CreateVirtualMFADeviceInput{VirtualMFADeviceName: aws.String("alice-mfa")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.iam.EnableMFADevice(ctx, &iam.EnableMFADeviceInput{UserName: aws.String("alice"), SerialNumber: dev.VirtualMFADevice.SerialNumber,
		AuthenticationCode1: aws.String("123456"), AuthenticationCode2: aws.String("654321")}); err != nil {
		t.Fatal(err)
	}
	bobs := m.createPolicy(t, "bobs")
	m.attach(t, "bob", bobs)

	org := organizations.NewFromConfig(cfg)
	if _, err := org.CreateOrganization(ctx, &organizations.CreateOrganizationInput{FeatureSet: orgtypes.OrganizationFeatureSetAll}); err != nil {
		t.Fatal(err)
	}
	acct, err := org.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String("dev"), Email: aws.String("dev@example.com")})
	if err != nil {
		t.Fatal(err)
	}
	member := aws.ToString(acct.CreateAccountStatus.AccountId)
	// moto's AssumeRole hands out credentials of the account in the role ARN.
	memberCfg := cfg.Copy()
	memberCfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg), "arn:aws:iam::"+member+":role/iam-watchdog-member"))
	memberIAM := iam.NewFromConfig(memberCfg)
	if _, err := memberIAM.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("dave")}); err != nil {
		t.Fatal(err)
	}
	if _, err := memberIAM.CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{UserName: aws.String("dave"), Password: aws.String("Correct-Horse-Battery-1")}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	conf := writeFile(t, dir, "watchdog.yaml", []byte("member_role_name: iam-watchdog-member\naudit:\n  concurrency: 2\n"))
	home := mototest.AccountID
	arn := func(account, res string) string { return "arn:aws:iam::" + account + ":" + res }

	r := runCLI(t, "", "audit", "--config", conf, "--output", "jsonl")
	if code := exitOf(r.err); code != audit.ExitErrored {
		t.Fatalf("exit %d (%v), want 1: moto's report has no root row; stderr:\n%s", code, r.err, r.stderr)
	}
	rows := auditRows(t, r.stdout)
	if got := accountsIn(rows); !slices.Equal(got, []string{home}) {
		t.Errorf("accounts %v, want the credentials' own", got)
	}
	for _, tc := range []struct {
		check, resource string
		status          audit.Status
	}{
		{"user-mfa", arn(home, "user/bob"), audit.Fail},
		{"user-mfa", arn(home, "user/alice"), audit.Pass},
		{"user-policies", arn(home, "user/bob"), audit.Fail},
		{"user-policies", arn(home, "user/alice"), audit.Pass},
		{"root-mfa", arn(home, "root"), audit.Error},
	} {
		if got := resultOf(t, rows, tc.check, tc.resource); got.Status != tc.status || got.Account != home || got.Why == "" || got.Title == "" {
			t.Errorf("%s on %s: %+v, want %s", tc.check, tc.resource, got, tc.status)
		}
	}
	if got := resultOf(t, rows, "user-mfa", arn(home, "user/bob")); got.CIS != "1.10" || got.Severity.String() != "high" || !strings.Contains(got.Fix, "MFA") {
		t.Errorf("user-mfa's CIS, severity and fix: %+v", got)
	}
	if !strings.Contains(r.stderr, "watchdog: check root-mfa could not run on "+arn(home, "root")) {
		t.Errorf("stderr does not name the checks that could not run:\n%s", r.stderr)
	}

	for _, args := range [][]string{
		{"--account", member},
		{"--account", home + "," + member},
		{"--account", home, "--account", member},
		{"--org"},
	} {
		r := runCLI(t, "", append([]string{"audit", "--config", conf, "--output", "jsonl"}, args...)...)
		if r.err != nil && !errors.As(r.err, new(exitCode)) {
			t.Fatalf("%v: %v\n%s", args, r.err, r.stderr)
		}
		rows := auditRows(t, r.stdout)
		want := []string{home, member}
		if len(args) == 2 && args[1] == member {
			want = []string{member}
		}
		slices.Sort(want)
		if got := accountsIn(rows); !slices.Equal(got, want) {
			t.Errorf("%v: accounts %v, want %v", args, got, want)
		}
		if got := resultOf(t, rows, "user-mfa", arn(member, "user/dave")); got.Status != audit.Fail || got.Account != member {
			t.Errorf("%v: dave in the member account: %+v", args, got)
		}
		if got := resultOf(t, rows, "account-access", arn(member, "root")); got.Status != audit.Pass || !strings.Contains(got.Detail, "assumed-role/iam-watchdog-member/iam-watchdog-audit") {
			t.Errorf("%v: the member account was not entered as the audit's session: %+v", args, got)
		}
	}

	text := runCLI(t, "", "audit", "--config", conf)
	for _, want := range []string{"Audit of account " + home, "FAIL high  user-mfa  CIS 1.10", "user/bob: ", "ERROR critical  root-mfa  CIS 1.5", "Passed: "} {
		if !strings.Contains(text.stdout, want) {
			t.Errorf("text report lacks %q:\n%s", want, text.stdout)
		}
	}

	statePath := filepath.Join(dir, "state.json")
	if r := runCLI(t, "", "audit", "--config", conf, "--state", statePath, "--output", "jsonl"); exitOf(r.err) != audit.ExitErrored {
		t.Fatalf("audit --state: %v\n%s", r.err, r.stderr)
	}
	st, err := state.OpenFile(statePath)
	if err != nil {
		t.Fatal(err)
	}
	snaps, err := (&auditstore.Store{State: st}).Snapshots(ctx, home)
	if err != nil || len(snaps) != 1 {
		t.Fatalf("snapshots kept in %s: %v, %v", statePath, snaps, err)
	}
	if got := snaps[0].Users["bob"].Attached; !slices.Equal(got, []string{bobs}) {
		t.Errorf("bob's snapshot holds %v, want %s", got, bobs)
	}
}

// credentialReport is moto's credential report replaced with one in AWS's documented format,
// with a <root_account> row (pkg/audit's fixture), which moto cannot make.
func credentialReport(t *testing.T) faultproxy.Fault {
	t.Helper()
	csv := readFile(t, "../../pkg/audit/testdata/credreport/root-mfa-old-use.csv")
	return faultproxy.QueryResult("GetCredentialReport", "<Content>"+base64.StdEncoding.EncodeToString(csv)+"</Content>"+
		"<ReportFormat>text/csv</ReportFormat><GeneratedTime>2025-06-01T11:58:00Z</GeneratedTime>")
}

// auditProxy points the CLI at a proxy before moto that answers what moto cannot: a credential
// report with a root row, and ListOrganizationsFeatures as IAM answers an account outside an
// organisation. Every check then runs.
func auditProxy(t *testing.T) {
	t.Helper()
	startMoto(t)
	proxy := faultproxy.Start(t, os.Getenv("AWS_ENDPOINT_URL"))
	proxy.Inject(faultproxy.Op("GetCredentialReport"), credentialReport(t))
	proxy.Inject(faultproxy.Op("ListOrganizationsFeatures"), faultproxy.QueryError(http.StatusBadRequest, "OrganizationNotFoundException", "The account is not part of an organization."))
	t.Setenv("AWS_ENDPOINT_URL", proxy.URL)
}

// TestAuditExitCodes: 0 when every check ran, 3 with --fail-on at or under a failure's
// severity, 2 on usage; through Run, and through the built binary for what main makes of them.
func TestAuditExitCodes(t *testing.T) {
	// Built before startMoto points HOME (and with it Go's caches) at an empty directory.
	bin := buildWatchdog(t)
	auditProxy(t)
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"audit"}, audit.ExitOK},
		{[]string{"audit", "--fail-on", "critical"}, audit.ExitOK},
		{[]string{"audit", "--fail-on", "high", "--output", "jsonl"}, audit.ExitFailedOn},
		{[]string{"audit", "--fail-on", "low"}, audit.ExitFailedOn},
		{[]string{"audit", "--org", "--account", "111111111111"}, audit.ExitUsage},
		{[]string{"audit", "--fail-on", "severe"}, audit.ExitUsage},
		{[]string{"audit", "--output", "xml"}, audit.ExitUsage},
		{[]string{"audit", "--list", "--output", "xml"}, audit.ExitUsage},
		{[]string{"audit", "now"}, audit.ExitUsage},
	} {
		r := runCLI(t, "", tc.args...)
		if got := exitOf(r.err); got != tc.code {
			t.Errorf("%v: exit %d (%v), want %d; stderr:\n%s", tc.args, got, r.err, tc.code, r.stderr)
		}
		if tc.code == audit.ExitOK && r.stderr != "" {
			t.Errorf("%v: stderr %q, want nothing when every check ran", tc.args, r.stderr)
		}
	}

	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"audit", "--list"}, 0},
		{[]string{"audit"}, 0},
		{[]string{"audit", "--fail-on", "high"}, 3},
		{[]string{"audit", "--org", "--account", "111111111111"}, 2},
	} {
		cmd := exec.CommandContext(t.Context(), bin, tc.args...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		code := exitCodeOf(t, cmd.Run())
		if code != tc.code {
			t.Errorf("watchdog %v: exit %d, want %d; stderr:\n%s", tc.args, code, tc.code, stderr.String())
		}
	}
}

// exitOf is the exit code main makes of Run's error.
func exitOf(err error) int {
	var ec exitCode
	switch {
	case err == nil:
		return 0
	case isUsage(err):
		return 2
	case errors.As(err, &ec):
		return int(ec)
	}
	return 1
}

// TestAuditList: every check with its CIS ID, as a table and as JSON (an array, or a line each).
func TestAuditList(t *testing.T) {
	text := mustRun(t, "audit", "--list").stdout
	for _, c := range audit.List() {
		line := ""
		for _, l := range strings.Split(text, "\n") {
			if f := strings.Fields(l); len(f) > 0 && f[0] == c.ID {
				line = l
			}
		}
		if line == "" || (c.CIS != "" && !strings.Contains(line, " "+c.CIS+" ")) || !strings.Contains(line, c.Title) {
			t.Errorf("check %s (CIS %q) is listed as %q", c.ID, c.CIS, line)
		}
	}
	var list []audit.CheckJSON
	if err := json.Unmarshal([]byte(mustRun(t, "audit", "--list", "--output", "json").stdout), &list); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(mustRun(t, "audit", "--list", "--output", "jsonl").stdout), "\n")
	if len(list) != len(audit.List()) || len(lines) != len(list) {
		t.Fatalf("%d checks in JSON, %d lines of JSON Lines, want %d", len(list), len(lines), len(audit.List()))
	}
	for i, c := range audit.List() {
		var line audit.CheckJSON
		if err := json.Unmarshal([]byte(lines[i]), &line); err != nil || line != list[i] {
			t.Errorf("line %d: %s (%v), want %+v", i, lines[i], err, list[i])
		}
		if list[i].ID != c.ID || list[i].CIS != c.CIS || list[i].Severity != c.Severity.String() || list[i].Title != c.Title || list[i].Fix == "" || list[i].Why == "" {
			t.Errorf("check %d: %+v, want %s", i, list[i], c.ID)
		}
	}
}

// TestAuditThenReplayRestores: the snapshot `watchdog audit --state` keeps is what `watchdog
// replay --mode auto` with the same state reverts to, with a person's credentials: an inline
// policy that overwrote another is put back to the snapshot's document, and `watchdog undo` puts
// the overwriting one back.
func TestAuditThenReplayRestores(t *testing.T) {
	m := startMoto(t)
	const before = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`
	const after = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*","iam:PassRole"],"Resource":"*"}]}`
	m.fx().CreateUser(t, "erin")
	m.putInline(t, "erin", "extra", before)
	dir := t.TempDir()
	statePath := filepath.Join(dir, "state.json")
	if r := runCLI(t, "", "audit", "--state", statePath, "--output", "jsonl"); exitOf(r.err) != audit.ExitErrored {
		t.Fatalf("audit --state: %v\n%s", r.err, r.stderr)
	}

	m.putInline(t, "erin", "extra", after)
	const eventID = "5e1a7c0d-0000-4000-8000-00000000e71e"
	rec, err := json.Marshal(map[string]any{
		"eventVersion": "1.10", "eventSource": "iam.amazonaws.com", "eventName": "PutUserPolicy", "awsRegion": "us-east-1",
		"eventTime":         time.Now().Add(time.Minute).UTC().Format(time.RFC3339),
		"userIdentity":      map[string]any{"type": "IAMUser", "arn": "arn:aws:iam::" + mototest.AccountID + ":user/alice", "accountId": mototest.AccountID, "userName": "alice"},
		"requestParameters": map[string]any{"userName": "erin", "policyName": "extra", "policyDocument": after},
		"eventID":           eventID, "eventType": "AwsApiCall", "recipientAccountId": mototest.AccountID, "sourceIPAddress": "198.51.100.40", "userAgent": "aws-cli/2.15.30",
	})
	if err != nil {
		t.Fatal(err)
	}
	event := writeFile(t, dir, "event.json", rec)
	r := mustRun(t, "replay", "--mode", "auto", "--state", statePath, "--output", "jsonl", event)
	rows := parseRows(t, r.stdout)
	if len(rows) != 1 || rows[0].Remediation == nil || rows[0].Remediation.Status != "done" || !strings.Contains(rows[0].Remediation.Reason, "back to the document the audit snapshot of") {
		t.Fatalf("replay: %+v", rows)
	}
	if got := m.inline(t, "erin", "extra"); got != before {
		t.Errorf("erin's policy is %s after replay, want the snapshot's %s", got, before)
	}
	mustRun(t, "undo", "--state", statePath, eventID)
	if got := m.inline(t, "erin", "extra"); got != after {
		t.Errorf("erin's policy is %s after undo, want the overwriting %s back", got, after)
	}
}

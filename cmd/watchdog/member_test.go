package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/iam-watchdog/iam-watchdog/internal/faultproxy"
	"github.com/iam-watchdog/iam-watchdog/internal/mototest"
)

// TestMemberAccountMoto: with member_role_name in the config, `watchdog replay --mode auto` and
// `watchdog undo` act in another account through the member role there, as the Lambda does with
// MEMBER_ROLE_NAME (issue 17, point 9). moto serves several accounts behind one endpoint:
// AssumeRole into a role ARN of account X hands out credentials that act in X. A proxy in front
// of moto counts the CLI's AssumeRole of the member role. Without member_role_name, the event
// from the other account fails, and nothing is done with the home account's credentials.
func TestMemberAccountMoto(t *testing.T) {
	startMoto(t)
	const member, roleName = "111111111111", "iam-watchdog-member"
	roleARN := "arn:aws:iam::" + member + ":role/" + roleName
	direct := mototest.Config(t, os.Getenv("AWS_ENDPOINT_URL"))
	proxy := faultproxy.Start(t, os.Getenv("AWS_ENDPOINT_URL"))
	t.Setenv("AWS_ENDPOINT_URL", proxy.URL)
	assumed := proxy.Inject(faultproxy.AssumeRoleOf(roleARN), faultproxy.Latency(0)) // counts, forwards

	// The member account, set up as an administrator there would: the member role
	// (infra/member-role.yaml trusts the watchdog's account) and a user with a leaked key.
	admin := direct.Copy()
	admin.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(direct),
		"arn:aws:iam::"+member+":role/OrganizationAccountAccessRole"))
	fx := mototest.NewFixture(admin)
	if _, err := fx.IAM.CreateRole(t.Context(), &iam.CreateRoleInput{RoleName: aws.String(roleName),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + mototest.AccountID + `:root"},"Action":"sts:AssumeRole"}]}`)}); err != nil {
		t.Fatal(err)
	}
	const user = "ci-deployer"
	fx.CreateUser(t, user)
	key := fx.CreateKey(t, user)
	status := func() string { return fx.Keys(t, user)[key] }

	dir := t.TempDir()
	ev := readEvent(t, "access_key_created/alert-other-user.json")
	ev["account"] = member
	rec := detail(t, ev)
	rec["recipientAccountId"] = member
	rec["userIdentity"] = map[string]any{"type": "IAMUser", "principalId": "AIDA5BOBMEMBEREXAMPL", "arn": "arn:aws:iam::" + member + ":user/bob",
		"accountId": member, "accessKeyId": "AKIA5BOBMEMBEREXAMPL", "userName": "bob"}
	rec["requestParameters"] = map[string]any{"userName": user}
	rec["responseElements"] = map[string]any{"accessKey": map[string]any{"userName": user, "accessKeyId": key, "status": "Active"}}
	rec["eventID"] = "member-account-key"
	event := writeFile(t, dir, "event.json", compact(t, ev))

	// Without a member role: the home account's credentials are for the home account only.
	rw := oneRow(t, runCLI(t, "", "replay", "--mode", "auto", "--state", filepath.Join(dir, "none.json"), "--output", "jsonl", event).stdout)
	if rw.Remediation == nil || rw.Remediation.Status != "failed" || !strings.Contains(rw.Remediation.Reason, "needs the member role") || status() != "Active" {
		t.Fatalf("without member_role_name: %+v, key %s; want failed, naming the member role, the key untouched", rw.Remediation, status())
	}

	cfg := writeConfig(t, dir, "member_role_name: "+roleName+"\n")
	stateFile := filepath.Join(dir, "state.json")
	rw = oneRow(t, mustRun(t, "replay", "--config", cfg, "--mode", "auto", "--state", stateFile, "--output", "jsonl", event).stdout)
	if rw.Remediation == nil || rw.Remediation.Status != "done" || !strings.Contains(rw.Remediation.Reason, "in account "+member) || rw.Remediation.Undo != "watchdog undo member-account-key" {
		t.Fatalf("remediation %+v: want done in account %s with the undo command", rw.Remediation, member)
	}
	if status() != "Inactive" || proxy.Hits(assumed) == 0 {
		t.Fatalf("key %s, %d AssumeRole calls of %s: want it deactivated through the member role", status(), proxy.Hits(assumed), roleARN)
	}

	before := proxy.Hits(assumed)
	if r := mustRun(t, "undo", "--config", cfg, "--state", stateFile, "member-account-key"); !strings.Contains(r.stdout, "undone deactivate_access_key") {
		t.Fatalf("undo said %q", r.stdout)
	}
	if status() != "Active" || proxy.Hits(assumed) == before {
		t.Fatalf("after undo: key %s, AssumeRole calls %d (before %d); want it re-activated through the member role", status(), proxy.Hits(assumed), before)
	}
}

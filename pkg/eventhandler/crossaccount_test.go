package eventhandler_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/iam-watchdog/iam-watchdog/internal/faultproxy"
	"github.com/iam-watchdog/iam-watchdog/internal/mototest"
	"github.com/iam-watchdog/iam-watchdog/pkg/alert"
	"github.com/iam-watchdog/iam-watchdog/pkg/eventhandler"
	"github.com/iam-watchdog/iam-watchdog/pkg/lambdaenv"
	"github.com/iam-watchdog/iam-watchdog/pkg/notify"
	"github.com/iam-watchdog/iam-watchdog/pkg/policy"
	"github.com/iam-watchdog/iam-watchdog/pkg/remediate"
)

// These tests run the Lambda handler, built by New from the environment the template gives
// it, against moto with events from other accounts of an organisation. moto
// emulates several accounts behind one endpoint: AssumeRole into a role ARN of account X hands
// out credentials that act in X. It grants AssumeRole for any ARN, trusted or not, so a role
// that is missing or does not trust the watchdog is played by a proxy answering AssumeRole
// with AccessDenied, as AWS does for both.

const (
	homeAccount       = mototest.AccountID
	memberAccount     = "111111111111"
	untrustingAccount = "222222222222"
	memberRoleName    = "iam-watchdog-member"
	watchdogRoleARN   = "arn:aws:iam::" + homeAccount + ":role/iam-watchdog-WatchdogRole-1A2B3C4D5E6F"
)

// recordingSink keeps every alert and renders it as the console would.
type recordingSink struct {
	mu     sync.Mutex
	alerts []alert.Alert
	text   bytes.Buffer
}

func (s *recordingSink) Notify(ctx context.Context, a alert.Alert) (alert.Delivery, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.alerts = append(s.alerts, a)
	return notify.NewConsole(&s.text).Notify(ctx, a)
}

// orgDeployment is the home account's stack in moto (the state table) and a handler built
// from the environment template.yaml sets with MemberRoleName.
type orgDeployment struct {
	cfg  aws.Config // straight to moto, home account credentials
	sink *recordingSink
	h    *eventhandler.Handler
}

func deployOrg(t *testing.T, srv *mototest.Server, endpoint string) orgDeployment {
	t.Helper()
	cfg := srv.Config(t)
	const table = "iam-watchdog-state"
	mototest.CreateStateTable(t, dynamodb.NewFromConfig(cfg), table)
	stateKey := mototest.CreateStateKey(t, kms.NewFromConfig(cfg))
	fnCfg := mototest.Config(t, endpoint)
	fnCfg.AppID = policy.AppID
	env := lambdaenv.From(func(name string) string {
		return map[string]string{
			"REMEDIATION_MODE":  "auto",
			"STATE_TABLE":       table,
			"STATE_KEY_ARN":     stateKey,
			"WATCHDOG_ROLE_ARN": watchdogRoleARN,
			"MEMBER_ROLE_NAME":  memberRoleName,
		}[name]
	})
	h, err := eventhandler.New(env, fnCfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	sink := &recordingSink{}
	h.Sink = func(context.Context) (notify.Sink, error) { return sink, nil }
	return orgDeployment{cfg: cfg, sink: sink, h: h}
}

// memberIAM is an IAM client acting in account, for setting up and reading state there
// independently of the handler.
func memberIAM(cfg aws.Config, account string) *iam.Client {
	c := cfg.Copy()
	c.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg),
		"arn:aws:iam::"+account+":role/OrganizationAccountAccessRole"))
	return iam.NewFromConfig(c)
}

// leakedKey creates user ci-deployer with an active access key in account.
func leakedKey(t *testing.T, c *iam.Client) string {
	t.Helper()
	if _, err := c.CreateUser(t.Context(), &iam.CreateUserInput{UserName: aws.String("ci-deployer")}); err != nil {
		t.Fatal(err)
	}
	out, err := c.CreateAccessKey(t.Context(), &iam.CreateAccessKeyInput{UserName: aws.String("ci-deployer")})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.AccessKey.AccessKeyId)
}

func accessKeyStatus(t *testing.T, c *iam.Client, key string) string {
	t.Helper()
	out, err := c.ListAccessKeys(t.Context(), &iam.ListAccessKeysInput{UserName: aws.String("ci-deployer")})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range out.AccessKeyMetadata {
		if aws.ToString(k.AccessKeyId) == key {
			return string(k.Status)
		}
	}
	return "<no such key>"
}

// createAccessKeyEvent is the EventBridge event of bob creating key for ci-deployer in
// account, as the forwarder in that account delivers it to the home bus: the envelope's
// account and the record's recipientAccountId are the member's.
func createAccessKeyEvent(account, key string) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{
  "version": "0", "id": "e-%[1]s", "detail-type": "AWS API Call via CloudTrail", "source": "aws.iam",
  "account": %[1]q, "time": "2025-03-14T15:09:26Z", "region": "us-east-1", "resources": [],
  "detail": {
    "eventVersion": "1.10",
    "userIdentity": {"type": "IAMUser", "principalId": "AIDABOB", "arn": "arn:aws:iam::%[1]s:user/bob",
      "accountId": %[1]q, "accessKeyId": "ASIABOB", "userName": "bob"},
    "eventTime": "2025-03-14T15:09:26Z", "eventSource": "iam.amazonaws.com", "eventName": "CreateAccessKey",
    "awsRegion": "us-east-1", "sourceIPAddress": "198.51.100.12", "userAgent": "aws-cli/2.15.0",
    "requestParameters": {"userName": "ci-deployer"},
    "responseElements": {"accessKey": {"userName": "ci-deployer", "accessKeyId": %[2]q, "status": "Active"}},
    "requestID": "r-%[1]s", "eventID": "ev-%[1]s-%[2]s", "readOnly": false, "eventType": "AwsApiCall",
    "managementEvent": true, "recipientAccountId": %[1]q, "eventCategory": "Management"
  }
}`, account, key))
}

// TestHandlerRemediatesMemberAccount: an event whose recipientAccountId is a member account
// makes the handler assume the member role there and deactivate the key in that account, and
// the alert says which account it acted in.
func TestHandlerRemediatesMemberAccount(t *testing.T) {
	srv := mototest.Start(t)
	d := deployOrg(t, srv, srv.Endpoint)
	member := memberIAM(d.cfg, memberAccount)
	home := iam.NewFromConfig(d.cfg)
	memberKey := leakedKey(t, member)
	homeKey := leakedKey(t, home)

	if err := d.h.Invoke(t.Context(), createAccessKeyEvent(memberAccount, memberKey)); err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	if got := accessKeyStatus(t, member, memberKey); got != "Inactive" {
		t.Errorf("member account's key is %s, want Inactive", got)
	}
	if got := accessKeyStatus(t, home, homeKey); got != "Active" {
		t.Errorf("home account's key is %s, want Active: the member's event must not act at home", got)
	}
	if len(d.sink.alerts) != 1 {
		t.Fatalf("%d alerts, want 1", len(d.sink.alerts))
	}
	o := d.sink.alerts[0].Remediation
	if o == nil || o.Status != remediate.Done || !strings.Contains(o.Reason, "in account "+memberAccount) {
		t.Errorf("outcome %+v, want done, naming account %s", o, memberAccount)
	}
	// The rendered alert shows the event's account, the one the action was taken in.
	if text := d.sink.text.String(); !strings.Contains(text, memberAccount) || strings.Contains(text, homeAccount) {
		t.Errorf("the alert should name account %s, and not the watchdog's own %s:\n%s", memberAccount, homeAccount, text)
	}
}

// TestHandlerReportsUntrustedMemberRole: an account whose member role is missing or does not
// trust the watchdog is a failed remediation in the alert, not a failed invocation, and does
// not keep the handler from acting in the next account.
func TestHandlerReportsUntrustedMemberRole(t *testing.T) {
	srv := mototest.Start(t)
	refused := "arn:aws:iam::" + untrustingAccount + ":role/" + memberRoleName
	proxy := refuseAssumeRole(t, srv.Endpoint, refused)
	d := deployOrg(t, srv, proxy)
	untrusting := memberIAM(d.cfg, untrustingAccount)
	member := memberIAM(d.cfg, memberAccount)
	untrustingKey := leakedKey(t, untrusting)
	memberKey := leakedKey(t, member)

	if err := d.h.Invoke(t.Context(), createAccessKeyEvent(untrustingAccount, untrustingKey)); err != nil {
		t.Fatalf("Invoke returned %v; a role that cannot be assumed must not fail (and retry) the invocation", err)
	}
	if got := accessKeyStatus(t, untrusting, untrustingKey); got != "Active" {
		t.Errorf("key in the untrusting account is %s, want it untouched", got)
	}
	if err := d.h.Invoke(t.Context(), createAccessKeyEvent(memberAccount, memberKey)); err != nil {
		t.Fatalf("Invoke for the trusting member: %v", err)
	}
	if got := accessKeyStatus(t, member, memberKey); got != "Inactive" {
		t.Errorf("member key is %s after a refusal in another account, want Inactive", got)
	}

	if len(d.sink.alerts) != 2 {
		t.Fatalf("%d alerts, want 2", len(d.sink.alerts))
	}
	o := d.sink.alerts[0].Remediation
	if o == nil || o.Status != remediate.Failed {
		t.Fatalf("outcome in the untrusting account %+v, want failed", o)
	}
	for _, want := range []string{"access denied", "account " + untrustingAccount, refused} {
		if !strings.Contains(o.Reason, want) {
			t.Errorf("failure reason %q does not say %q", o.Reason, want)
		}
	}
	if o := d.sink.alerts[1].Remediation; o == nil || o.Status != remediate.Done {
		t.Errorf("outcome in the member account %+v, want done", o)
	}
}

func TestMemberRoleNeedsOwnAccount(t *testing.T) {
	env := lambdaenv.Env{MemberRoleName: memberRoleName}
	if _, err := eventhandler.New(env, aws.Config{Region: "us-east-1"}, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "WATCHDOG_ROLE_ARN") {
		t.Errorf("New without WATCHDOG_ROLE_ARN = %v, want an error naming it", err)
	}
}

// refuseAssumeRole forwards to moto, except that STS AssumeRole of roleARN gets the
// AccessDenied AWS answers for a missing or untrusting role.
func refuseAssumeRole(t *testing.T, target, roleARN string) string {
	t.Helper()
	p := faultproxy.Start(t, target)
	p.Inject(faultproxy.AssumeRoleOf(roleARN), faultproxy.AccessDenied(false))
	return p.URL
}

package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	eventstestdata "github.com/iam-watchdog/iam-watchdog/events-testdata"
	"github.com/iam-watchdog/iam-watchdog/internal/faultproxy"
	"github.com/iam-watchdog/iam-watchdog/internal/lambdatest"
	"github.com/iam-watchdog/iam-watchdog/internal/mototest"
	"github.com/iam-watchdog/iam-watchdog/internal/slackserver"
)

const (
	slackToken  = "xoxb-0000-audit-token-never-logged"
	scheduleARN = "arn:aws:scheduler:us-east-1:123456789012:schedule/default/iam-watchdog-audit"
	auditRole   = "arn:aws:iam::123456789012:role/iam-watchdog/iam-watchdog-AuditRole-ABC123"
	functionARN = "arn:aws:lambda:us-east-1:123456789012:function:iam-watchdog-WatchdogFunction-ABC123"
	table       = "iam-watchdog-state"
)

// tick is the payload template.yaml's schedule sends, filled in as Scheduler fills it.
func tick(n int) []byte {
	b, _ := json.Marshal(map[string]string{
		"source": "iam-watchdog.schedule", "schedule_arn": scheduleARN,
		"scheduled_time": time.Now().UTC().Truncate(time.Second).Format(time.RFC3339),
		"execution_id":   fmt.Sprintf("d32c5kddcf5bb8c%d", n), "attempt": "1",
	})
	return b
}

// TestBootstrapUnderRIE runs the real bootstrap under aws-lambda-rie against moto_server (through
// a proxy that counts the calls, and answers ListOrganizationsFeatures, which moto lacks, as IAM
// answers an account outside an organisation) and the local Slack: a payload that is not the
// schedule's is refused and posts nothing; the first tick posts the whole picture; an unchanged
// tick posts nothing; a change posts what is newly failing. Snapshots, results and the schedule's
// record end up in the state table, the snapshot and results sealed with the state key.
func TestBootstrapUnderRIE(t *testing.T) {
	bootstrap := lambdatest.Build(t, "./functions/audit")
	srv := mototest.Start(t)
	cfg := srv.Config(t)
	ctx := t.Context()
	sec, err := secretsmanager.NewFromConfig(cfg).CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name: aws.String("iam-watchdog/slack"), SecretString: aws.String(`{"token":"` + slackToken + `"}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	db := dynamodb.NewFromConfig(cfg)
	mototest.CreateStateTable(t, db, table)
	stateKey := mototest.CreateStateKey(t, kms.NewFromConfig(cfg))
	q, err := sqs.NewFromConfig(cfg).CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("iam-watchdog-dead-letters")})
	if err != nil {
		t.Fatal(err)
	}
	fx := mototest.NewFixture(cfg)
	fx.CreateUser(t, "alice")

	proxy := faultproxy.Start(t, srv.Endpoint)
	proxy.Inject(faultproxy.Op("ListOrganizationsFeatures"), faultproxy.QueryError(http.StatusBadRequest, "OrganizationNotFoundException", "The account is not part of an organization."))
	slack := slackserver.Start(t)
	fn := lambdatest.Start(t, bootstrap,
		"AWS_ENDPOINT_URL="+proxy.URL,
		"SLACK_SECRET_ARN="+aws.ToString(sec.ARN),
		"SLACK_CHANNEL=C0SECURITY",
		"SLACK_API_URL="+slack.APIURL(),
		"STATE_TABLE="+table,
		"STATE_KEY_ARN="+stateKey,
		"WATCHDOG_ROLE_ARN="+auditRole,
		"AUDIT_SCHEDULE_ARN="+scheduleARN,
		"WATCHDOG_FUNCTION_ARN="+functionARN,
		"WATCHDOG_RULE_COUNT=13",
		"DEAD_LETTER_QUEUE_URL="+aws.ToString(q.QueueUrl),
	)

	invoke := func(what string, payload []byte, wantPosts int, want ...string) {
		t.Helper()
		before := len(slack.Posts())
		if body := fn.Invoke(t, payload); lambdatest.FunctionError(body) {
			t.Fatalf("%s: function error: %s", what, body)
		}
		posts := slack.Posts()[before:]
		if len(posts) != wantPosts {
			t.Fatalf("%s: %d Slack messages, want %d", what, len(posts), wantPosts)
		}
		for _, p := range posts {
			all := p.Text + string(p.Blocks)
			if p.Channel != "C0SECURITY" || p.Token != slackToken {
				t.Errorf("%s: message to %s with another token", what, p.Channel)
			}
			for _, w := range want {
				if !strings.Contains(all, w) {
					t.Errorf("%s: the digest lacks %q:\n%s", what, w, all)
				}
			}
		}
	}

	event, err := eventstestdata.FS.ReadFile("access_key_created/alert-other-user.json")
	if err != nil {
		t.Fatal(err)
	}
	invoke("a CloudTrail event", event, 0)
	if !fn.LogsContain("invocation refused", 10*time.Second) {
		t.Error("the CloudTrail event's refusal was not logged")
	}

	before := proxy.Seen()
	invoke("the first tick", tick(1), 1, "first audit", "Failing", "The watchdog's EventBridge rules are enabled", "0 rule(s) target "+functionARN)
	run := proxy.Seen().Since(before)
	t.Logf("AWS calls of one scheduled run (first, against moto): %s", run)
	for _, op := range []string{"GenerateCredentialReport", "GetCredentialReport", "GetAccountAuthorizationDetails", "GetItem", "PutItem", "GenerateMac"} {
		if run[op] == 0 {
			t.Errorf("the run made no %s call", op)
		}
	}
	for _, op := range []string{"ListUsers", "GetUser", "ListAccessKeys", "ListMFADevices", "GetLoginProfile", "GetUserPolicy"} {
		if run[op] > 0 {
			t.Errorf("the run called %s, a per-user call", op)
		}
	}
	if slack.AuthTests() != 1 {
		t.Errorf("%d auth.test calls, want 1 (the watchdog-slack check)", slack.AuthTests())
	}

	before = proxy.Seen()
	invoke("an unchanged tick", tick(2), 0)
	t.Logf("AWS calls of one scheduled run (unchanged, no digest): %s", proxy.Seen().Since(before))

	fx.CreateUser(t, "bob")
	if _, err := fx.IAM.CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{UserName: aws.String("bob"), Password: aws.String("Correct-Horse-Battery-1")}); err != nil {
		t.Fatal(err)
	}
	invoke("a tick after bob got a password without MFA", tick(3), 1, "what changed", "Newly failing", "user/bob", "CIS 1.10")

	for _, key := range []string{"audit#snapshot#" + mototest.AccountID, "audit#results", "schedule#audit"} {
		out, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: map[string]dbtypes.AttributeValue{"pk": &dbtypes.AttributeValueMemberS{Value: key}}})
		if err != nil || out.Item == nil {
			t.Errorf("state table item %s: %v, missing", key, err)
			continue
		}
		data, _ := out.Item["data"].(*dbtypes.AttributeValueMemberS)
		if sealed := strings.HasPrefix(key, "audit#"); sealed && (data == nil || !strings.Contains(data.Value, `"mac":"`)) {
			t.Errorf("state table item %s carries no MAC", key)
		}
	}
	if strings.Contains(fn.Logs(), slackToken) {
		t.Error("the Slack token appears in the function's logs")
	}
}

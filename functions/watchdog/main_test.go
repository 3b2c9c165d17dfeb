package main

import (
	"context"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	eventstestdata "github.com/iam-watchdog/iam-watchdog/events-testdata"
	"github.com/iam-watchdog/iam-watchdog/internal/lambdatest"
	"github.com/iam-watchdog/iam-watchdog/internal/mototest"
	"github.com/iam-watchdog/iam-watchdog/internal/slackserver"
	"github.com/iam-watchdog/iam-watchdog/pkg/alert"
	"github.com/iam-watchdog/iam-watchdog/pkg/cloudtrail"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/policy"
	"github.com/iam-watchdog/iam-watchdog/pkg/state"
)

const slackToken = "xoxb-0000-test-token-never-logged"

// deployment is the AWS side of a deployed watchdog in moto: the Slack secret and the state
// table the template would create.
type deployment struct {
	moto      *mototest.Server
	cfg       aws.Config
	secretARN string
	table     string
	stateKey  string // the stack's StateKey, as STATE_KEY_ARN names it
}

func deploy(t *testing.T) deployment {
	t.Helper()
	ctx := context.Background()
	srv := mototest.Start(t)
	cfg := srv.Config(t)
	sec, err := secretsmanager.NewFromConfig(cfg).CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name:         aws.String("iam-watchdog/slack"),
		SecretString: aws.String(`{"token":"` + slackToken + `"}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	table := "iam-watchdog-state"
	mototest.CreateStateTable(t, dynamodb.NewFromConfig(cfg), table)
	return deployment{moto: srv, cfg: cfg, secretARN: aws.ToString(sec.ARN), table: table,
		stateKey: mototest.CreateStateKey(t, kms.NewFromConfig(cfg))}
}

func (d deployment) start(t *testing.T, bootstrap string, slack *slackserver.Server, mode string) *lambdatest.Function {
	return lambdatest.Start(t, bootstrap,
		"AWS_ENDPOINT_URL="+d.moto.Endpoint,
		"SLACK_SECRET_ARN="+d.secretARN,
		"SLACK_CHANNEL=C0SECURITY",
		"SLACK_API_URL="+slack.APIURL(),
		"STATE_TABLE="+d.table,
		"STATE_KEY_ARN="+d.stateKey,
		"REMEDIATION_MODE="+mode,
		"WATCHDOG_ROLE_ARN="+eventstestdata.WatchdogRoleARN,
		"QUARANTINE_POLICY_ARN="+eventstestdata.QuarantinePolicyARN,
	)
}

// TestBootstrapUnderRIE invokes the real bootstrap under aws-lambda-rie with every example
// event: one Slack message per alert- event at or above medium (and for a denied call on IAM),
// an entry in the state table's digest for each one below, nothing for quiet- events, nothing
// for a redelivery.
func TestBootstrapUnderRIE(t *testing.T) {
	bootstrap := lambdatest.Build(t, "./functions/watchdog")
	d := deploy(t)
	slack := slackserver.Start(t)
	fn := d.start(t, bootstrap, slack, "dry-run")

	names, err := fs.Glob(eventstestdata.FS, "*/*.json")
	if err != nil || len(names) == 0 {
		t.Fatalf("no example events: %v", err)
	}
	digested := 0
	for _, name := range names {
		event, err := fs.ReadFile(eventstestdata.FS, name)
		if err != nil {
			t.Fatal(err)
		}
		before := len(slack.Messages())
		if body := fn.Invoke(t, event); lambdatest.FunctionError(body) {
			t.Fatalf("%s: function error: %s", name, body)
		}
		got := slack.Messages()[before:]
		alert := strings.HasPrefix(name[strings.IndexByte(name, '/')+1:], "alert-")
		posted := alert && atOnce(t, event)
		if alert && !posted {
			digested++
		}
		switch {
		case posted && len(got) != 1:
			t.Errorf("%s: %d Slack messages, want 1", name, len(got))
		case !posted && len(got) != 0:
			t.Errorf("%s: %d Slack messages for a near-miss or a finding for the digest, want none: %q", name, len(got), got[0].Text)
		}
		for _, m := range got {
			if m.Channel != "C0SECURITY" || m.Token != slackToken || len(m.Blocks) == 0 || m.Text == "" {
				t.Errorf("%s: message %+v lacks channel, token, blocks or text fallback", name, m)
			}
		}
	}

	if n := digestEntries(t, d); n != digested || n == 0 {
		t.Errorf("%d entries in the state table's digest, want %d", n, digested)
	}

	// EventBridge delivers at least once: a redelivered event neither acts nor alerts again.
	event, _ := fs.ReadFile(eventstestdata.FS, "access_key_created/alert-other-user.json")
	before := len(slack.Messages())
	if body := fn.Invoke(t, event); lambdatest.FunctionError(body) {
		t.Fatalf("redelivery: function error: %s", body)
	}
	if n := len(slack.Messages()) - before; n != 0 {
		t.Errorf("redelivered event alerted %d times, want 0", n)
	}

	// Bad input is logged and not retried: a retry would read the same bytes.
	if body := fn.Invoke(t, []byte(`{"detail-type":"AWS API Call via CloudTrail","source":"aws.iam","account":"123456789012","detail":{"eventName":7}}`)); lambdatest.FunctionError(body) {
		t.Errorf("unreadable event returned a function error (Lambda would retry it): %s", body)
	}
	// The log line reaches the pipe after the answer, later on a busy machine.
	if !fn.LogsContain("unreadable event", 10*time.Second) {
		t.Error("unreadable event was not logged")
	}
	if strings.Contains(fn.Logs(), slackToken) {
		t.Error("the Slack token appears in the function's logs")
	}
}

// TestBootstrapRevertsInAutoMode runs one remediation through the real bootstrap: a key created
// for another user is deactivated in moto's IAM, and the alert says how to undo it.
func TestBootstrapRevertsInAutoMode(t *testing.T) {
	ctx := context.Background()
	bootstrap := lambdatest.Build(t, "./functions/watchdog")
	d := deploy(t)
	slack := slackserver.Start(t)
	iamc := iam.NewFromConfig(d.cfg)
	if _, err := iamc.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("carol")}); err != nil {
		t.Fatal(err)
	}
	key, err := iamc.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("carol")})
	if err != nil {
		t.Fatal(err)
	}
	keyID := aws.ToString(key.AccessKey.AccessKeyId)
	event := eventWithKey(t, "access_key_created/alert-other-user.json", "carol", keyID)

	fn := d.start(t, bootstrap, slack, "auto")
	if body := fn.Invoke(t, event); lambdatest.FunctionError(body) {
		t.Fatalf("function error: %s", body)
	}
	keys, err := iamc.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String("carol")})
	if err != nil {
		t.Fatal(err)
	}
	if len(keys.AccessKeyMetadata) != 1 || keys.AccessKeyMetadata[0].Status != iamtypes.StatusTypeInactive {
		t.Fatalf("key after remediation: %+v, want one Inactive key (never deleted)", keys.AccessKeyMetadata)
	}
	msgs := slack.Messages()
	if len(msgs) != 1 || !strings.Contains(string(msgs[0].Blocks), "watchdog undo") {
		t.Fatalf("want one alert naming the undo command, got %+v", msgs)
	}
}

// eventWithKey is an example event rewritten to name a user and key that exist in moto.
func eventWithKey(t *testing.T, name, user, keyID string) []byte {
	t.Helper()
	ev, err := eventstestdata.Event(name, eventstestdata.AccessKeyCreated(user, keyID))
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// atOnce says whether the default routing posts the finding of an example event at once: at or
// above medium, or a denied call on a sensitive API; the rest wait for the digest.
func atOnce(t *testing.T, event []byte) bool {
	t.Helper()
	recs, errs := cloudtrail.Decode("event", event)
	if len(errs) > 0 || len(recs) != 1 {
		t.Fatalf("decode: %v", errs)
	}
	findings := detect.Default().Detect(recs[0])
	if len(findings) != 1 {
		t.Fatalf("%s: %d findings", recs[0].EventID, len(findings))
	}
	f := findings[0]
	return f.Severity >= detect.Medium || (recs[0].Failed() && policy.SensitiveAPI(recs[0].EventSource, recs[0].EventName))
}

// digestEntries counts the findings in the open digests of the deployment's state table.
func digestEntries(t *testing.T, d deployment) int {
	t.Helper()
	ctx := context.Background()
	digests := alert.Digests{Store: &state.DynamoDB{API: dynamodb.NewFromConfig(d.cfg), Table: d.table}}
	open, err := digests.Open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, o := range open {
		for _, c := range o.Channels {
			got, err := digests.Read(ctx, o.Start, c)
			if err != nil {
				t.Fatal(err)
			}
			for _, g := range got.Groups {
				n += g.Count
			}
		}
	}
	return n
}

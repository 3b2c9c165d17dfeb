package eventhandler_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	eventstestdata "github.com/iam-watchdog/iam-watchdog/events-testdata"
	"github.com/iam-watchdog/iam-watchdog/internal/faultproxy"
	"github.com/iam-watchdog/iam-watchdog/internal/mototest"
	"github.com/iam-watchdog/iam-watchdog/internal/slackserver"
	"github.com/iam-watchdog/iam-watchdog/internal/watchdogtest"
	"github.com/iam-watchdog/iam-watchdog/pkg/alert"
	"github.com/iam-watchdog/iam-watchdog/pkg/eventhandler"
	"github.com/iam-watchdog/iam-watchdog/pkg/lambdaenv"
	"github.com/iam-watchdog/iam-watchdog/pkg/remediate"
	"github.com/iam-watchdog/iam-watchdog/pkg/state"
)

// Faults at the edges. The Lambda handler is built as the function's main builds it
// (New: Slack secret, DynamoDB state table, the real remediator and Slack bot), and
// every call it makes goes through a fault proxy: one in front of moto_server for IAM, DynamoDB
// and Secrets Manager, one in front of the local Slack. The proxies count what reaches the
// services, so "no remediation runs twice" is the number of IAM mutations that reached moto
// and succeeded, and "alerted exactly once" the number of messages the local Slack accepted.
// Lambda's retry of a failed invocation is another Invoke with the same request ID.

const (
	faultSlackToken     = "xoxb-0000-fault-token-never-logged"
	faultSigningSecret  = "f00dfeedf00dfeedf00dfeedf00dfeed"
	faultChannel        = "C0SECURITY"
	faultTable          = "iam-watchdog-state"
	keyDeactivations    = "UpdateAccessKey"
	policyDetachments   = "DetachUserPolicy"
	slackPostMessage    = "/api/chat.postMessage"
	faultInvokeDeadline = 10 * time.Second
)

// faultLog is a log buffer the handler writes to from several goroutines.
type faultLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *faultLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *faultLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// faultDeployment is a deployed watchdog whose edges can fail.
type faultDeployment struct {
	t        *testing.T
	aws      *faultproxy.Proxy // in front of moto: every AWS call the function makes
	slack    *slackserver.Server
	slackAPI *faultproxy.Proxy // in front of the local Slack
	iam      *iam.Client       // straight to moto, to set up and check
	store    *state.DynamoDB   // straight to moto
	env      lambdaenv.Env
	awsCfg   aws.Config // the function's, through the proxy
	logs     *faultLog
	h        *eventhandler.Handler
}

// faultAWSConfig is the function's SDK configuration through endpoint: the SDK's standard
// retryer (three attempts, throttling and 5xx retried), with the backoff kept short so that a
// test of it is quick.
func faultAWSConfig(t *testing.T, endpoint string) aws.Config {
	cfg := mototest.Config(t, endpoint)
	cfg.RetryMaxAttempts = 0 // mototest.Config's 2 would override the standard retryer's 3
	cfg.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) { o.MaxBackoff = 50 * time.Millisecond })
	}
	cfg.AppID = "iam-watchdog"
	return cfg
}

func deployFaulty(t *testing.T, mode string) *faultDeployment {
	t.Helper()
	ctx := context.Background()
	moto := mototest.Start(t)
	direct := moto.Config(t)
	sec, err := secretsmanager.NewFromConfig(direct).CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name:         aws.String("iam-watchdog/slack"),
		SecretString: aws.String(`{"token":"` + faultSlackToken + `","signing_secret":"` + faultSigningSecret + `"}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	db := dynamodb.NewFromConfig(direct)
	mototest.CreateStateTable(t, db, faultTable)
	d := &faultDeployment{
		t:     t,
		aws:   faultproxy.Start(t, moto.Endpoint),
		slack: slackserver.Start(t),
		iam:   iam.NewFromConfig(direct),
		store: &state.DynamoDB{API: db, Table: faultTable},
		logs:  &faultLog{},
	}
	d.slackAPI = faultproxy.Start(t, d.slack.URL)
	d.env = lambdaenv.Env{
		SlackSecretARN:      aws.ToString(sec.ARN),
		SlackChannel:        faultChannel,
		SlackAPIURL:         d.slackAPI.URL + "/api/",
		RemediationMode:     mode,
		StateTable:          faultTable,
		StateKeyARN:         mototest.CreateStateKey(t, kms.NewFromConfig(direct)),
		QuarantinePolicyARN: eventstestdata.QuarantinePolicyARN,
		RoleARN:             eventstestdata.WatchdogRoleARN,
	}
	d.awsCfg = faultAWSConfig(t, d.aws.URL)
	d.coldStart()
	return d
}

// coldStart builds the handler again, as a new Lambda execution environment does.
func (d *faultDeployment) coldStart() {
	d.t.Helper()
	h, err := eventhandler.New(d.env, d.awsCfg, slog.New(slog.NewJSONHandler(d.logs, nil)))
	if err != nil {
		d.t.Fatal(err)
	}
	d.h = h
}

// invoke is one Lambda invocation of event with request ID requestID (a retry keeps it) and
// the function's deadline.
func (d *faultDeployment) invoke(requestID string, deadline time.Duration, event []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{AwsRequestID: requestID})
	return d.h.Invoke(ctx, event)
}

// mutations is how many calls of op reached IAM and succeeded.
func (d *faultDeployment) mutations(op string) int { return d.aws.Counts(op).OK }

// newUserKey creates user with an active access key in moto and returns the key's ID.
func (d *faultDeployment) newUserKey(user string) string {
	d.t.Helper()
	ctx := context.Background()
	if _, err := d.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(user)}); err != nil {
		d.t.Fatal(err)
	}
	out, err := d.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(user)})
	if err != nil {
		d.t.Fatal(err)
	}
	return aws.ToString(out.AccessKey.AccessKeyId)
}

func (d *faultDeployment) keyStatus(user, keyID string) string {
	d.t.Helper()
	out, err := d.iam.ListAccessKeys(context.Background(), &iam.ListAccessKeysInput{UserName: aws.String(user)})
	if err != nil {
		d.t.Fatal(err)
	}
	for _, k := range out.AccessKeyMetadata {
		if aws.ToString(k.AccessKeyId) == keyID {
			return string(k.Status)
		}
	}
	d.t.Fatalf("no key %s for %s", keyID, user)
	return ""
}

// newUserPolicy creates user with a customer managed policy attached and returns its ARN.
func (d *faultDeployment) newUserPolicy(user string) string {
	d.t.Helper()
	ctx := context.Background()
	if _, err := d.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(user)}); err != nil {
		d.t.Fatal(err)
	}
	p, err := d.iam.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String(user + "-reports"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::reports/*"}]}`)})
	if err != nil {
		d.t.Fatal(err)
	}
	arn := aws.ToString(p.Policy.Arn)
	if _, err := d.iam.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String(user), PolicyArn: aws.String(arn)}); err != nil {
		d.t.Fatal(err)
	}
	return arn
}

func (d *faultDeployment) attached(user, policyARN string) bool {
	d.t.Helper()
	out, err := d.iam.ListAttachedUserPolicies(context.Background(), &iam.ListAttachedUserPoliciesInput{UserName: aws.String(user)})
	if err != nil {
		d.t.Fatal(err)
	}
	for _, p := range out.AttachedPolicies {
		if aws.ToString(p.PolicyArn) == policyARN {
			return true
		}
	}
	return false
}

// entry reads the state table's entry for a finding.
func (d *faultDeployment) entry(eventID, rule string) alert.Entry {
	d.t.Helper()
	e, err := (alert.Records{Store: d.store}).Get(context.Background(), alert.Key(eventID, rule))
	if err != nil {
		d.t.Fatalf("state of %s: %v", eventID, err)
	}
	return e
}

// checkNoSecretLogged fails the test if the Slack token or signing secret is in the logs.
func (d *faultDeployment) checkNoSecretLogged() {
	d.t.Helper()
	for _, s := range []string{faultSlackToken, faultSigningSecret} {
		if strings.Contains(d.logs.String(), s) {
			d.t.Errorf("a Slack secret appears in the function's logs")
		}
	}
}

// faultIdentity is an IAM user making the call.
func faultIdentity(name string) string {
	return fmt.Sprintf(`{"type": "IAMUser", "principalId": "AIDA5%sEXAMPLE", "arn": "arn:aws:iam::123456789012:user/%s",
		"accountId": "123456789012", "accessKeyId": "AKIA5%sEXAMPLE", "userName": %q}`, strings.ToUpper(name), name, strings.ToUpper(name), name)
}

// faultEvent is the EventBridge event of an IAM call by actor.
func faultEvent(eventID, actor, eventName, params, response string) []byte {
	return []byte(fmt.Sprintf(`{"version": "0", "id": "ev-%[1]s", "detail-type": "AWS API Call via CloudTrail",
		"source": "aws.iam", "account": "123456789012", "time": "2024-05-02T09:03:51Z", "region": "us-east-1", "resources": [],
		"detail": {"eventVersion": "1.10", "userIdentity": %[2]s, "eventTime": "2024-05-02T09:03:51Z",
			"eventSource": "iam.amazonaws.com", "eventName": %[3]q, "awsRegion": "us-east-1",
			"sourceIPAddress": "198.51.100.40", "userAgent": "aws-cli/2.15.30",
			"requestParameters": %[4]s, "responseElements": %[5]s,
			"eventID": %[1]q, "readOnly": false, "eventType": "AwsApiCall", "recipientAccountId": "123456789012"}}`,
		eventID, faultIdentity(actor), eventName, params, response))
}

// keyCreated is actor creating access key keyID for user.
func keyCreated(eventID, actor, user, keyID string) []byte {
	return faultEvent(eventID, actor, "CreateAccessKey", fmt.Sprintf(`{"userName": %q}`, user),
		fmt.Sprintf(`{"accessKey": {"userName": %q, "accessKeyId": %q, "status": "Active"}}`, user, keyID))
}

// policyAttached is actor attaching policyARN to user.
func policyAttached(eventID, actor, user, policyARN string) []byte {
	return faultEvent(eventID, actor, "AttachUserPolicy", fmt.Sprintf(`{"userName": %q, "policyArn": %q}`, user, policyARN), "null")
}

const (
	ruleKey    = "access-key-created"
	rulePolicy = "user-managed-policy-attached"
)

// TestFaultSlackOutageNeverBlocksRemediation: Slack answers 500 to everything. The key is
// deactivated at once and its undo recorded; the invocation fails with a reason naming Slack,
// so Lambda retries it; retries while Slack is down fail the same way without acting again;
// the retry after Slack is back alerts exactly once, with the undo command; a later
// redelivery of the event neither acts nor alerts.
func TestFaultSlackOutageNeverBlocksRemediation(t *testing.T) {
	d := deployFaulty(t, "auto")
	keyID := d.newUserKey("carol")
	const eventID = "f0000001-0000-4000-8000-000000000001"
	event := keyCreated(eventID, "alice", "carol", keyID)

	d.slackAPI.Inject(faultproxy.Path(slackPostMessage), faultproxy.Status(http.StatusInternalServerError))
	for attempt := range 3 { // the invocation and Lambda's two retries (template.yaml MaximumRetryAttempts)
		err := d.invoke("req-1", faultInvokeDeadline, event)
		if err == nil || !strings.Contains(err.Error(), "Slack") || !strings.Contains(err.Error(), eventID) {
			t.Fatalf("attempt %d with Slack down: %v; want an error naming the event and Slack, so that Lambda retries", attempt, err)
		}
		if got := d.keyStatus("carol", keyID); got != "Inactive" {
			t.Fatalf("attempt %d: key is %s; a Slack outage must not hold back the remediation", attempt, got)
		}
		if n := d.mutations(keyDeactivations); n != 1 {
			t.Fatalf("attempt %d: %d UpdateAccessKey calls reached IAM, want exactly 1", attempt, n)
		}
		if e := d.entry(eventID, ruleKey); e.Stage != state.Acted || watchdogtest.UndoText(t, e) == "" {
			t.Fatalf("attempt %d: state %s with undo %s; want acted, undo recorded", attempt, e.Stage, watchdogtest.UndoText(t, e))
		}
	}
	if n := len(d.slack.Posts()); n != 0 {
		t.Fatalf("%d messages reached Slack while it was down", n)
	}
	if !strings.Contains(d.logs.String(), "invocation failed: Lambda will retry") {
		t.Errorf("the failure is not logged:\n%s", d.logs)
	}

	d.slackAPI.Clear()
	if err := d.invoke("req-1", faultInvokeDeadline, event); err != nil {
		t.Fatalf("retry after Slack is back: %v", err)
	}
	posts := d.slack.Posts()
	if len(posts) != 1 || !strings.Contains(string(posts[0].Blocks), "watchdog undo "+eventID) {
		t.Fatalf("%d messages after recovery (%+v); want exactly one, with the undo command", len(posts), posts)
	}
	if n := d.mutations(keyDeactivations); n != 1 {
		t.Errorf("%d UpdateAccessKey calls after recovery, want still 1", n)
	}

	// EventBridge delivers at least once: a redelivery, in another invocation, is a no-op.
	if err := d.invoke("req-2", faultInvokeDeadline, event); err != nil {
		t.Fatalf("redelivery: %v", err)
	}
	if len(d.slack.Posts()) != 1 || d.mutations(keyDeactivations) != 1 {
		t.Errorf("redelivery: %d messages, %d UpdateAccessKey calls; want 1 and 1", len(d.slack.Posts()), d.mutations(keyDeactivations))
	}
	d.checkNoSecretLogged()
}

// TestFaultSlackRateLimited: Slack answers 429 with Retry-After: 1, twice. The bot waits as told
// and the third try delivers: one message, one remediation, no failed invocation.
func TestFaultSlackRateLimited(t *testing.T) {
	d := deployFaulty(t, "auto")
	keyID := d.newUserKey("dan")
	rule := d.slackAPI.Inject(faultproxy.Path(slackPostMessage), faultproxy.TooManyRequests("1"), faultproxy.Times(2))
	start := time.Now()
	if err := d.invoke("req-1", faultInvokeDeadline, keyCreated("f0000002-0000-4000-8000-000000000002", "alice", "dan", keyID)); err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	if waited := time.Since(start); waited < 2*time.Second {
		t.Errorf("delivered after %s: Retry-After (1s, twice) was not honoured", waited)
	}
	if d.slackAPI.Hits(rule) != 2 || len(d.slack.Posts()) != 1 || d.mutations(keyDeactivations) != 1 {
		t.Errorf("429s %d, messages %d, UpdateAccessKey %d; want 2, 1, 1", d.slackAPI.Hits(rule), len(d.slack.Posts()), d.mutations(keyDeactivations))
	}
}

// TestFaultSlackConnectionResets: the connection to Slack is reset twice before the request
// reaches it, then a slow answer: the bot retries, and exactly one message is posted.
func TestFaultSlackConnectionResets(t *testing.T) {
	d := deployFaulty(t, "dry-run")
	keyID := d.newUserKey("erin")
	d.slackAPI.Inject(faultproxy.Path(slackPostMessage), faultproxy.Reset(), faultproxy.Times(2))
	d.slackAPI.Inject(faultproxy.Path(slackPostMessage), faultproxy.Latency(500*time.Millisecond), faultproxy.Times(1))
	if err := d.invoke("req-1", faultInvokeDeadline, keyCreated("f0000003-0000-4000-8000-000000000003", "alice", "erin", keyID)); err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	if c := d.slackAPI.Counts(slackPostMessage); c.Seen != 3 || len(d.slack.Posts()) != 1 {
		t.Errorf("postMessage counts %+v, %d messages; want 3 tries and exactly one message", c, len(d.slack.Posts()))
	}
	if d.mutations(keyDeactivations) != 0 {
		t.Error("dry-run acted")
	}
}

// TestFaultSlackAnswerLost: Slack accepts the message but the connection drops before its
// answer arrives. The bot cannot know the message was posted and tries again: the alert is
// never lost, at the price of at most one duplicate (Slack's chat.postMessage has no
// idempotency key). The remediation is not repeated.
func TestFaultSlackAnswerLost(t *testing.T) {
	d := deployFaulty(t, "auto")
	keyID := d.newUserKey("fay")
	d.slackAPI.Inject(faultproxy.Path(slackPostMessage), faultproxy.ResetAfterForward(), faultproxy.Times(1))
	if err := d.invoke("req-1", faultInvokeDeadline, keyCreated("f0000004-0000-4000-8000-000000000004", "alice", "fay", keyID)); err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	if n := len(d.slack.Posts()); n < 1 || n > 2 {
		t.Errorf("%d messages; want the alert, and at most one duplicate", n)
	} else if n == 2 {
		t.Logf("the lost answer cost one duplicate message, as documented")
	}
	if d.mutations(keyDeactivations) != 1 {
		t.Errorf("%d UpdateAccessKey calls, want 1", d.mutations(keyDeactivations))
	}
}

// TestFaultIAMThrottlingRetriedBySDK: IAM throttles the first two UpdateAccessKey calls. The
// SDK's retryer retries them; the key is deactivated by exactly one successful call; the alert
// says done; a redelivery does not call IAM again.
func TestFaultIAMThrottlingRetriedBySDK(t *testing.T) {
	d := deployFaulty(t, "auto")
	keyID := d.newUserKey("gus")
	const eventID = "f0000005-0000-4000-8000-000000000005"
	throttle := d.aws.Inject(faultproxy.Op(keyDeactivations), faultproxy.IAMThrottling(), faultproxy.Times(2))
	event := keyCreated(eventID, "alice", "gus", keyID)
	if err := d.invoke("req-1", faultInvokeDeadline, event); err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	c := d.aws.Counts(keyDeactivations)
	if d.aws.Hits(throttle) != 2 || c.Seen != 3 || c.OK != 1 || d.keyStatus("gus", keyID) != "Inactive" {
		t.Fatalf("UpdateAccessKey counts %+v, key %s; want 2 throttled, then one success", c, d.keyStatus("gus", keyID))
	}
	if o := storedOutcomeOf(t, d.entry(eventID, ruleKey)); o.Status != remediate.Done {
		t.Errorf("outcome %+v, want done", o)
	}
	if err := d.invoke("req-2", faultInvokeDeadline, event); err != nil {
		t.Fatal(err)
	}
	if d.aws.Counts(keyDeactivations).Seen != 3 || len(d.slack.Posts()) != 1 {
		t.Errorf("redelivery: UpdateAccessKey %+v, %d messages; want no new call and one message", d.aws.Counts(keyDeactivations), len(d.slack.Posts()))
	}
}

// TestFaultIAMThrottledPastRetries: IAM throttles every attempt. The remediation fails, and the
// one alert says so with IAM's reason; the invocation succeeds (the alert is out; the failure is
// the person's to act on) and the event is not acted on again.
func TestFaultIAMThrottledPastRetries(t *testing.T) {
	d := deployFaulty(t, "auto")
	keyID := d.newUserKey("hal")
	const eventID = "f0000006-0000-4000-8000-000000000006"
	d.aws.Inject(faultproxy.Op(keyDeactivations), faultproxy.IAMThrottling())
	if err := d.invoke("req-1", faultInvokeDeadline, keyCreated(eventID, "alice", "hal", keyID)); err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	o := storedOutcomeOf(t, d.entry(eventID, ruleKey))
	if o.Status != remediate.Failed || !strings.Contains(o.Reason, "Throttling") {
		t.Errorf("outcome %+v, want failed with IAM's Throttling", o)
	}
	if posts := d.slack.Posts(); len(posts) != 1 || !strings.Contains(posts[0].Text+string(posts[0].Blocks), "Throttling") {
		t.Errorf("messages %+v; want one alert naming the failure", posts)
	}
	if d.keyStatus("hal", keyID) != "Active" || d.mutations(keyDeactivations) != 0 {
		t.Error("a throttled call changed the key")
	}
}

// TestFaultIAMAnswerLost: IAM's connection drops after it acted, before its answer arrives.
// The SDK retries the call; each retry must be harmless and the outcome must still be "done"
// with an undo record.
func TestFaultIAMAnswerLost(t *testing.T) {
	t.Run("deactivate key", func(t *testing.T) {
		d := deployFaulty(t, "auto")
		keyID := d.newUserKey("ida")
		const eventID = "f0000007-0000-4000-8000-000000000007"
		d.aws.Inject(faultproxy.Op(keyDeactivations), faultproxy.ResetAfterForward(), faultproxy.Times(1))
		if err := d.invoke("req-1", faultInvokeDeadline, keyCreated(eventID, "alice", "ida", keyID)); err != nil {
			t.Fatalf("Invoke: %v", err)
		}
		e := d.entry(eventID, ruleKey)
		if o := storedOutcomeOf(t, e); o.Status != remediate.Done || watchdogtest.UndoText(t, e) == "" || d.keyStatus("ida", keyID) != "Inactive" {
			t.Errorf("outcome %+v, undo %s; want done with an undo record", o, watchdogtest.UndoText(t, e))
		}
		if len(d.slack.Posts()) != 1 {
			t.Errorf("%d messages, want 1", len(d.slack.Posts()))
		}
	})
	t.Run("detach policy", func(t *testing.T) {
		d := deployFaulty(t, "auto")
		policyARN := d.newUserPolicy("jo")
		const eventID = "f0000008-0000-4000-8000-000000000008"
		d.aws.Inject(faultproxy.Op(policyDetachments), faultproxy.ResetAfterForward(), faultproxy.Times(1))
		if err := d.invoke("req-1", faultInvokeDeadline, policyAttached(eventID, "alice", "jo", policyARN)); err != nil {
			t.Fatalf("Invoke: %v", err)
		}
		if d.attached("jo", policyARN) {
			t.Fatal("the policy is still attached")
		}
		e := d.entry(eventID, rulePolicy)
		if o := storedOutcomeOf(t, e); o.Status != remediate.Done || watchdogtest.UndoText(t, e) == "" {
			// The retried DetachUserPolicy meets NoSuchEntity: it must be taken for the answer to
			// the watchdog's own first attempt, not for somebody else's revert.
			t.Errorf("outcome %s (%q), undo record %q; want done with an undo record to re-attach the policy", o.Status, o.Reason, watchdogtest.UndoText(t, e))
		}
		if n := d.mutations(policyDetachments); n != 1 {
			t.Errorf("IAM detached %d times, want 1", n)
		}
	})
}

// TestFaultStateTableUnavailable: DynamoDB fails. While it answers 500 to every write, the
// invocation fails before acting or alerting (nothing may be done that cannot be recorded);
// once it is back, the retry acts and alerts once. Throttling of the table is retried by the
// SDK and costs nothing.
func TestFaultStateTableUnavailable(t *testing.T) {
	d := deployFaulty(t, "auto")
	keyID := d.newUserKey("kit")
	const eventID = "f0000009-0000-4000-8000-000000000009"
	event := keyCreated(eventID, "alice", "kit", keyID)

	d.aws.Inject(faultproxy.Op("PutItem"), faultproxy.JSONError(http.StatusInternalServerError, "InternalServerError", "Internal server error"))
	err := d.invoke("req-1", faultInvokeDeadline, event)
	if err == nil || !strings.Contains(err.Error(), "claim") || !strings.Contains(err.Error(), faultTable) {
		t.Fatalf("Invoke with the table down: %v; want an error naming the claim and the table", err)
	}
	if d.mutations(keyDeactivations) != 0 || len(d.slack.Posts()) != 0 {
		t.Fatalf("acted %d times and alerted %d times without a state table", d.mutations(keyDeactivations), len(d.slack.Posts()))
	}

	d.aws.Clear()
	d.aws.Inject(faultproxy.Op("PutItem", "GetItem"), faultproxy.JSONError(http.StatusBadRequest, "ThrottlingException", "Rate of requests exceeds the allowed throughput."), faultproxy.Times(2))
	if err := d.invoke("req-1", faultInvokeDeadline, event); err != nil {
		t.Fatalf("retry with the table back (throttled twice): %v", err)
	}
	if d.mutations(keyDeactivations) != 1 || len(d.slack.Posts()) != 1 || d.keyStatus("kit", keyID) != "Inactive" {
		t.Errorf("after recovery: %d UpdateAccessKey, %d messages; want 1 and 1", d.mutations(keyDeactivations), len(d.slack.Posts()))
	}
}

// TestFaultUndoSaveFails: the table accepts the claim, then fails the write that records the
// outcome and its undo, right after the policy was detached. The invocation fails (Lambda
// retries); the retry must neither repeat the remediation nor lose its undo record.
func TestFaultUndoSaveFails(t *testing.T) {
	d := deployFaulty(t, "auto")
	policyARN := d.newUserPolicy("lee")
	const eventID = "f000000a-0000-4000-8000-00000000000a"
	event := policyAttached(eventID, "alice", "lee", policyARN)
	// The claim's PutItem and the one that stores the plan before acting pass; the three
	// attempts (the SDK's) of the save after acting fail.
	d.aws.Inject(faultproxy.Op("PutItem"), faultproxy.JSONError(http.StatusInternalServerError, "InternalServerError", "Internal server error"),
		faultproxy.After(2), faultproxy.Times(3))
	err := d.invoke("req-1", faultInvokeDeadline, event)
	if err == nil || !strings.Contains(err.Error(), "record undo") {
		t.Fatalf("Invoke: %v; want the failure to record the undo, so that Lambda retries", err)
	}
	if d.attached("lee", policyARN) {
		t.Fatal("the policy is still attached")
	}
	// The undo record is not lost: it was stored before acting, and it is in the log, at error
	// level, whole.
	if logs := d.logs.String(); !strings.Contains(logs, `"level":"ERROR","msg":"outcome of a done action not saved`) || !strings.Contains(logs, policyARN) {
		t.Errorf("the undo of the done action is not logged at error level:\n%s", logs)
	}
	if e := d.entry(eventID, rulePolicy); e.Stage != state.Acting || !strings.Contains(watchdogtest.UndoText(t, e), policyARN) {
		t.Errorf("after the failed save: stage %q, undo %s; want stage %q with the undo record stored before acting", e.Stage, watchdogtest.UndoText(t, e), state.Acting)
	}
	if err := d.invoke("req-1", faultInvokeDeadline, event); err != nil {
		t.Fatalf("Lambda's retry: %v", err)
	}
	if len(d.slack.Posts()) != 1 {
		t.Errorf("%d messages, want 1", len(d.slack.Posts()))
	}
	e := d.entry(eventID, rulePolicy)
	o := storedOutcomeOf(t, e)
	// The retry resumes the stored plan: its DetachUserPolicy meets NoSuchEntity (the first
	// attempt's own detach) and changes nothing; the outcome is done, with the undo record.
	if n := d.mutations(policyDetachments); n != 1 {
		t.Errorf("IAM detached %d times, want 1", n)
	}
	if o.Status != remediate.Done || !strings.Contains(watchdogtest.UndoText(t, e), policyARN) || e.Stage != state.Alerted {
		t.Errorf("after the retry: stage %q, outcome %s (%q), undo %s; want alerted, done, with the undo record", e.Stage, o.Status, o.Reason, watchdogtest.UndoText(t, e))
	}
}

// TestFaultPlanSaveFails: the table accepts the claim, then fails the write that stores the
// plan (the undo record) before acting. Nothing may be done that could not be undone: the
// invocation fails without calling IAM or Slack, and Lambda's retry acts and alerts once.
func TestFaultPlanSaveFails(t *testing.T) {
	d := deployFaulty(t, "auto")
	policyARN := d.newUserPolicy("max")
	const eventID = "f000000c-0000-4000-8000-00000000000c"
	event := policyAttached(eventID, "alice", "max", policyARN)
	d.aws.Inject(faultproxy.Op("PutItem"), faultproxy.JSONError(http.StatusInternalServerError, "InternalServerError", "Internal server error"),
		faultproxy.After(1), faultproxy.Times(3))
	err := d.invoke("req-1", faultInvokeDeadline, event)
	if err == nil || !strings.Contains(err.Error(), "before acting") {
		t.Fatalf("Invoke: %v; want the failure to store the plan before acting", err)
	}
	if d.aws.Counts(policyDetachments).Seen != 0 || !d.attached("max", policyARN) || len(d.slack.Posts()) != 0 {
		t.Fatalf("acted or alerted without a stored undo record")
	}
	if err := d.invoke("req-1", faultInvokeDeadline, event); err != nil {
		t.Fatalf("Lambda's retry: %v", err)
	}
	e := d.entry(eventID, rulePolicy)
	if o := storedOutcomeOf(t, e); o.Status != remediate.Done || !strings.Contains(watchdogtest.UndoText(t, e), policyARN) ||
		d.mutations(policyDetachments) != 1 || len(d.slack.Posts()) != 1 || d.attached("max", policyARN) {
		t.Errorf("after the retry: outcome %s, undo %s, %d detaches, %d messages; want done, an undo record, 1 and 1",
			o.Status, watchdogtest.UndoText(t, e), d.mutations(policyDetachments), len(d.slack.Posts()))
	}
}

// TestFaultRetriesStopBeforeDeadline: whatever the edges do, an invocation returns its own
// error by its deadline, rather than being killed by Lambda with nothing said.
func TestFaultRetriesStopBeforeDeadline(t *testing.T) {
	const deadline = 3 * time.Second
	slack := func(t *testing.T, f faultproxy.Fault, within time.Duration, says string) {
		d := deployFaulty(t, "auto")
		keyID := d.newUserKey("max")
		const eventID = "f000000b-0000-4000-8000-00000000000b"
		d.slackAPI.Inject(faultproxy.Path(slackPostMessage), f)
		start := time.Now()
		err := d.invoke("req-1", deadline, keyCreated(eventID, "alice", "max", keyID))
		took := time.Since(start)
		if err == nil || !strings.Contains(err.Error(), says) {
			t.Fatalf("Invoke: %v; want an error saying %q", err, says)
		}
		if took > within {
			t.Errorf("returned after %s, want within %s", took, within)
		}
		if d.mutations(keyDeactivations) != 1 || d.entry(eventID, ruleKey).Stage != state.Acted {
			t.Errorf("%d UpdateAccessKey; the remediation must be done and recorded before Slack is tried", d.mutations(keyDeactivations))
		}
	}
	t.Run("Slack slower than the deadline", func(t *testing.T) {
		slack(t, faultproxy.Latency(time.Minute), deadline+time.Second, "deadline exceeded")
	})
	t.Run("Slack asks to wait past the deadline", func(t *testing.T) {
		// Retry-After: 60 cannot be honoured within 3s: give up at once and say why.
		slack(t, faultproxy.TooManyRequests("60"), time.Second, "would pass the deadline")
	})
	t.Run("IAM slower than the deadline", func(t *testing.T) {
		d := deployFaulty(t, "auto")
		keyID := d.newUserKey("ned")
		const eventID = "f000000c-0000-4000-8000-00000000000c"
		event := keyCreated(eventID, "alice", "ned", keyID)
		d.aws.Inject(faultproxy.Op(keyDeactivations), faultproxy.Latency(time.Minute))
		start := time.Now()
		err := d.invoke("req-1", deadline, event)
		if took := time.Since(start); err == nil || took > deadline+time.Second {
			t.Fatalf("Invoke returned %v after %s; want an error within the %s deadline", err, took, deadline)
		}
		// The slow call never reached IAM: Lambda's retry acts, once, and alerts.
		d.aws.Clear()
		if err := d.invoke("req-1", faultInvokeDeadline, event); err != nil {
			t.Fatalf("Lambda's retry: %v", err)
		}
		if d.mutations(keyDeactivations) != 1 || d.keyStatus("ned", keyID) != "Inactive" || len(d.slack.Posts()) != 1 {
			t.Errorf("after the retry: %d UpdateAccessKey, key %s, %d messages; want 1, Inactive, 1",
				d.mutations(keyDeactivations), d.keyStatus("ned", keyID), len(d.slack.Posts()))
		}
	})
}

// TestFaultSecretsManagerUnavailableAtColdStart: the Slack secret cannot be read when the
// execution environment starts. The invocation fails with a reason naming the secret (Lambda
// retries; after its retries the event is in the dead-letter queue with that reason) and the
// secret's value is in no log; once Secrets Manager is back the retry acts and alerts once.
// A Slack-side outage should not hold back the remediation either.
func TestFaultSecretsManagerUnavailableAtColdStart(t *testing.T) {
	d := deployFaulty(t, "auto")
	keyID := d.newUserKey("oz")
	const eventID = "f000000d-0000-4000-8000-00000000000d"
	event := keyCreated(eventID, "alice", "oz", keyID)
	d.aws.Inject(faultproxy.Op("GetSecretValue"), faultproxy.SecretsManagerUnavailable())

	err := d.invoke("req-1", faultInvokeDeadline, event)
	if err == nil || !strings.Contains(err.Error(), "SLACK_SECRET_ARN") || !strings.Contains(err.Error(), "InternalServiceError") {
		t.Fatalf("Invoke: %v; want an error naming the secret and Secrets Manager's answer", err)
	}
	if c := d.aws.Counts("GetSecretValue"); c.Seen != 3 {
		t.Errorf("GetSecretValue tried %d times, want the SDK's 3", c.Seen)
	}
	if len(d.slack.Posts()) != 0 {
		t.Fatal("alerted without the secret")
	}
	actedDuringOutage := d.mutations(keyDeactivations) == 1

	d.aws.Clear()
	if err := d.invoke("req-1", faultInvokeDeadline, event); err != nil {
		t.Fatalf("retry with Secrets Manager back: %v", err)
	}
	if d.mutations(keyDeactivations) != 1 || len(d.slack.Posts()) != 1 || d.keyStatus("oz", keyID) != "Inactive" {
		t.Errorf("after recovery: %d UpdateAccessKey, %d messages; want exactly 1 and 1", d.mutations(keyDeactivations), len(d.slack.Posts()))
	}
	d.checkNoSecretLogged()
	if !actedDuringOutage {
		t.Error("an unreadable Slack secret held back the remediation until Secrets Manager answered")
	}
}

// storedOutcomeOf decodes an entry's remediation outcome.
func storedOutcomeOf(t *testing.T, e alert.Entry) remediate.Outcome {
	t.Helper()
	return watchdogtest.StoredOutcome(t, e)
}

// TestFaultAttackerRacesTheRevert: someone re-attaches a policy as fast as the watchdog detaches
// it, five times, each attach's event handled at once and concurrently with the next attach.
// Every attach is its own CloudTrail event and is reverted on its own (one DetachUserPolicy per
// event, never more); however the calls interleave, the policy ends detached, because the last
// attach's event is always handled after the last attach; and the burst is one Slack message,
// not five.
func TestFaultAttackerRacesTheRevert(t *testing.T) {
	d := deployFaulty(t, "auto")
	policyARN := d.newUserPolicy("uma")
	ctx := context.Background()
	const rounds = 5
	errs := make(chan error, rounds)
	var wg sync.WaitGroup
	for i := range rounds {
		if i > 0 { // the first attach is newUserPolicy's
			if _, err := d.iam.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("uma"), PolicyArn: aws.String(policyARN)}); err != nil {
				t.Fatal(err)
			}
		}
		event := policyAttached(fmt.Sprintf("f00000%02d-race-4000-8000-000000000000", i), "mallory", "uma", policyARN)
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each event is its own invocation; a failed one is retried, as Lambda does.
			var err error
			for attempt := range 3 {
				if err = d.invoke(fmt.Sprintf("race-%d", i), faultInvokeDeadline, event); err == nil {
					return
				}
				time.Sleep(time.Duration(attempt+1) * time.Second) // Lambda waits 1 and 2 minutes
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("an attach event was not handled: %v", err)
	}
	if d.attached("uma", policyARN) {
		t.Error("the attacker's last attach stands")
	}
	if n := d.aws.Counts(policyDetachments).Forwarded; n != rounds {
		t.Errorf("%d DetachUserPolicy calls for %d attach events, want one each", n, rounds)
	}
	if posts := d.slack.Posts(); len(posts) != 1 {
		t.Errorf("%d Slack messages for one actor's burst, want 1 (updated as it grows)", len(posts))
	}
}

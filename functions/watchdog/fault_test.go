package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	eventstestdata "github.com/iam-watchdog/iam-watchdog/events-testdata"
	"github.com/iam-watchdog/iam-watchdog/internal/faultproxy"
	"github.com/iam-watchdog/iam-watchdog/internal/lambdatest"
	"github.com/iam-watchdog/iam-watchdog/internal/slackserver"
	"github.com/iam-watchdog/iam-watchdog/internal/templatecheck"
	"github.com/iam-watchdog/iam-watchdog/pkg/notify"
)

// The real bootstrap under aws-lambda-rie, with a fault proxy in front of moto_server (IAM,
// DynamoDB, Secrets Manager) and one in front of the local Slack. Lambda's handling of a failed
// asynchronous invocation — the same request ID again, MaximumRetryAttempts times, then the
// dead-letter queue with the last error — is played by lambdaAsync.

// faultSigningSecret is the Slack app's signing secret, kept in the same secret as the token:
// neither may appear in any log.
const faultSigningSecret = "5ec7e75160000000000000000000beef"

// faultEdges is a deployment whose edges fail on demand.
type faultEdges struct {
	deployment
	aws       *faultproxy.Proxy
	slack     *slackserver.Server
	slackAPI  *faultproxy.Proxy
	iam       *iam.Client
	secretARN string // token and signing secret
}

func deployEdges(t *testing.T) *faultEdges {
	t.Helper()
	d := deploy(t)
	sec, err := secretsmanager.NewFromConfig(d.cfg).CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{
		Name:         aws.String("iam-watchdog/slack-app"),
		SecretString: aws.String(`{"token":"` + slackToken + `","signing_secret":"` + faultSigningSecret + `"}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	e := &faultEdges{deployment: d, aws: faultproxy.Start(t, d.moto.Endpoint), slack: slackserver.Start(t),
		iam: iam.NewFromConfig(d.cfg), secretARN: aws.ToString(sec.ARN)}
	e.slackAPI = faultproxy.Start(t, e.slack.URL)
	return e
}

// start runs the bootstrap with every AWS and Slack call going through the proxies.
func (e *faultEdges) start(t *testing.T, bootstrap, mode string, env ...string) *lambdatest.Function {
	return lambdatest.Start(t, bootstrap, append([]string{
		"AWS_ENDPOINT_URL=" + e.aws.URL,
		"SLACK_SECRET_ARN=" + e.secretARN,
		"SLACK_CHANNEL=C0SECURITY",
		"SLACK_API_URL=" + e.slackAPI.URL + "/api/",
		"STATE_TABLE=" + e.table,
		"STATE_KEY_ARN=" + e.stateKey,
		"REMEDIATION_MODE=" + mode,
		"WATCHDOG_ROLE_ARN=" + eventstestdata.WatchdogRoleARN,
		"QUARANTINE_POLICY_ARN=" + eventstestdata.QuarantinePolicyARN,
	}, env...)...)
}

// newKey creates user with an active access key in moto and returns the example event of
// someone creating it.
func (e *faultEdges) newKey(t *testing.T, user string) (keyID string, event []byte) {
	t.Helper()
	ctx := context.Background()
	if _, err := e.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(user)}); err != nil {
		t.Fatal(err)
	}
	key, err := e.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(user)})
	if err != nil {
		t.Fatal(err)
	}
	keyID = aws.ToString(key.AccessKey.AccessKeyId)
	return keyID, withEventID(t, eventWithKey(t, "access_key_created/alert-other-user.json", user, keyID), "fa17-"+user)
}

// byActor makes an event's caller the IAM user name: findings of one rule by one actor share a
// Slack message (flood control), and these tests are about findings on their own.
func byActor(t *testing.T, event []byte, name string) []byte {
	t.Helper()
	var ev map[string]any
	if err := json.Unmarshal(event, &ev); err != nil {
		t.Fatal(err)
	}
	ev["detail"].(map[string]any)["userIdentity"] = map[string]any{"type": "IAMUser", "principalId": "AIDA" + strings.ToUpper(name),
		"arn": "arn:aws:iam::123456789012:user/" + name, "accountId": "123456789012", "userName": name}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (e *faultEdges) keyStatus(t *testing.T, user, keyID string) string {
	t.Helper()
	out, err := e.iam.ListAccessKeys(context.Background(), &iam.ListAccessKeysInput{UserName: aws.String(user)})
	if err != nil || len(out.AccessKeyMetadata) != 1 || aws.ToString(out.AccessKeyMetadata[0].AccessKeyId) != keyID {
		t.Fatalf("keys of %s: %+v, %v", user, out, err)
	}
	return string(out.AccessKeyMetadata[0].Status)
}

// deactivations is how many UpdateAccessKey calls reached IAM and succeeded.
func (e *faultEdges) deactivations() int { return e.aws.Counts("UpdateAccessKey").OK }

// withEventID gives an event's CloudTrail record another eventID.
func withEventID(t *testing.T, event []byte, id string) []byte {
	t.Helper()
	var ev map[string]any
	if err := json.Unmarshal(event, &ev); err != nil {
		t.Fatal(err)
	}
	ev["detail"].(map[string]any)["eventID"] = id
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// invokeAs invokes the function with a request ID of the caller's choosing, as Lambda keeps one
// request ID across the retries of an asynchronous invocation.
func invokeAs(t *testing.T, fn *lambdatest.Function, requestID string, event []byte) []byte {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, fn.URL, bytes.NewReader(event))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Amzn-RequestId", requestID)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("invoke: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("invoke: HTTP %d %s: %v", resp.StatusCode, body, err)
	}
	return body
}

// functionErrorMessage is the errorMessage of a function error, or "" for a success.
func functionErrorMessage(t *testing.T, body []byte) string {
	t.Helper()
	if !lambdatest.FunctionError(body) {
		return ""
	}
	var fe struct {
		ErrorMessage string `json:"errorMessage"`
	}
	if err := json.Unmarshal(body, &fe); err != nil {
		t.Fatalf("function error %s: %v", body, err)
	}
	return fe.ErrorMessage
}

// maxRetryAttempts is the function's EventInvokeConfig.MaximumRetryAttempts in template.yaml:
// how many times Lambda retries a failed asynchronous invocation before the dead-letter queue.
func maxRetryAttempts(t *testing.T) int {
	t.Helper()
	tpl, err := templatecheck.Load(filepath.Join("..", "..", "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	props, _ := tpl.Resources()["WatchdogFunction"]["Properties"].(map[string]any)
	cfg, _ := props["EventInvokeConfig"].(map[string]any)
	n, ok := cfg["MaximumRetryAttempts"].(int)
	if !ok {
		t.Fatalf("WatchdogFunction has no EventInvokeConfig.MaximumRetryAttempts: %v", props["EventInvokeConfig"])
	}
	if _, ok := props["DeadLetterQueue"]; !ok {
		t.Fatal("WatchdogFunction has no DeadLetterQueue: a failed event would be dropped")
	}
	return n
}

// lambdaAsync delivers event as Lambda does an asynchronous invocation: after a function error
// it invokes again with the same request ID, up to retries times, calling before(attempt) ahead
// of each attempt (0 is the first). It returns what the dead-letter queue would receive: the
// last attempt's error message, or "" when an attempt succeeded.
func lambdaAsync(t *testing.T, fn *lambdatest.Function, requestID string, event []byte, retries int, before func(attempt int)) (deadLetter string) {
	t.Helper()
	for attempt := 0; attempt <= retries; attempt++ {
		if before != nil {
			before(attempt)
		}
		msg := functionErrorMessage(t, invokeAs(t, fn, requestID, event))
		if msg == "" {
			return ""
		}
		deadLetter = msg
	}
	return deadLetter
}

func checkNoSecrets(t *testing.T, logs string) {
	t.Helper()
	for name, s := range map[string]string{"Slack token": slackToken, "signing secret": faultSigningSecret} {
		if strings.Contains(logs, s) {
			t.Errorf("the %s appears in the function's logs", name)
		}
	}
}

// TestBootstrapSlackOutage: Slack answers 503 to every message. An event whose retries all
// meet the outage ends in the dead-letter queue with a reason naming Slack, its key already
// deactivated, once. An event whose last retry finds Slack back is alerted exactly once,
// without acting again. A later redelivery does nothing.
func TestBootstrapSlackOutage(t *testing.T) {
	bootstrap := lambdatest.Build(t, "./functions/watchdog")
	e := deployEdges(t)
	fn := e.start(t, bootstrap, "auto")
	retries := maxRetryAttempts(t)
	outage := e.slackAPI.Inject(faultproxy.Path("/api/chat.postMessage"), faultproxy.Status(http.StatusServiceUnavailable))

	keyA, eventA := e.newKey(t, "quinn")
	dead := lambdaAsync(t, fn, "req-a", eventA, retries, nil)
	if !strings.Contains(dead, "Slack") || !strings.Contains(dead, "fa17-quinn") || !strings.Contains(dead, "503") {
		t.Fatalf("dead-letter reason %q; want one naming the event, Slack and its answer", dead)
	}
	if e.keyStatus(t, "quinn", keyA) != "Inactive" || e.deactivations() != 1 {
		t.Fatalf("key %s after %d UpdateAccessKey calls; want it deactivated exactly once despite the outage",
			e.keyStatus(t, "quinn", keyA), e.deactivations())
	}
	if !strings.Contains(fn.Logs(), "invocation failed: Lambda will retry") {
		t.Error("the failure is not in the function's log")
	}

	keyB, eventB := e.newKey(t, "rory")
	eventB = byActor(t, eventB, "someone-else")
	dead = lambdaAsync(t, fn, "req-b", eventB, retries, func(attempt int) {
		if attempt == retries {
			e.slackAPI.Clear() // Slack is back for Lambda's last retry
		}
	})
	if dead != "" {
		t.Fatalf("dead-lettered although Slack was back for the last retry: %s", dead)
	}
	posts := e.slack.Posts()
	if len(posts) != 1 || !strings.Contains(string(posts[0].Blocks), "fa17-rory") {
		t.Fatalf("messages %+v; want exactly one, for rory's key", posts)
	}
	if e.keyStatus(t, "rory", keyB) != "Inactive" || e.deactivations() != 2 {
		t.Errorf("%d UpdateAccessKey calls for two events; want exactly 2", e.deactivations())
	}
	// Each attempt tried Slack a bounded number of times: A's every attempt, B's all but the last.
	if got, want := e.slackAPI.Hits(outage), notify.DefaultMaxAttempts*(2*retries+1); got != want {
		t.Errorf("the outage refused %d messages, want %d (%d tries per attempt)", got, want, notify.DefaultMaxAttempts)
	}

	// A redelivery of either event, in a new invocation, neither acts nor alerts.
	if msg := functionErrorMessage(t, invokeAs(t, fn, "req-b2", eventB)); msg != "" {
		t.Errorf("redelivery: %s", msg)
	}
	if len(e.slack.Posts()) != 1 || e.deactivations() != 2 {
		t.Errorf("redelivery: %d messages, %d UpdateAccessKey calls; want 1 and 2", len(e.slack.Posts()), e.deactivations())
	}
	checkNoSecrets(t, fn.Logs())
}

// TestBootstrapSecretsManagerAtColdStart: Secrets Manager fails when the function first needs
// the Slack secret. The invocation fails with a reason naming SLACK_SECRET_ARN; Lambda's retry,
// with Secrets Manager back, alerts once and remediates once.
func TestBootstrapSecretsManagerAtColdStart(t *testing.T) {
	bootstrap := lambdatest.Build(t, "./functions/watchdog")
	e := deployEdges(t)
	fn := e.start(t, bootstrap, "auto")
	keyID, event := e.newKey(t, "sam")
	e.aws.Inject(faultproxy.Op("GetSecretValue"), faultproxy.SecretsManagerUnavailable())

	msg := functionErrorMessage(t, invokeAs(t, fn, "req-1", event))
	if !strings.Contains(msg, "SLACK_SECRET_ARN") || !strings.Contains(msg, "InternalServiceError") {
		t.Fatalf("function error %q; want one naming the secret and Secrets Manager's answer", msg)
	}
	actedDuringOutage := e.deactivations() == 1

	e.aws.Clear()
	if msg := functionErrorMessage(t, invokeAs(t, fn, "req-1", event)); msg != "" {
		t.Fatalf("Lambda's retry with Secrets Manager back: %s", msg)
	}
	if len(e.slack.Posts()) != 1 || e.deactivations() != 1 || e.keyStatus(t, "sam", keyID) != "Inactive" {
		t.Errorf("after recovery: %d messages, %d UpdateAccessKey calls; want exactly 1 and 1", len(e.slack.Posts()), e.deactivations())
	}
	checkNoSecrets(t, fn.Logs())
	if !actedDuringOutage {
		t.Error("the key stayed active while the Slack secret could not be read")
	}
}

// TestBootstrapStopsBeforeDeadline: with a 5 s timeout and Slack slower than that, or asking
// to wait longer, the function answers with its own error before Lambda's deadline, rather than
// being killed with "Task timed out" and nothing said about why.
func TestBootstrapStopsBeforeDeadline(t *testing.T) {
	bootstrap := lambdatest.Build(t, "./functions/watchdog")
	for _, tc := range []struct {
		name  string
		fault faultproxy.Fault
		says  string
	}{
		{"Slack slower than the deadline", faultproxy.Latency(time.Minute), "deadline"},
		{"Slack asks to wait past the deadline", faultproxy.TooManyRequests("30"), "would pass the deadline"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := deployEdges(t)
			fn := e.start(t, bootstrap, "auto", "AWS_LAMBDA_FUNCTION_TIMEOUT=5")
			keyID, event := e.newKey(t, "tess")
			// A first, quiet invocation pays the cold start, which Lambda times separately.
			invokeAs(t, fn, "warm-up", []byte(`{"detail-type":"AWS API Call via CloudTrail","source":"aws.ec2","detail":{}}`))
			e.slackAPI.Inject(faultproxy.Path("/api/chat.postMessage"), tc.fault)
			start := time.Now()
			body := invokeAs(t, fn, "req-1", event)
			took := time.Since(start)
			if strings.Contains(string(body), "Task timed out") {
				t.Fatalf("the function was killed at its deadline (%q after %s) instead of returning its own error", body, took)
			}
			msg := functionErrorMessage(t, body)
			if !strings.Contains(msg, tc.says) || !strings.Contains(msg, "Slack") {
				t.Fatalf("answer %s after %s; want the function's own error saying %q", body, took, tc.says)
			}
			if took > 5*time.Second {
				t.Errorf("answered after %s, past the 5s timeout", took)
			}
			if e.keyStatus(t, "tess", keyID) != "Inactive" || e.deactivations() != 1 {
				t.Errorf("the remediation must be done before Slack is tried")
			}
		})
	}
}

// TestBootstrapLogsHoldNoSecret runs every example event, an unreadable one, a Secrets Manager
// failure at cold start and a Slack outage through the function, and searches everything it
// logged for the Slack token and signing secret.
func TestBootstrapLogsHoldNoSecret(t *testing.T) {
	bootstrap := lambdatest.Build(t, "./functions/watchdog")
	e := deployEdges(t)
	fn := e.start(t, bootstrap, "auto")
	names, err := fs.Glob(eventstestdata.FS, "*/*.json")
	if err != nil || len(names) == 0 {
		t.Fatalf("no example events: %v", err)
	}

	e.aws.Inject(faultproxy.Op("GetSecretValue"), faultproxy.SecretsManagerUnavailable(), faultproxy.Times(3))
	e.slackAPI.Inject(faultproxy.Path("/api/chat.postMessage"), faultproxy.Status(http.StatusInternalServerError), faultproxy.Times(8))
	failed := 0
	for i, name := range names {
		event, err := fs.ReadFile(eventstestdata.FS, name)
		if err != nil {
			t.Fatal(err)
		}
		if msg := functionErrorMessage(t, invokeAs(t, fn, fmt.Sprintf("req-%d", i), event)); msg != "" {
			failed++
			checkNoSecrets(t, msg)
		}
	}
	for _, bad := range []string{`{"detail-type":"AWS API Call via CloudTrail","source":"aws.iam","account":"123456789012","detail":{"eventName":7}}`, `{"Records":[]}`, "\x1f\x8bjunk", ""} {
		invokeAs(t, fn, "bad", []byte(bad))
	}
	if failed == 0 {
		t.Error("no invocation failed: the faults were not met")
	}
	logs := fn.Logs()
	if !strings.Contains(logs, "SLACK_SECRET_ARN") || !strings.Contains(logs, "unreadable event") {
		t.Errorf("the logs do not show the secret failure and the unreadable event")
	}
	checkNoSecrets(t, logs)
}

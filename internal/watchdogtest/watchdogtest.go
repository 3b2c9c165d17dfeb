// Package watchdogtest holds what the tests of the pipeline (pkg/watchdog) and of its Lambda
// handler (pkg/eventhandler) share: CloudTrail records, fakes of the remediator and the sink,
// a pipeline over them, and readers of what the pipeline stored.
package watchdogtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/iam-watchdog/iam-watchdog/pkg/alert"
	"github.com/iam-watchdog/iam-watchdog/pkg/cloudtrail"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/notify"
	"github.com/iam-watchdog/iam-watchdog/pkg/policy"
	"github.com/iam-watchdog/iam-watchdog/pkg/remediate"
	"github.com/iam-watchdog/iam-watchdog/pkg/state"
	"github.com/iam-watchdog/iam-watchdog/pkg/watchdog"
)

// The account of the records below, the watchdog's role in it, the rule of the access-key
// records and the key they create.
const (
	Account  = "123456789012"
	SelfRole = "arn:aws:iam::" + Account + ":role/iam-watchdog-WatchdogRole"
	KeyRule  = "access-key-created"
	NewKeyID = "AKIA5BOBNEWKEY7Q2XYZ"
)

// Identities for the records below.
const (
	Alice = `{"type": "IAMUser", "principalId": "AIDA5ALICEQ7EXAMPLE01", "arn": "arn:aws:iam::123456789012:user/alice",
		"accountId": "123456789012", "accessKeyId": "AKIA5ALICEEXAMPLE7Q2", "userName": "alice"}`
	WatchdogSession = `{"type": "AssumedRole", "principalId": "AROA5WATCHDOGEXAMPL1:watchdog",
		"arn": "arn:aws:sts::123456789012:assumed-role/iam-watchdog-WatchdogRole/watchdog", "accountId": "123456789012",
		"accessKeyId": "ASIA5WATCHDOGEXAMPL6",
		"sessionContext": {
			"sessionIssuer": {"type": "Role", "principalId": "AROA5WATCHDOGEXAMPL1", "arn": "arn:aws:iam::123456789012:role/iam-watchdog-WatchdogRole",
				"accountId": "123456789012", "userName": "iam-watchdog-WatchdogRole"},
			"attributes": {"creationDate": "2024-05-02T09:00:00Z", "mfaAuthenticated": "false"}}}`
)

// CreateAccessKey is a CloudTrail record of identity creating an access key for user bob.
func CreateAccessKey(eventID, identity string) string {
	return fmt.Sprintf(`{
		"eventVersion": "1.10",
		"userIdentity": %s,
		"eventTime": "2024-05-02T09:03:51Z",
		"eventSource": "iam.amazonaws.com",
		"eventName": "CreateAccessKey",
		"awsRegion": "us-east-1",
		"sourceIPAddress": "198.51.100.40",
		"userAgent": "aws-cli/2.15.30 md/command#iam.create-access-key",
		"requestParameters": {"userName": "bob"},
		"responseElements": {"accessKey": {"userName": "bob", "accessKeyId": %q, "status": "Active"}},
		"eventID": %q,
		"readOnly": false,
		"eventType": "AwsApiCall",
		"recipientAccountId": "123456789012"
	}`, identity, NewKeyID, eventID)
}

// RootSignin is a CloudTrail record of the root user signing in without MFA: a finding no API
// can undo.
func RootSignin(eventID string) string {
	return fmt.Sprintf(`{
		"eventVersion": "1.09",
		"userIdentity": {"type": "Root", "principalId": "123456789012", "arn": "arn:aws:iam::123456789012:root", "accountId": "123456789012"},
		"eventTime": "2024-05-02T08:14:37Z",
		"eventSource": "signin.amazonaws.com",
		"eventName": "ConsoleLogin",
		"awsRegion": "us-east-1",
		"sourceIPAddress": "198.51.100.23",
		"userAgent": "Mozilla/5.0",
		"requestParameters": null,
		"responseElements": {"ConsoleLogin": "Success"},
		"additionalEventData": {"MFAUsed": "No"},
		"eventID": %q,
		"eventType": "AwsConsoleSignIn",
		"recipientAccountId": "123456789012"
	}`, eventID)
}

// DescribeInstances is a record no rule watches.
func DescribeInstances(eventID string) string {
	return fmt.Sprintf(`{
		"eventVersion": "1.10",
		"userIdentity": %s,
		"eventTime": "2024-05-02T12:50:00Z",
		"eventSource": "ec2.amazonaws.com",
		"eventName": "DescribeInstances",
		"awsRegion": "us-east-1",
		"sourceIPAddress": "198.51.100.40",
		"userAgent": "aws-cli/2.15.30",
		"requestParameters": {"instancesSet": {}},
		"responseElements": null,
		"eventID": %q,
		"readOnly": true,
		"eventType": "AwsApiCall",
		"recipientAccountId": "123456789012"
	}`, Alice, eventID)
}

// Envelope wraps a record in the EventBridge event Lambda receives.
func Envelope(record string) []byte {
	return []byte(`{"version": "0", "id": "b25510e3-d156-4310-9965-d008509fb72e", "detail-type": "AWS API Call via CloudTrail",
		"source": "aws.iam", "account": "123456789012", "time": "2024-05-02T09:03:51Z", "region": "us-east-1",
		"resources": [], "detail": ` + record + `}`)
}

// Parse reads exactly one record, as the pipeline's callers do.
func Parse(t *testing.T, data string) *cloudtrail.Record {
	t.Helper()
	recs, errs := cloudtrail.Decode("test", []byte(data))
	if len(errs) > 0 || len(recs) != 1 {
		t.Fatalf("decode: %d records, errors %v", len(recs), errs)
	}
	return recs[0]
}

// Calls records the arguments of a fake's calls; fakes may be called from several goroutines.
type Calls[T any] struct {
	mu  sync.Mutex
	got []T
}

// Add records one call.
func (c *Calls[T]) Add(v T) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.got = append(c.got, v)
}

// All are the calls recorded so far.
func (c *Calls[T]) All() []T {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]T(nil), c.got...)
}

// FakeRemediator is a watchdog.Remediator made of functions: apply answers for Plan and Do
// together, once per action carried out.
type FakeRemediator struct {
	describe func(a detect.Action) string
	apply    func(ctx context.Context, a detect.Action) (remediate.Undo, error)
}

// Describe says what the remediator would do.
func (r *FakeRemediator) Describe(a detect.Action) string { return r.describe(a) }

// Plan records the action in the undo record, which Do reads it back from.
func (r *FakeRemediator) Plan(_ context.Context, a detect.Action) (remediate.Undo, error) {
	return remediate.Undo{Action: a.Kind, Account: a.Account, Region: a.Region, UserName: a.UserName,
		AccessKeyID: a.AccessKeyID, PolicyARN: a.PolicyARN, PolicyName: a.PolicyName, Trail: a.Trail}, nil
}

// Do carries out the plan through apply.
func (r *FakeRemediator) Do(ctx context.Context, u remediate.Undo) error {
	_, err := r.apply(ctx, detect.Action{Kind: u.Action, Account: u.Account, Region: u.Region, UserName: u.UserName,
		AccessKeyID: u.AccessKeyID, PolicyARN: u.PolicyARN, PolicyName: u.PolicyName, Trail: u.Trail})
	return err
}

var _ watchdog.Remediator = (*FakeRemediator)(nil)

// FakeSink is a notify.Sink made of a function.
type FakeSink struct {
	notify func(ctx context.Context, a alert.Alert) (alert.Delivery, error)
}

// Notify calls the sink's function.
func (s *FakeSink) Notify(ctx context.Context, a alert.Alert) (alert.Delivery, error) {
	return s.notify(ctx, a)
}

// Describe is what the fake remediator says it would do.
func Describe(a detect.Action) string {
	return fmt.Sprintf("%s %s of %s", a.Kind, a.AccessKeyID, a.UserName)
}

// Applying is a remediator whose Apply answers with result and records each action.
func Applying(applied *Calls[detect.Action], result func(a detect.Action) (remediate.Undo, error)) *FakeRemediator {
	return &FakeRemediator{describe: Describe, apply: func(_ context.Context, a detect.Action) (remediate.Undo, error) {
		applied.Add(a)
		return result(a)
	}}
}

// Reverted is a successful Apply's undo record.
func Reverted(a detect.Action) (remediate.Undo, error) {
	return remediate.Undo{Action: a.Kind, Account: a.Account, UserName: a.UserName, AccessKeyID: a.AccessKeyID}, nil
}

// Delivering is a sink that records each alert and answers with del and err.
func Delivering(alerts *Calls[alert.Alert], del alert.Delivery, err error) *FakeSink {
	return &FakeSink{notify: func(_ context.Context, a alert.Alert) (alert.Delivery, error) {
		alerts.Add(a)
		return del, err
	}}
}

// OpenStore is the real file store, in a fresh directory.
func OpenStore(t *testing.T) *state.File {
	t.Helper()
	s, err := state.OpenFile(filepath.Join(t.TempDir(), "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Pipeline is a pipeline over the built-in rules, with the watchdog's own role configured.
func Pipeline(mode policy.Mode, rem watchdog.Remediator, store state.Store, sink notify.Sink) *watchdog.Pipeline {
	cfg := policy.Config{Mode: mode, SelfRoleARNs: []string{SelfRole}}
	return &watchdog.Pipeline{
		Detector:   detect.DefaultWith(cfg.Detection()),
		Config:     cfg,
		Remediator: rem,
		Store:      store,
		Sink:       sink,
		Owner:      "invocation-1",
	}
}

// RuleAlerts are the alerts of one rule: a rule added later may alert on the same records.
func RuleAlerts(c *Calls[alert.Alert], rule string) []alert.Alert {
	var out []alert.Alert
	for _, a := range c.All() {
		if a.Finding.Rule == rule {
			out = append(out, a)
		}
	}
	return out
}

// KeyAlerts are the alerts of the access-key rule.
func KeyAlerts(c *Calls[alert.Alert]) []alert.Alert { return RuleAlerts(c, KeyRule) }

// KeyActions are the access-key deactivations applied.
func KeyActions(c *Calls[detect.Action]) []detect.Action {
	var out []detect.Action
	for _, a := range c.All() {
		if a.Kind == detect.DeactivateAccessKey {
			out = append(out, a)
		}
	}
	return out
}

// SlackMessage is where the fake Slack of these tests posts.
var SlackMessage = alert.Delivery{Channel: "C0123SECURITY", TS: "1714640631.000100"}

// Entry reads the store entry of the access-key finding of eventID: under the finding's key
// when the watchdog could act on it, under the report key when it only reported it.
func Entry(t *testing.T, s state.Store, eventID string) alert.Entry {
	t.Helper()
	records := alert.Records{Store: s}
	e, err := records.Get(context.Background(), alert.Key(eventID, KeyRule))
	if errors.Is(err, state.ErrNotFound) {
		e, err = records.Get(context.Background(), alert.Key(eventID, KeyRule)+"#report")
	}
	if err != nil {
		t.Fatalf("store entry of %s: %v", eventID, err)
	}
	return e
}

// Pieces are the pieces of authority an entry holds, as the codec reads them.
func Pieces(t *testing.T, e alert.Entry) alert.Pieces {
	t.Helper()
	p, err := alert.Codec{}.Open(context.Background(), e)
	if err != nil {
		t.Fatalf("pieces of %s: %v", e.Key, err)
	}
	return p
}

// StoredOutcome is an entry's remediation outcome; the zero Outcome when it holds none.
func StoredOutcome(t *testing.T, e alert.Entry) remediate.Outcome {
	t.Helper()
	if o := Pieces(t, e).Outcome; o != nil {
		return *o
	}
	return remediate.Outcome{}
}

// UndoText is an entry's undo record as stored (JSON), "" when it holds none.
func UndoText(t *testing.T, e alert.Entry) string {
	t.Helper()
	u := Pieces(t, e).Plan
	if u == nil {
		return ""
	}
	data, err := json.Marshal(u)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// LogBuffer is a log the code under test writes to from several goroutines, and the test reads.
type LogBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

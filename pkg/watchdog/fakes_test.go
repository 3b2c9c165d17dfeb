package watchdog_test

import (
	"context"
	"fmt"
	"path/filepath"
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

const (
	account  = "123456789012"
	selfRole = "arn:aws:iam::" + account + ":role/iam-watchdog-WatchdogRole"
	keyRule  = "access-key-created"
	newKeyID = "AKIA5BOBNEWKEY7Q2XYZ"
)

// Identities for the records below.
const (
	alice = `{"type": "IAMUser", "principalId": "AIDA5ALICEQ7EXAMPLE01", "arn": "arn:aws:iam::123456789012:user/alice",
		"accountId": "123456789012", "accessKeyId": "AKIA5ALICEEXAMPLE7Q2", "userName": "alice"}`
	watchdogSession = `{"type": "AssumedRole", "principalId": "AROA5WATCHDOGEXAMPL1:watchdog",
		"arn": "arn:aws:sts::123456789012:assumed-role/iam-watchdog-WatchdogRole/watchdog", "accountId": "123456789012",
		"accessKeyId": "ASIA5WATCHDOGEXAMPL6",
		"sessionContext": {
			"sessionIssuer": {"type": "Role", "principalId": "AROA5WATCHDOGEXAMPL1", "arn": "arn:aws:iam::123456789012:role/iam-watchdog-WatchdogRole",
				"accountId": "123456789012", "userName": "iam-watchdog-WatchdogRole"},
			"attributes": {"creationDate": "2024-05-02T09:00:00Z", "mfaAuthenticated": "false"}}}`
)

// createAccessKey is a CloudTrail record of identity creating an access key for user bob.
func createAccessKey(eventID, identity string) string {
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
	}`, identity, newKeyID, eventID)
}

// rootSignin is a CloudTrail record of the root user signing in without MFA: a finding no API
// can undo.
func rootSignin(eventID string) string {
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

// describeInstances is a record no rule watches.
func describeInstances(eventID string) string {
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
	}`, alice, eventID)
}

// envelope wraps a record in the EventBridge event Lambda receives.
func envelope(record string) []byte {
	return []byte(`{"version": "0", "id": "b25510e3-d156-4310-9965-d008509fb72e", "detail-type": "AWS API Call via CloudTrail",
		"source": "aws.iam", "account": "123456789012", "time": "2024-05-02T09:03:51Z", "region": "us-east-1",
		"resources": [], "detail": ` + record + `}`)
}

// parse reads exactly one record, as the pipeline's callers do.
func parse(t *testing.T, data string) *cloudtrail.Record {
	t.Helper()
	recs, errs := cloudtrail.Decode("test", []byte(data))
	if len(errs) > 0 || len(recs) != 1 {
		t.Fatalf("decode: %d records, errors %v", len(recs), errs)
	}
	return recs[0]
}

// calls records the arguments of a fake's calls; fakes may be called from several goroutines.
type calls[T any] struct {
	mu  sync.Mutex
	got []T
}

func (c *calls[T]) add(v T) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.got = append(c.got, v)
}

func (c *calls[T]) all() []T {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]T(nil), c.got...)
}

// fakeRemediator is a watchdog.Remediator made of functions: apply answers for Plan and Do
// together, once per action carried out.
type fakeRemediator struct {
	describe func(a detect.Action) string
	apply    func(ctx context.Context, a detect.Action) (remediate.Undo, error)
}

func (r *fakeRemediator) Describe(a detect.Action) string { return r.describe(a) }

// Plan records the action in the undo record, which Do reads it back from.
func (r *fakeRemediator) Plan(_ context.Context, a detect.Action) (remediate.Undo, error) {
	return remediate.Undo{Action: a.Kind, Account: a.Account, Region: a.Region, UserName: a.UserName,
		AccessKeyID: a.AccessKeyID, PolicyARN: a.PolicyARN, PolicyName: a.PolicyName, Trail: a.Trail}, nil
}

func (r *fakeRemediator) Do(ctx context.Context, u remediate.Undo) error {
	_, err := r.apply(ctx, detect.Action{Kind: u.Action, Account: u.Account, Region: u.Region, UserName: u.UserName,
		AccessKeyID: u.AccessKeyID, PolicyARN: u.PolicyARN, PolicyName: u.PolicyName, Trail: u.Trail})
	return err
}

var _ watchdog.Remediator = (*fakeRemediator)(nil)

// fakeSink is a notify.Sink made of a function.
type fakeSink struct {
	notify func(ctx context.Context, a alert.Alert) (alert.Delivery, error)
}

func (s *fakeSink) Notify(ctx context.Context, a alert.Alert) (alert.Delivery, error) {
	return s.notify(ctx, a)
}

// describe is what the fake remediator says it would do.
func describe(a detect.Action) string {
	return fmt.Sprintf("%s %s of %s", a.Kind, a.AccessKeyID, a.UserName)
}

// applying is a remediator whose Apply answers with result and records each action.
func applying(applied *calls[detect.Action], result func(a detect.Action) (remediate.Undo, error)) *fakeRemediator {
	return &fakeRemediator{describe: describe, apply: func(_ context.Context, a detect.Action) (remediate.Undo, error) {
		applied.add(a)
		return result(a)
	}}
}

// reverted is a successful Apply's undo record.
func reverted(a detect.Action) (remediate.Undo, error) {
	return remediate.Undo{Action: a.Kind, Account: a.Account, UserName: a.UserName, AccessKeyID: a.AccessKeyID}, nil
}

// delivering is a sink that records each alert and answers with del and err.
func delivering(alerts *calls[alert.Alert], del alert.Delivery, err error) *fakeSink {
	return &fakeSink{notify: func(_ context.Context, a alert.Alert) (alert.Delivery, error) {
		alerts.add(a)
		return del, err
	}}
}

// openStore is the real file store, in a fresh directory.
func openStore(t *testing.T) *state.File {
	t.Helper()
	s, err := state.OpenFile(filepath.Join(t.TempDir(), "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// pipeline is a pipeline over the built-in rules, with the watchdog's own role configured.
func pipeline(mode policy.Mode, rem watchdog.Remediator, store state.Store, sink notify.Sink) *watchdog.Pipeline {
	return &watchdog.Pipeline{
		Detector:   detect.Default(),
		Config:     policy.Config{Mode: mode, SelfRoleARNs: []string{selfRole}},
		Remediator: rem,
		Store:      store,
		Sink:       sink,
		Owner:      "invocation-1",
	}
}

// ruleAlerts are the alerts of one rule: a rule added later may alert on the same records.
func ruleAlerts(c *calls[alert.Alert], rule string) []alert.Alert {
	var out []alert.Alert
	for _, a := range c.all() {
		if a.Finding.Rule == rule {
			out = append(out, a)
		}
	}
	return out
}

// keyAlerts are the alerts of the access-key rule.
func keyAlerts(c *calls[alert.Alert]) []alert.Alert { return ruleAlerts(c, keyRule) }

// keyActions are the access-key deactivations applied.
func keyActions(c *calls[detect.Action]) []detect.Action {
	var out []detect.Action
	for _, a := range c.all() {
		if a.Kind == detect.DeactivateAccessKey {
			out = append(out, a)
		}
	}
	return out
}

package remediate

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
)

// TestPlanOnlyReads: Plan changes nothing — the only IAM call it may make is GetUserPolicy,
// which saves an inline document before anything is deleted — and its undo record is the one
// Apply returns, so that a record stored before Do can reverse what Do then does.
func TestPlanOnlyReads(t *testing.T) {
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	const account = "111122223333"
	for _, a := range []detect.Action{
		{Kind: detect.DeactivateAccessKey, UserName: "bob", AccessKeyID: "AKIAEXAMPLE", Account: account},
		{Kind: detect.DetachUserPolicy, UserName: "bob", PolicyARN: adminPolicyARN, Account: account},
		{Kind: detect.DeleteUserPolicy, UserName: "bob", PolicyName: "p", Account: account},
		{Kind: detect.QuarantineUser, UserName: "bob", Account: account},
		{Kind: detect.RestartLogging, Trail: "main", Region: "eu-west-1", Account: account},
	} {
		t.Run(a.Kind, func(t *testing.T) {
			f := &fakeIAM{t: t, getUserPolicy: func(*iam.GetUserPolicyInput) (*iam.GetUserPolicyOutput, error) {
				return &iam.GetUserPolicyOutput{PolicyDocument: aws.String("%7B%7D")}, nil
			}}
			r := &Remediator{Clients: &fakeClients{iam: f}, QuarantinePolicyARN: "arn:aws:iam::111122223333:policy/q", Now: func() time.Time { return at }}
			u, err := r.Plan(t.Context(), a)
			if err != nil {
				t.Fatalf("Plan: %v", err)
			}
			for _, c := range f.calls {
				if c != "GetUserPolicy" {
					t.Errorf("Plan called %s", c)
				}
			}
			if u.Action != a.Kind || u.Account != account || u.At != at {
				t.Errorf("undo %+v does not name the action", u)
			}
			if a.Kind == detect.DeleteUserPolicy && u.PolicyDocument != "{}" {
				t.Errorf("undo %+v lacks the saved document", u)
			}
		})
	}
	if _, err := (&Remediator{}).Plan(t.Context(), detect.Action{Kind: detect.DetachUserPolicy, UserName: "bob"}); err == nil {
		t.Error("Plan of a detach without a policy ARN succeeded")
	}
}

// TestMayHaveActed: a request that was sent and got no answer, or whose answer was a server
// error, may have been acted on; one that never connected was not, and one answered with a
// refusal (4xx) says nothing was done.
func TestMayHaveActed(t *testing.T) {
	answered := func(status int, code string) error {
		return &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}}, Err: errors.New(code)}
	}
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"reset after sending", &smithyhttp.RequestSendError{Err: &net.OpError{Op: "read", Err: errors.New("connection reset by peer")}}, true},
		{"timeout", &smithyhttp.RequestSendError{Err: errors.New("context deadline exceeded (Client.Timeout exceeded while awaiting headers)")}, true},
		{"refused", &smithyhttp.RequestSendError{Err: &net.OpError{Op: "dial", Err: errors.New("connection refused")}}, false},
		{"reset, as the SDK wraps it", &smithyhttp.ResponseError{Response: &smithyhttp.Response{}, Err: &smithyhttp.RequestSendError{
			Err: &net.OpError{Op: "read", Err: errors.New("connection reset by peer")}}}, true},
		{"500 ServiceFailure", answered(http.StatusInternalServerError, "ServiceFailure"), true},
		{"503 ServiceUnavailable", answered(http.StatusServiceUnavailable, "ServiceUnavailable"), true},
		{"502 from a proxy", fmt.Errorf("attempt: %w", answered(http.StatusBadGateway, "")), true},
		{"404 NoSuchEntity", answered(http.StatusNotFound, "NoSuchEntity"), false},
		{"400 Throttling", answered(http.StatusBadRequest, "Throttling"), false},
		{"403 AccessDenied", answered(http.StatusForbidden, "AccessDenied"), false},
		{"answer without a response", &smithyhttp.ResponseError{Response: &smithyhttp.Response{}, Err: errors.New("NoSuchEntity")}, false},
		{"no error", nil, false},
	} {
		if got := mayHaveActed(tc.err); got != tc.want {
			t.Errorf("%s: mayHaveActed = %v, want %v", tc.name, got, tc.want)
		}
	}
}

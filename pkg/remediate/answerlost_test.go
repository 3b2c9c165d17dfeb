package remediate

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"

	"github.com/iam-watchdog/iam-watchdog/internal/faultproxy"
	"github.com/iam-watchdog/iam-watchdog/internal/mototest"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
)

// lossyIAM is a Remediator whose clients reach moto through a proxy that can lose IAM's
// answers, with the SDK's standard retryer (three attempts) and its backoff kept short.
func lossyIAM(t *testing.T, srv *mototest.Server, e *motoEnv) *faultproxy.Proxy {
	t.Helper()
	proxy := faultproxy.Start(t, srv.Endpoint)
	cfg := mototest.Config(t, proxy.URL)
	cfg.RetryMaxAttempts = 3 // mototest.Config asks for 2
	cfg.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) { o.MaxAttempts, o.MaxBackoff = 3, 10*time.Millisecond })
	}
	e.r.Clients = NewStatic(cfg, mototest.AccountID)
	return proxy
}

// mutatingCall is the one IAM call each action's Do makes.
var mutatingCall = map[string]string{
	detect.DeactivateAccessKey:                    "UpdateAccessKey",
	detect.DetachUserPolicy + "/aws_managed":      "DetachUserPolicy",
	detect.DetachUserPolicy + "/customer_managed": "DetachUserPolicy",
	detect.DeleteUserPolicy:                       "DeleteUserPolicy",
	detect.QuarantineUser:                         "AttachUserPolicy",
}

// revertFromStored reverses u from the record as it would be stored and read back, through
// clients straight to moto, and checks that the state is the one before Apply.
func revertFromStored(t *testing.T, srv *mototest.Server, e *motoEnv, sc scenario, a detect.Action, u Undo, before string) {
	t.Helper()
	e.r.Clients = NewStatic(srv.Config(t), mototest.AccountID)
	if err := e.r.Revert(t.Context(), storedAndReadBack(t, u)); err != nil {
		t.Fatalf("Revert from the stored undo record: %v", err)
	}
	if got := sc.state(t, e, a); got != before {
		t.Errorf("state after Revert = %q, want the state before Apply %q", got, before)
	}
}

// TestAnswerLostMoto holds issue 13, point 9 at the HTTP layer: IAM carries out the call, and
// its answer is lost — answered 500 or 503 in its place, or the connection reset. The SDK
// retries; a detach or a delete then meets NoSuchEntity, and the key and quarantine calls,
// being idempotent, succeed again. Each ends done, never "already reverted", with the undo
// record Plan built before acting (the inline document saved byte for byte), and Revert puts
// the state back from that record as stored.
func TestAnswerLostMoto(t *testing.T) {
	srv := mototest.StartManaged(t)
	faults := map[string]faultproxy.Fault{
		"500":   faultproxy.LoseAnswer(faultproxy.QueryError(http.StatusInternalServerError, "ServiceFailure", "Request processing has failed due to some unknown error, exception or failure.")),
		"503":   faultproxy.LoseAnswer(faultproxy.QueryError(http.StatusServiceUnavailable, "ServiceUnavailable", "Service is unable to handle request.")),
		"reset": faultproxy.ResetAfterForward(),
	}
	n := 100
	for _, sc := range scenarios() {
		op, ok := mutatingCall[sc.name]
		if !ok {
			continue // restart_logging: CloudTrail, whose StartLogging moto serves only by name
		}
		for faultName, fault := range faults {
			n++
			t.Run(sc.name+"/"+faultName, func(t *testing.T) {
				e := newMotoEnv(t, srv, srv.Endpoint, n)
				a := sc.setup(t, e)
				before := sc.state(t, e, a)
				proxy := lossyIAM(t, srv, e)
				lost := proxy.Inject(faultproxy.Op(op), fault, faultproxy.Times(1))

				u, err := e.r.Apply(t.Context(), a)
				if err != nil {
					t.Fatalf("Apply after a lost answer: %v (already reverted: %v); want done", err, errors.Is(err, ErrAlreadyReverted))
				}
				if proxy.Hits(lost) != 1 || proxy.Counts(op).Forwarded < 2 {
					t.Fatalf("the proxy lost %d answers of %d forwarded %s calls: the retry this test is about did not happen", proxy.Hits(lost), proxy.Counts(op).Forwarded, op)
				}
				if got := sc.state(t, e, a); got == before {
					t.Fatalf("state %q unchanged after a done Apply", got)
				}
				if u.Action != a.Kind || u.UserName != a.UserName || u.complete() != nil {
					t.Fatalf("undo record %+v is not the plan of %+v", u, a)
				}
				if a.Kind == detect.DeleteUserPolicy && u.PolicyDocument != inlineDocument {
					t.Fatalf("saved document differs from the original:\n got %q\nwant %q", u.PolicyDocument, inlineDocument)
				}
				revertFromStored(t, srv, e, sc, a, u, before)
			})
		}
	}
}

// TestEveryAnswerLostMoto: IAM answers every attempt 500 after acting on it (the proxy loses
// even the NoSuchEntity of the retries). The call fails, but it may have acted: the error wraps
// ErrMayHaveActed, never ErrAlreadyReverted, and Apply returns the plan as the undo record to
// keep, which reverses what was done.
func TestEveryAnswerLostMoto(t *testing.T) {
	srv := mototest.StartManaged(t)
	n := 200
	for _, sc := range scenarios() {
		op, ok := mutatingCall[sc.name]
		if !ok {
			continue
		}
		n++
		t.Run(sc.name, func(t *testing.T) {
			e := newMotoEnv(t, srv, srv.Endpoint, n)
			a := sc.setup(t, e)
			before := sc.state(t, e, a)
			proxy := lossyIAM(t, srv, e)
			proxy.Inject(faultproxy.Op(op), faultproxy.LoseAnswer(faultproxy.QueryError(http.StatusInternalServerError, "ServiceFailure", "Request processing has failed.")))

			u, err := e.r.Apply(t.Context(), a)
			if !errors.Is(err, ErrMayHaveActed) || errors.Is(err, ErrAlreadyReverted) {
				t.Fatalf("Apply = %v, want an error wrapping ErrMayHaveActed and not ErrAlreadyReverted", err)
			}
			if got := proxy.Counts(op).Forwarded; got != 3 {
				t.Fatalf("%d %s calls reached moto, want the SDK's 3 attempts", got, op)
			}
			if u.complete() != nil || u.Action != a.Kind {
				t.Fatalf("Apply returned undo record %+v with the error; want the plan, to keep", u)
			}
			revertFromStored(t, srv, e, sc, a, u, before)
		})
	}
}

// TestRefusedAnswerIsNoAction: an attempt IAM refuses (a 4xx: throttled, denied) was not acted
// on, so a NoSuchEntity after it is still somebody else's revert, and a failure is not "may
// have acted".
func TestRefusedAnswerIsNoAction(t *testing.T) {
	srv := mototest.StartManaged(t)
	e := newMotoEnv(t, srv, srv.Endpoint, 300)
	sc := scenarios()[1] // detach_user_policy/aws_managed
	a := sc.setup(t, e)
	proxy := lossyIAM(t, srv, e)
	// Throttled once (4xx, nothing done); meanwhile somebody else detaches the policy.
	proxy.Inject(faultproxy.Op("DetachUserPolicy"), faultproxy.IAMThrottling(), faultproxy.Times(1))
	e.fx().Detach(t, a.UserName, a.PolicyARN)
	_, err := e.r.Apply(t.Context(), a)
	if !errors.Is(err, ErrAlreadyReverted) || errors.Is(err, ErrMayHaveActed) {
		t.Fatalf("Apply = %v, want ErrAlreadyReverted: the throttled attempt did nothing", err)
	}
}

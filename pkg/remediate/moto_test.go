package remediate

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/iam-watchdog/iam-watchdog/internal/faultproxy"
	"github.com/iam-watchdog/iam-watchdog/internal/mototest"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
)

// These tests run every action against a real moto_server: they create the state a risky
// change leaves behind, Apply, read the state back from moto, Revert, and compare with what
// was there before.

const adminPolicyARN = "arn:aws:iam::aws:policy/AdministratorAccess"

// inlineDocument has spaces, newlines, tabs, non-ASCII text, '+' and '%' so that a restore
// that is not byte for byte (re-marshalled JSON, form-decoded '+') shows up.
const inlineDocument = "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\n\t\"Effect\": \"Allow\",\n" +
	"      \"Action\": [\"s3:GetObject\",  \"s3:ListBucket\"],\n" +
	"      \"Resource\": \"arn:aws:s3:::équipe-données/*\",\n" +
	"      \"Condition\": {\"StringLike\": {\"aws:PrincipalTag/team\": \"data+ops 100% ☃ 日本\"}}\n" +
	"    }\n  ]\n}\n"

var appliedAt = time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)

// motoEnv is one test's view of moto: SDK clients straight to moto for setting up and reading
// state, and a Remediator whose clients go through endpoint (moto, or a proxy in front of it).
type motoEnv struct {
	n   int // subtests share one server: names carry n to stay apart
	iam *iam.Client
	ct  *cloudtrail.Client
	s3  *s3.Client
	r   *Remediator
}

func newMotoEnv(t *testing.T, srv *mototest.Server, endpoint string, n int) *motoEnv {
	t.Helper()
	direct := srv.Config(t)
	return &motoEnv{
		n:   n,
		iam: iam.NewFromConfig(direct),
		ct:  cloudtrail.NewFromConfig(direct),
		s3:  s3.NewFromConfig(direct, func(o *s3.Options) { o.UsePathStyle = true }),
		r: &Remediator{
			Clients: NewStatic(mototest.Config(t, endpoint), mototest.AccountID),
			Now:     func() time.Time { return appliedAt },
		},
	}
}

// name makes base unique to this subtest.
func (e *motoEnv) name(base string) string { return fmt.Sprintf("%s-%d", base, e.n) }

// fx is the shared moto fixture over this view's clients.
func (e *motoEnv) fx() *mototest.Fixture {
	return &mototest.Fixture{IAM: e.iam, CloudTrail: e.ct, S3: e.s3}
}

func (e *motoEnv) createUser(t *testing.T, name string) { t.Helper(); e.fx().CreateUser(t, name) }

func (e *motoEnv) createKey(t *testing.T, user string) string {
	t.Helper()
	return e.fx().CreateKey(t, user)
}

func (e *motoEnv) keyStatus(t *testing.T, user, key string) string {
	t.Helper()
	if status, ok := e.fx().Keys(t, user)[key]; ok {
		return status
	}
	return "<no such key>"
}

func (e *motoEnv) createPolicy(t *testing.T, name string) string {
	t.Helper()
	return e.fx().CreatePolicy(t, name)
}

func (e *motoEnv) attach(t *testing.T, user, policyARN string) {
	t.Helper()
	e.fx().Attach(t, user, policyARN)
}

// attached lists the managed policies attached to user, sorted.
func (e *motoEnv) attached(t *testing.T, user string) []string {
	t.Helper()
	return e.fx().Attached(t, user)
}

func (e *motoEnv) putInline(t *testing.T, user, name, doc string) {
	t.Helper()
	e.fx().PutInline(t, user, name, doc)
}

// inline is the decoded document of user's inline policy name, or "<absent>".
func (e *motoEnv) inline(t *testing.T, user, name string) string {
	t.Helper()
	return e.fx().Inline(t, user, name)
}

// createStoppedTrail creates a trail over a new bucket and stops its logging.
func (e *motoEnv) createStoppedTrail(t *testing.T, name string) {
	t.Helper()
	e.fx().CreateStoppedTrail(t, name)
}

func (e *motoEnv) logging(t *testing.T, trail string) string {
	t.Helper()
	return fmt.Sprintf("logging=%t", e.fx().Logging(t, trail))
}

// scenario is one action with the moto state it acts on. setup creates the state a risky
// change left behind and returns the action; state snapshots what the action touches.
type scenario struct {
	name  string
	setup func(t *testing.T, e *motoEnv) detect.Action
	state func(t *testing.T, e *motoEnv, a detect.Action) string
}

// scenarios are every action's scenario. detach_user_policy/aws_managed attaches
// arn:aws:iam::aws:policy/AdministratorAccess, which moto has only with AWS managed policies
// loaded: the tests that run it take mototest.StartManaged, the others a plain mototest.Start.
func scenarios() []scenario {
	keyState := func(t *testing.T, e *motoEnv, a detect.Action) string {
		return e.keyStatus(t, a.UserName, a.AccessKeyID)
	}
	attachedState := func(t *testing.T, e *motoEnv, a detect.Action) string {
		return strings.Join(e.attached(t, a.UserName), " ")
	}
	return []scenario{
		{
			name: detect.DeactivateAccessKey,
			setup: func(t *testing.T, e *motoEnv) detect.Action {
				bob := e.name("bob")
				e.createUser(t, bob)
				e.createKey(t, bob) // another key of the user's, which must stay as it is
				key := e.createKey(t, bob)
				return detect.Action{Kind: detect.DeactivateAccessKey, UserName: bob, AccessKeyID: key, Account: mototest.AccountID}
			},
			state: keyState,
		},
		{
			name: detect.DetachUserPolicy + "/aws_managed",
			setup: func(t *testing.T, e *motoEnv) detect.Action {
				bob := e.name("bob")
				e.createUser(t, bob)
				other := e.createPolicy(t, e.name("Other"))
				e.attach(t, bob, other)
				e.attach(t, bob, adminPolicyARN)
				return detect.Action{Kind: detect.DetachUserPolicy, UserName: bob, PolicyARN: adminPolicyARN, Account: mototest.AccountID}
			},
			state: attachedState,
		},
		{
			name: detect.DetachUserPolicy + "/customer_managed",
			setup: func(t *testing.T, e *motoEnv) detect.Action {
				bob := e.name("bob")
				e.createUser(t, bob)
				arn := e.createPolicy(t, e.name("Broad"))
				e.attach(t, bob, arn)
				return detect.Action{Kind: detect.DetachUserPolicy, UserName: bob, PolicyARN: arn, Account: mototest.AccountID}
			},
			state: attachedState,
		},
		{
			name: detect.DeleteUserPolicy,
			setup: func(t *testing.T, e *motoEnv) detect.Action {
				bob := e.name("bob")
				e.createUser(t, bob)
				e.putInline(t, bob, "data-access", inlineDocument)
				return detect.Action{Kind: detect.DeleteUserPolicy, UserName: bob, PolicyName: "data-access", Account: mototest.AccountID}
			},
			state: func(t *testing.T, e *motoEnv, a detect.Action) string {
				return e.inline(t, a.UserName, a.PolicyName)
			},
		},
		{
			name: detect.QuarantineUser,
			setup: func(t *testing.T, e *motoEnv) detect.Action {
				bob := e.name("bob")
				e.createUser(t, bob)
				e.attach(t, bob, adminPolicyARN) // already there: must survive apply and revert
				e.r.QuarantinePolicyARN = e.createPolicy(t, e.name("watchdog-quarantine"))
				return detect.Action{Kind: detect.QuarantineUser, UserName: bob, Account: mototest.AccountID}
			},
			state: attachedState,
		},
		{
			name: detect.RestartLogging,
			setup: func(t *testing.T, e *motoEnv) detect.Action {
				trail := e.name("main")
				e.createStoppedTrail(t, trail)
				return detect.Action{Kind: detect.RestartLogging, Trail: trail, Region: "us-east-1", Account: mototest.AccountID}
			},
			state: func(t *testing.T, e *motoEnv, a detect.Action) string { return e.logging(t, a.Trail) },
		},
	}
}

func TestApplyRevertMoto(t *testing.T) {
	srv := mototest.StartManaged(t)
	wantApplied := map[string]func(e *motoEnv, a detect.Action) string{
		detect.DeactivateAccessKey:                    func(*motoEnv, detect.Action) string { return "Inactive" },
		detect.DetachUserPolicy + "/aws_managed":      func(e *motoEnv, _ detect.Action) string { return "arn:aws:iam::123456789012:policy/" + e.name("Other") },
		detect.DetachUserPolicy + "/customer_managed": func(*motoEnv, detect.Action) string { return "" },
		detect.DeleteUserPolicy:                       func(*motoEnv, detect.Action) string { return "<absent>" },
		detect.QuarantineUser: func(e *motoEnv, _ detect.Action) string {
			return strings.Join(sorted(adminPolicyARN, e.r.QuarantinePolicyARN), " ")
		},
		detect.RestartLogging: func(*motoEnv, detect.Action) string { return "logging=true" },
	}
	for i, sc := range scenarios() {
		applied, ok := wantApplied[sc.name]
		if !ok {
			t.Fatalf("no expected state for scenario %s", sc.name)
		}
		t.Run(sc.name, func(t *testing.T) {
			e := newMotoEnv(t, srv, srv.Endpoint, i)
			a := sc.setup(t, e)
			before := sc.state(t, e, a)

			u, err := e.r.Apply(t.Context(), a)
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if got, want := sc.state(t, e, a), applied(e, a); got != want {
				t.Fatalf("state after Apply = %q, want %q (before: %q)", got, want, before)
			}
			if u.Action != a.Kind || u.Account != a.Account || u.UserName != a.UserName || !u.At.Equal(appliedAt) {
				t.Errorf("Undo = %+v, does not match action %+v at %v", u, a, appliedAt)
			}
			if a.Kind == detect.DeleteUserPolicy && u.PolicyDocument != inlineDocument {
				t.Errorf("saved document differs from the original:\n got %q\nwant %q", u.PolicyDocument, inlineDocument)
			}

			// Revert from the record as stored, not from the value in memory.
			err = e.r.Revert(t.Context(), storedAndReadBack(t, u))
			if a.Kind == detect.RestartLogging {
				if !errors.Is(err, ErrIrreversible) {
					t.Fatalf("Revert(restart_logging) = %v, want ErrIrreversible", err)
				}
				if got := sc.state(t, e, a); got != "logging=true" {
					t.Errorf("after refused Revert: %s, want logging=true (a trail is never stopped)", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Revert: %v", err)
			}
			if got := sc.state(t, e, a); got != before {
				t.Errorf("state after Revert = %q, want the state before Apply %q", got, before)
			}
		})
	}
}

// TestApplyTwiceMoto pins down what repeating an action does: either it succeeds and changes
// nothing, or IAM answers NoSuchEntity and the error wraps ErrAlreadyReverted. Reverting twice
// is covered the same way.
func TestApplyTwiceMoto(t *testing.T) {
	srv := mototest.StartManaged(t)
	tests := map[string]struct {
		applyAgain, revertAgain error // nil: succeeds harmlessly
	}{
		detect.DeactivateAccessKey:                    {nil, nil},                // UpdateAccessKey to the status it has is a no-op
		detect.DetachUserPolicy + "/aws_managed":      {ErrAlreadyReverted, nil}, // detach of a detached policy: NoSuchEntity; re-attach is a no-op
		detect.DetachUserPolicy + "/customer_managed": {ErrAlreadyReverted, nil},
		detect.DeleteUserPolicy:                       {ErrAlreadyReverted, nil}, // GetUserPolicy of a deleted policy: NoSuchEntity; PutUserPolicy overwrites
		detect.QuarantineUser:                         {nil, ErrAlreadyReverted}, // attach is a no-op; second detach: NoSuchEntity
		detect.RestartLogging:                         {nil, ErrIrreversible},    // StartLogging on a logging trail is a no-op
	}
	for i, sc := range scenarios() {
		want, ok := tests[sc.name]
		if !ok {
			t.Fatalf("no expectation for scenario %s", sc.name)
		}
		t.Run(sc.name, func(t *testing.T) {
			e := newMotoEnv(t, srv, srv.Endpoint, i)
			a := sc.setup(t, e)
			before := sc.state(t, e, a)
			u, err := e.r.Apply(t.Context(), a)
			if err != nil {
				t.Fatalf("first Apply: %v", err)
			}
			applied := sc.state(t, e, a)

			u2, err := e.r.Apply(t.Context(), a)
			checkRepeat(t, "second Apply", err, want.applyAgain)
			if got := sc.state(t, e, a); got != applied {
				t.Errorf("second Apply changed state: %q, want %q", got, applied)
			}
			if err == nil && a.Kind != detect.RestartLogging && u2.UserName != a.UserName {
				t.Errorf("second Apply's Undo = %+v, want one for %s", u2, a.UserName)
			}

			err = e.r.Revert(t.Context(), u)
			if a.Kind == detect.RestartLogging {
				checkRepeat(t, "Revert", err, ErrIrreversible)
				return
			}
			if err != nil {
				t.Fatalf("first Revert: %v", err)
			}
			err = e.r.Revert(t.Context(), u)
			checkRepeat(t, "second Revert", err, want.revertAgain)
			if got := sc.state(t, e, a); got != before {
				t.Errorf("state after reverting twice = %q, want %q", got, before)
			}
		})
	}
}

func checkRepeat(t *testing.T, what string, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Errorf("%s: %v, want success", what, err)
	case want != nil && !errors.Is(err, want):
		t.Errorf("%s: %v, want an error wrapping %v", what, err, want)
	}
}

// TestMissingUserMoto acts on a user that does not exist: IAM answers NoSuchEntity, so the
// error wraps ErrAlreadyReverted and still names the user. The policies exist, so that the
// missing user is what IAM refuses.
func TestMissingUserMoto(t *testing.T) {
	srv := mototest.Start(t)
	e := newMotoEnv(t, srv, srv.Endpoint, 0)
	e.createUser(t, "bob")
	key := e.createKey(t, "bob")
	e.r.QuarantinePolicyARN = e.createPolicy(t, "watchdog-quarantine")
	broad := e.createPolicy(t, "Broad")
	for name, a := range map[string]detect.Action{
		"key of missing user": {Kind: detect.DeactivateAccessKey, UserName: "ghost", AccessKeyID: key},
		"missing key":         {Kind: detect.DeactivateAccessKey, UserName: "bob", AccessKeyID: "AKIADOESNOTEXIST0000"},
		"detach":              {Kind: detect.DetachUserPolicy, UserName: "ghost", PolicyARN: broad},
		"delete inline":       {Kind: detect.DeleteUserPolicy, UserName: "ghost", PolicyName: "data-access"},
		"quarantine":          {Kind: detect.QuarantineUser, UserName: "ghost"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := e.r.Apply(t.Context(), a)
			if !errors.Is(err, ErrAlreadyReverted) {
				t.Fatalf("Apply = %v, want an error wrapping ErrAlreadyReverted", err)
			}
			var apiErr smithy.APIError
			if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "NoSuchEntity" {
				t.Errorf("Apply = %v, want the NoSuchEntity API error kept in the chain", err)
			}
			if !strings.Contains(err.Error(), a.UserName) {
				t.Errorf("error %q does not name user %s", err, a.UserName)
			}
		})
	}
	if got := e.keyStatus(t, "bob", key); got != "Active" {
		t.Errorf("bob's key is %s after actions on other users/keys, want Active", got)
	}

	// AWS answers TrailNotFoundException; moto 5 fails with HTTP 500 (a KeyError). Either way
	// the error is a plain one naming the trail: a missing trail is not "already reverted".
	t.Run("missing trail", func(t *testing.T) {
		_, err := e.r.Apply(t.Context(), detect.Action{Kind: detect.RestartLogging, Trail: "ghost", Region: "us-east-1"})
		if err == nil || errors.Is(err, ErrAlreadyReverted) || !strings.Contains(err.Error(), "trail ghost") {
			t.Errorf("Apply = %v, want a plain error naming trail ghost", err)
		}
	})
}

// TestAccessDeniedMoto refuses one API call at a time and checks that the error is recognised
// as AccessDenied and that moto's state is exactly what it was before the refused step.
func TestAccessDeniedMoto(t *testing.T) {
	srv := mototest.StartManaged(t)
	tests := []struct {
		scenario string
		deny     string // API operation refused
		onRevert bool   // refuse during Revert instead of Apply
	}{
		{scenario: detect.DeactivateAccessKey, deny: "UpdateAccessKey"},
		{scenario: detect.DetachUserPolicy + "/aws_managed", deny: "DetachUserPolicy"},
		{scenario: detect.DeleteUserPolicy, deny: "GetUserPolicy"},
		{scenario: detect.DeleteUserPolicy, deny: "DeleteUserPolicy"},
		{scenario: detect.QuarantineUser, deny: "AttachUserPolicy"},
		{scenario: detect.RestartLogging, deny: "StartLogging"},
		{scenario: detect.DeactivateAccessKey, deny: "UpdateAccessKey", onRevert: true},
		{scenario: detect.DetachUserPolicy + "/aws_managed", deny: "AttachUserPolicy", onRevert: true},
		{scenario: detect.DeleteUserPolicy, deny: "PutUserPolicy", onRevert: true},
		{scenario: detect.QuarantineUser, deny: "DetachUserPolicy", onRevert: true},
	}
	byName := map[string]scenario{}
	for _, sc := range scenarios() {
		byName[sc.name] = sc
	}
	for i, tt := range tests {
		name := tt.scenario + "/" + tt.deny
		if tt.onRevert {
			name += "/revert"
		}
		t.Run(name, func(t *testing.T) {
			sc := byName[tt.scenario]
			e := newMotoEnv(t, srv, srv.Endpoint, i)
			a := sc.setup(t, e)
			proxy := faultproxy.Start(t, srv.Endpoint)
			// CloudTrail speaks the JSON protocol; IAM the query protocol.
			deny := proxy.Inject(faultproxy.Op(tt.deny), faultproxy.AccessDenied(tt.deny == "StartLogging"))
			refusing := NewStatic(mototest.Config(t, proxy.URL), mototest.AccountID)

			var want string
			var err error
			if tt.onRevert {
				u, aerr := e.r.Apply(t.Context(), a)
				if aerr != nil {
					t.Fatalf("Apply: %v", aerr)
				}
				want = sc.state(t, e, a)
				e.r.Clients = refusing
				err = e.r.Revert(t.Context(), u)
			} else {
				want = sc.state(t, e, a)
				e.r.Clients = refusing
				_, err = e.r.Apply(t.Context(), a)
			}

			if !IsAccessDenied(err) {
				t.Fatalf("err = %v, want AccessDenied", err)
			}
			if n := proxy.Hits(deny); n != 1 {
				t.Errorf("proxy refused %d calls, want 1 (AccessDenied must not be retried)", n)
			}
			if errors.Is(err, ErrAlreadyReverted) {
				t.Errorf("AccessDenied error %v wraps ErrAlreadyReverted", err)
			}
			if got := sc.state(t, e, a); got != want {
				t.Errorf("state after refused call = %q, want it unchanged: %q", got, want)
			}
		})
	}
}

// storedAndReadBack is u as a store would give it back: through encoding/json.
func storedAndReadBack(t *testing.T, u Undo) Undo {
	t.Helper()
	stored, err := json.Marshal(u)
	if err != nil {
		t.Fatal(err)
	}
	var replayed Undo
	if err := json.Unmarshal(stored, &replayed); err != nil {
		t.Fatal(err)
	}
	return replayed
}

func sorted(s ...string) []string {
	slices.Sort(s)
	return s
}

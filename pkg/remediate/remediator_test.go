package remediate

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/smithy-go"

	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
)

var errUnexpected = errors.New("unexpected call")

const quarantineARN = "arn:aws:iam::111122223333:policy/watchdog-quarantine"

func TestDescribe(t *testing.T) {
	r := &Remediator{QuarantinePolicyARN: quarantineARN}
	tests := []struct {
		a    detect.Action
		want []string
	}{
		{detect.Action{Kind: detect.DeactivateAccessKey, UserName: "bob", AccessKeyID: "AKIAEXAMPLE", Account: "111122223333"},
			[]string{"deactivate access key AKIAEXAMPLE of user bob in account 111122223333", "UpdateAccessKey → Inactive", "never deleted"}},
		{detect.Action{Kind: detect.DetachUserPolicy, UserName: "bob", PolicyARN: adminPolicyARN},
			[]string{"detach managed policy " + adminPolicyARN + " from user bob", "DetachUserPolicy", "re-attached on undo"}},
		{detect.Action{Kind: detect.DeleteUserPolicy, UserName: "bob", PolicyName: "data-access"},
			[]string{"delete inline policy data-access of user bob", "saves the document first", "put back"}},
		{detect.Action{Kind: detect.QuarantineUser, UserName: "bob"},
			[]string{"quarantine user bob", quarantineARN, "AttachUserPolicy", "detached on undo"}},
		{detect.Action{Kind: detect.RestartLogging, Trail: "main", Region: "eu-west-1"},
			[]string{"restart logging on trail main in eu-west-1", "StartLogging", "not undone"}},
		{detect.Action{}, []string{"no API can undo"}},
		{detect.Action{Kind: "delete_user"}, []string{`unknown remediation action "delete_user"`}},
	}
	for _, tt := range tests {
		t.Run(tt.a.Kind, func(t *testing.T) {
			got := r.Describe(tt.a)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("Describe = %q, want it to contain %q", got, w)
				}
			}
		})
	}
	t.Run("quarantine without policy", func(t *testing.T) {
		got := (&Remediator{}).Describe(detect.Action{Kind: detect.QuarantineUser, UserName: "bob"})
		if !strings.Contains(got, "no quarantine policy is configured") {
			t.Errorf("Describe = %q, want it to say no quarantine policy is configured", got)
		}
	})
}

// TestApplyRefuses checks actions Apply must refuse before making any call.
func TestApplyRefuses(t *testing.T) {
	tests := []struct {
		name string
		a    detect.Action
		want string
	}{
		{"unknown kind", detect.Action{Kind: "delete_user", UserName: "bob"}, `unknown remediation action "delete_user"`},
		{"no kind", detect.Action{UserName: "bob"}, "no remediation action"},
		{"quarantine without policy", detect.Action{Kind: detect.QuarantineUser, UserName: "bob"}, "no quarantine policy is configured"},
		{"key without ID", detect.Action{Kind: detect.DeactivateAccessKey, UserName: "bob"}, "no access key ID"},
		{"key without user", detect.Action{Kind: detect.DeactivateAccessKey, AccessKeyID: "AKIAEXAMPLE"}, "no user name"},
		{"detach without ARN", detect.Action{Kind: detect.DetachUserPolicy, UserName: "bob"}, "no policy ARN"},
		{"delete without name", detect.Action{Kind: detect.DeleteUserPolicy, UserName: "bob"}, "no policy name"},
		{"restart without trail", detect.Action{Kind: detect.RestartLogging, Region: "us-east-1"}, "no trail"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clients := &fakeClients{iam: &fakeIAM{t: t}}
			r := &Remediator{Clients: clients}
			_, err := r.Apply(t.Context(), tt.a)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Apply = %v, want an error containing %q", err, tt.want)
			}
			if len(clients.accounts) != 0 {
				t.Errorf("Apply asked for clients %v; it must refuse before any call", clients.accounts)
			}
		})
	}
}

// TestApplyCalls checks the exact request each action sends, the account and region it asks
// clients for, and the Undo it returns.
func TestApplyCalls(t *testing.T) {
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	const account = "111122223333"
	tests := []struct {
		a        detect.Action
		fake     func(t *testing.T, f *fakeIAM)
		wantUndo Undo
	}{
		{
			a: detect.Action{Kind: detect.DeactivateAccessKey, UserName: "bob", AccessKeyID: "AKIAEXAMPLE", Account: account},
			fake: func(t *testing.T, f *fakeIAM) {
				f.updateAccessKey = func(in *iam.UpdateAccessKeyInput) error {
					if aws.ToString(in.UserName) != "bob" || aws.ToString(in.AccessKeyId) != "AKIAEXAMPLE" || in.Status != types.StatusTypeInactive {
						t.Errorf("UpdateAccessKey(%s, %s, %s), want (bob, AKIAEXAMPLE, Inactive)", aws.ToString(in.UserName), aws.ToString(in.AccessKeyId), in.Status)
					}
					return nil
				}
			},
			wantUndo: Undo{Action: detect.DeactivateAccessKey, Account: account, UserName: "bob", AccessKeyID: "AKIAEXAMPLE", At: at},
		},
		{
			a: detect.Action{Kind: detect.DetachUserPolicy, UserName: "bob", PolicyARN: adminPolicyARN, Account: account},
			fake: func(t *testing.T, f *fakeIAM) {
				f.detachUserPolicy = func(in *iam.DetachUserPolicyInput) error {
					if aws.ToString(in.UserName) != "bob" || aws.ToString(in.PolicyArn) != adminPolicyARN {
						t.Errorf("DetachUserPolicy(%s, %s), want (bob, %s)", aws.ToString(in.UserName), aws.ToString(in.PolicyArn), adminPolicyARN)
					}
					return nil
				}
			},
			wantUndo: Undo{Action: detect.DetachUserPolicy, Account: account, UserName: "bob", PolicyARN: adminPolicyARN, At: at},
		},
		{
			a: detect.Action{Kind: detect.DeleteUserPolicy, UserName: "bob", PolicyName: "p", Account: account},
			fake: func(t *testing.T, f *fakeIAM) {
				f.getUserPolicy = func(*iam.GetUserPolicyInput) (*iam.GetUserPolicyOutput, error) {
					return &iam.GetUserPolicyOutput{PolicyDocument: aws.String("%7B%22a%22%3A%20%22b%22%7D")}, nil
				}
				f.deleteUserPolicy = func(in *iam.DeleteUserPolicyInput) error {
					if !slices.Equal(f.calls, []string{"GetUserPolicy", "DeleteUserPolicy"}) {
						t.Errorf("calls %v, want the document saved before the delete", f.calls)
					}
					return nil
				}
			},
			wantUndo: Undo{Action: detect.DeleteUserPolicy, Account: account, UserName: "bob", PolicyName: "p", PolicyDocument: `{"a": "b"}`, At: at},
		},
		{
			a: detect.Action{Kind: detect.QuarantineUser, UserName: "bob", Account: account},
			fake: func(t *testing.T, f *fakeIAM) {
				f.attachUserPolicy = func(in *iam.AttachUserPolicyInput) error {
					if aws.ToString(in.PolicyArn) != quarantineARN {
						t.Errorf("AttachUserPolicy(%s), want the quarantine policy %s", aws.ToString(in.PolicyArn), quarantineARN)
					}
					return nil
				}
			},
			wantUndo: Undo{Action: detect.QuarantineUser, Account: account, UserName: "bob", PolicyARN: quarantineARN, At: at},
		},
	}
	for _, tt := range tests {
		t.Run(tt.a.Kind, func(t *testing.T) {
			f := &fakeIAM{t: t}
			tt.fake(t, f)
			clients := &fakeClients{iam: f}
			r := &Remediator{Clients: clients, QuarantinePolicyARN: quarantineARN, Now: func() time.Time { return at }}
			u, err := r.Apply(t.Context(), tt.a)
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if u != tt.wantUndo {
				t.Errorf("Undo = %+v, want %+v", u, tt.wantUndo)
			}
			// Plan and Do each ask for the client (a delete asks in both): always of the action's account.
			if len(clients.accounts) == 0 || slices.ContainsFunc(clients.accounts, func(a string) bool { return a != account }) {
				t.Errorf("asked for clients of %v, want only %s", clients.accounts, account)
			}
		})
	}

	t.Run(detect.RestartLogging, func(t *testing.T) {
		var got string
		clients := &fakeClients{trail: &fakeTrail{startLogging: func(in *cloudtrail.StartLoggingInput) error {
			got = aws.ToString(in.Name)
			return nil
		}}}
		r := &Remediator{Clients: clients}
		u, err := r.Apply(t.Context(), detect.Action{Kind: detect.RestartLogging, Trail: "main", Region: "eu-west-1", Account: account})
		if err != nil {
			t.Fatalf("Apply: %v", err)
		}
		if got != "main" || !slices.Equal(clients.regions, []string{"eu-west-1"}) || u.Trail != "main" || u.Region != "eu-west-1" {
			t.Errorf("StartLogging(%q) in %v, Undo %+v; want trail main in eu-west-1", got, clients.regions, u)
		}
	})
}

// TestDeleteUserPolicyDocument checks how the saved document is decoded, and that nothing is
// deleted when it cannot be saved.
func TestDeleteUserPolicyDocument(t *testing.T) {
	tests := []struct {
		name    string
		encoded string
		want    string // "" means Apply fails without deleting
	}{
		{"RFC 3986", "%7B%0A%20%22k%22%3A%20%22a%2Bb%20%C3%A9%2025%25%22%7D", "{\n \"k\": \"a+b é 25%\"}"},
		{"literal plus stays plus", `{"k":"a+b"}`, `{"k":"a+b"}`},
		{"bad escape", `{"k":"100%zz"}`, ""},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeIAM{t: t,
				getUserPolicy: func(*iam.GetUserPolicyInput) (*iam.GetUserPolicyOutput, error) {
					return &iam.GetUserPolicyOutput{PolicyDocument: aws.String(tt.encoded)}, nil
				},
			}
			if tt.want != "" {
				f.deleteUserPolicy = func(*iam.DeleteUserPolicyInput) error { return nil }
			}
			r := &Remediator{Clients: &fakeClients{iam: f}}
			u, err := r.Apply(t.Context(), detect.Action{Kind: detect.DeleteUserPolicy, UserName: "bob", PolicyName: "p"})
			if tt.want == "" {
				if err == nil {
					t.Fatalf("Apply saved %q, want an error", u.PolicyDocument)
				}
				return
			}
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if u.PolicyDocument != tt.want {
				t.Errorf("saved %q, want %q", u.PolicyDocument, tt.want)
			}
		})
	}
}

func TestRevertCalls(t *testing.T) {
	t.Run("inline document is put back as saved", func(t *testing.T) {
		const doc = "{ \"k\" :\n\"☃\" }"
		var got string
		f := &fakeIAM{t: t, putUserPolicy: func(in *iam.PutUserPolicyInput) error {
			got = aws.ToString(in.PolicyDocument)
			return nil
		}}
		r := &Remediator{Clients: &fakeClients{iam: f}}
		if err := r.Revert(t.Context(), Undo{Action: detect.DeleteUserPolicy, UserName: "bob", PolicyName: "p", PolicyDocument: doc}); err != nil {
			t.Fatal(err)
		}
		if got != doc {
			t.Errorf("PutUserPolicy document %q, want %q", got, doc)
		}
	})
	// Lifting a quarantine detaches the watchdog's own quarantine policy for the user's account
	// and nothing else, whatever the undo record names: the record is data from the state
	// table, and this holds even for a record whose MAC were valid (defence in depth).
	const member = "111111111111"
	memberCopy := "arn:aws:iam::" + member + ":policy/iam-watchdog-quarantine"
	for _, tt := range []struct {
		name      string
		u         Undo
		detaches  string // "" for refused before any call
		refusedBy string
	}{
		{"the configured policy", Undo{Action: detect.QuarantineUser, Account: "111122223333", UserName: "bob", PolicyARN: quarantineARN}, quarantineARN, ""},
		{"the member account's copy", Undo{Action: detect.QuarantineUser, Account: member, UserName: "bob", PolicyARN: memberCopy}, memberCopy, ""},
		{"AdministratorAccess", Undo{Action: detect.QuarantineUser, UserName: "admin", PolicyARN: "arn:aws:iam::aws:policy/AdministratorAccess"}, "", "arn:aws:iam::aws:policy/AdministratorAccess"},
		{"another policy of the account", Undo{Action: detect.QuarantineUser, UserName: "bob", PolicyARN: "arn:aws:iam::111122223333:policy/old-quarantine"}, "", "old-quarantine"},
		{"the home policy in a member account", Undo{Action: detect.QuarantineUser, Account: member, UserName: "bob", PolicyARN: quarantineARN}, "", quarantineARN},
		{"the member copy's name in the home account", Undo{Action: detect.QuarantineUser, Account: "111122223333", UserName: "bob", PolicyARN: "arn:aws:iam::111122223333:policy/iam-watchdog-quarantine"}, "", "iam-watchdog-quarantine"},
	} {
		t.Run("quarantine: "+tt.name, func(t *testing.T) {
			var got string
			f := &fakeIAM{t: t}
			if tt.detaches != "" {
				f.detachUserPolicy = func(in *iam.DetachUserPolicyInput) error { got = aws.ToString(in.PolicyArn); return nil }
			}
			clients := &fakeClients{iam: f}
			r := &Remediator{Clients: clients, QuarantinePolicyARN: quarantineARN, MemberQuarantinePolicyName: "iam-watchdog-quarantine"}
			err := r.Revert(t.Context(), tt.u)
			if tt.detaches == "" {
				if err == nil || !strings.Contains(err.Error(), "refused") || !strings.Contains(err.Error(), tt.refusedBy) || !strings.Contains(err.Error(), "only ever detaches") {
					t.Fatalf("Revert = %v, want a refusal naming %s", err, tt.refusedBy)
				}
				if len(f.calls) != 0 || len(clients.accounts) != 0 {
					t.Errorf("Revert made calls %v for accounts %v; it must refuse before any", f.calls, clients.accounts)
				}
				return
			}
			if err != nil || got != tt.detaches {
				t.Fatalf("Revert = %v, detached %q; want %s detached", err, got, tt.detaches)
			}
		})
	}
	t.Run("quarantine without a configured policy", func(t *testing.T) {
		f := &fakeIAM{t: t}
		err := (&Remediator{Clients: &fakeClients{iam: f}}).Revert(t.Context(), Undo{Action: detect.QuarantineUser, UserName: "bob", PolicyARN: quarantineARN})
		if err == nil || !strings.Contains(err.Error(), "no quarantine policy is configured") || len(f.calls) != 0 {
			t.Fatalf("Revert = %v after calls %v; want a refusal saying no quarantine policy is configured", err, f.calls)
		}
	})

	refusals := []struct {
		name string
		u    Undo
		is   error
		want string
	}{
		{"restart logging", Undo{Action: detect.RestartLogging, Trail: "main"}, ErrIrreversible, "never stops a trail"},
		{"inline without document", Undo{Action: detect.DeleteUserPolicy, UserName: "bob", PolicyName: "p"}, nil, "no policy document"},
		{"unknown", Undo{Action: "delete_user", UserName: "bob"}, nil, `unknown remediation action "delete_user"`},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			clients := &fakeClients{iam: &fakeIAM{t: t}}
			err := (&Remediator{Clients: clients}).Revert(t.Context(), tt.u)
			if err == nil || !strings.Contains(err.Error(), tt.want) || (tt.is != nil && !errors.Is(err, tt.is)) {
				t.Fatalf("Revert = %v, want an error containing %q (wrapping %v)", err, tt.want, tt.is)
			}
			if len(clients.accounts) != 0 {
				t.Errorf("Revert asked for clients %v; it must refuse before any call", clients.accounts)
			}
		})
	}
}

func TestClientsError(t *testing.T) {
	crossAccount := errors.New("cross-account remediation needs the member role")
	r := &Remediator{Clients: &fakeClients{err: crossAccount}}
	_, err := r.Apply(t.Context(), detect.Action{Kind: detect.DeactivateAccessKey, UserName: "bob", AccessKeyID: "AKIAEXAMPLE", Account: "999999999999"})
	if !errors.Is(err, crossAccount) {
		t.Errorf("Apply = %v, want the Clients error", err)
	}
	if _, err := (&Remediator{}).Apply(t.Context(), detect.Action{Kind: detect.DeactivateAccessKey, UserName: "bob", AccessKeyID: "AKIAEXAMPLE"}); err == nil {
		t.Error("Apply with no Clients succeeded")
	}
}

// TestAPIErrors checks how IAM answers are classified through Apply's wrapping.
func TestAPIErrors(t *testing.T) {
	tests := []struct {
		code                string
		alreadyReverted, ad bool
	}{
		{"NoSuchEntity", true, false},
		{"AccessDenied", false, true},
		{"AccessDeniedException", false, true},
		{"UnauthorizedOperation", false, true},
		{"Throttling", false, false},
		{"LimitExceeded", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			apiErr := &smithy.GenericAPIError{Code: tt.code, Message: "m"}
			f := &fakeIAM{t: t, detachUserPolicy: func(*iam.DetachUserPolicyInput) error { return apiErr }}
			r := &Remediator{Clients: &fakeClients{iam: f}}
			_, err := r.Apply(t.Context(), detect.Action{Kind: detect.DetachUserPolicy, UserName: "bob", PolicyARN: adminPolicyARN})
			if got := errors.Is(err, ErrAlreadyReverted); got != tt.alreadyReverted {
				t.Errorf("errors.Is(%v, ErrAlreadyReverted) = %t, want %t", err, got, tt.alreadyReverted)
			}
			if got := IsAccessDenied(err); got != tt.ad {
				t.Errorf("IsAccessDenied(%v) = %t, want %t", err, got, tt.ad)
			}
			var got smithy.APIError
			if !errors.As(err, &got) || got.ErrorCode() != tt.code {
				t.Errorf("errors.As(%v) did not find the %s API error", err, tt.code)
			}
			if want := "detach " + adminPolicyARN + " from bob: "; !strings.HasPrefix(err.Error(), want) {
				t.Errorf("error %q does not start with %q", err, want)
			}
		})
	}
	for _, err := range []error{nil, errors.New("AccessDenied"), errUnexpected} {
		if IsAccessDenied(err) {
			t.Errorf("IsAccessDenied(%v) = true for an error with no API code", err)
		}
	}
}

func TestUndoJSON(t *testing.T) {
	u := Undo{
		Action: detect.DeleteUserPolicy, Account: "111122223333", Region: "us-east-1", UserName: "bob",
		AccessKeyID: "AKIAEXAMPLE", PolicyARN: adminPolicyARN, PolicyName: "p", PolicyDocument: "{\n \"k\": \"☃ <&>\"}",
		Trail: "main", At: time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC),
	}
	b, err := json.Marshal(u)
	if err != nil {
		t.Fatal(err)
	}
	var keys map[string]any
	if err := json.Unmarshal(b, &keys); err != nil {
		t.Fatal(err)
	}
	want := []string{"access_key_id", "account", "action", "at", "policy_arn", "policy_document", "policy_name", "region", "trail", "user_name"}
	got := make([]string, 0, len(keys))
	for k := range keys {
		got = append(got, k)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("JSON keys %v, want %v", got, want)
	}
	var back Undo
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back != u {
		t.Errorf("round trip = %+v, want %+v", back, u)
	}
}

func TestUndoCommand(t *testing.T) {
	if got, want := UndoCommand("3038ebd2-c98a-4c65-9b6e-e22506292313"), "watchdog undo 3038ebd2-c98a-4c65-9b6e-e22506292313"; got != want {
		t.Errorf("UndoCommand = %q, want %q", got, want)
	}
}

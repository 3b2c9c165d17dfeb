package remediate

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
)

// Remediator applies the reversible actions a finding proposes and reverts them from their
// Undo records. It makes one API call per action (two for delete_user_policy) and adds no
// retries of its own: throttling is retried by the SDK's standard retryer.
//
// Every Apply is safe to repeat. Repeating one either succeeds without changing anything
// (deactivate_access_key on an inactive key, quarantine_user on a quarantined user,
// restart_logging on a logging trail) or fails with ErrAlreadyReverted because IAM answers
// NoSuchEntity (detach_user_policy of a policy no longer attached, delete_user_policy of a
// deleted inline policy, anything on a deleted user or key). Revert behaves the same way.
//
// Within one call, an attempt whose answer was lost (no answer, or a 5xx) may have been acted
// on: a NoSuchEntity that follows it answers the watchdog's own change and is success, and a
// failure after it wraps ErrMayHaveActed (see attempts).
// An Undo does not record whether Apply found the state already in place, so reverting a
// repeated Apply still reverses it: it re-activates a key that was already inactive and
// detaches a quarantine policy an earlier finding attached. Idempotence per event belongs to
// the caller's store (one Apply per eventID).
type Remediator struct {
	Clients Clients
	// Snapshots, when set, are the audits' snapshots of users' policies: PlanAt reverts to the
	// one taken before the event (prior.go). Nil plans as Plan does.
	Snapshots PriorStates
	// RestoreInline lets PlanAt put an overwritten inline policy back to its snapshot document,
	// which needs iam:PutUserPolicy; without it the overwriting policy is deleted as ever and
	// the reason says what the snapshot held and how to put it back.
	RestoreInline bool
	// QuarantinePolicyARN is the managed policy quarantine_user attaches (the stack's
	// deny-unless-MFA policy). Empty means quarantine_user fails.
	QuarantinePolicyARN string
	// MemberQuarantinePolicyName is the name of the same policy in member accounts
	// (infra/member-role.yaml creates it): IAM attaches only a policy of the user's own
	// account, so a user elsewhere is quarantined with that account's copy.
	MemberQuarantinePolicyName string
	// Now stamps Undo.At; nil means time.Now.
	Now func() time.Time
}

// Reversible reports whether Revert can undo an action of this kind. Restarting logging is
// never undone: the watchdog never stops a trail.
func Reversible(kind string) bool { return kind != detect.RestartLogging }

// UndoCommand is the command a person runs to reverse the remediation of eventID.
func UndoCommand(eventID string) string { return "watchdog undo " + eventID }

// Describe says in one sentence what Apply would do for a, which API call it makes and how it
// is undone. It calls nothing.
func (r *Remediator) Describe(a detect.Action) string {
	switch a.Kind {
	case detect.DeactivateAccessKey:
		return fmt.Sprintf("deactivate access key %s of user %s%s (UpdateAccessKey → Inactive; never deleted; re-activated on undo)", a.AccessKeyID, a.UserName, inAccount(a.Account))
	case detect.DetachUserPolicy:
		return fmt.Sprintf("detach managed policy %s from user %s%s (DetachUserPolicy; re-attached on undo)", a.PolicyARN, a.UserName, inAccount(a.Account))
	case detect.DeleteUserPolicy:
		return fmt.Sprintf("delete inline policy %s of user %s%s (GetUserPolicy saves the document first, then DeleteUserPolicy; put back unchanged on undo)", a.PolicyName, a.UserName, inAccount(a.Account))
	case detect.QuarantineUser:
		policy, err := r.quarantinePolicy(a.Account)
		if err != nil {
			return fmt.Sprintf("quarantine user %s%s — not possible: %v", a.UserName, inAccount(a.Account), err)
		}
		return fmt.Sprintf("quarantine user %s%s by attaching the deny-unless-MFA policy %s (AttachUserPolicy; detached on undo)", a.UserName, inAccount(a.Account), policy)
	case detect.RestartLogging:
		return fmt.Sprintf("restart logging on trail %s in %s%s (StartLogging; not undone: the watchdog never stops a trail)", a.Trail, regionOr(a.Region), inAccount(a.Account))
	case "":
		return "no API can undo this change; a person must act"
	default:
		return fmt.Sprintf("unknown remediation action %q: nothing will be done", a.Kind)
	}
}

// Apply performs a and returns what Revert needs to reverse it: Plan, then Do. On error
// nothing was changed (a delete_user_policy whose DeleteUserPolicy fails has only read the
// document), except when the error wraps ErrMayHaveActed: then the change may have been made,
// and the plan is returned with the error, as the undo record to keep. An error wraps
// ErrAlreadyReverted when IAM answers NoSuchEntity to the watchdog's first attempt;
// IsAccessDenied tells a missing permission apart.
func (r *Remediator) Apply(ctx context.Context, a detect.Action) (Undo, error) {
	u, err := r.Plan(ctx, a)
	if err != nil {
		return Undo{}, err
	}
	if err := r.Do(ctx, u); err != nil {
		if errors.Is(err, ErrMayHaveActed) {
			return u, err
		}
		return Undo{}, err
	}
	return u, nil
}

// Plan returns the Undo record of a before anything is changed: everything Do needs to perform
// a and Revert needs to reverse it. It only reads: for delete_user_policy it saves the inline
// document (GetUserPolicy), so that the document can be stored before Do deletes it; for
// quarantine_user it settles which policy to attach. A caller that stores the record before
// calling Do can always reverse a Do that was cut short, and can resume it (see Do).
func (r *Remediator) Plan(ctx context.Context, a detect.Action) (Undo, error) {
	u := Undo{Action: a.Kind, Account: a.Account, Region: a.Region, UserName: a.UserName, At: r.now()}
	switch a.Kind {
	case detect.DeactivateAccessKey:
		u.AccessKeyID = a.AccessKeyID
		return u, u.complete()
	case detect.DetachUserPolicy:
		u.PolicyARN = a.PolicyARN
		return u, u.complete()
	case detect.DeleteUserPolicy:
		if err := need(a.Kind, "user name", a.UserName, "policy name", a.PolicyName); err != nil {
			return Undo{}, err
		}
		doc, err := r.saveInline(ctx, a.Account, a.UserName, a.PolicyName)
		if err != nil {
			return Undo{}, err
		}
		u.PolicyName, u.PolicyDocument = a.PolicyName, doc
		return u, nil
	case detect.QuarantineUser:
		if err := need(a.Kind, "user name", a.UserName); err != nil {
			return Undo{}, err
		}
		policy, err := r.quarantinePolicy(a.Account)
		if err != nil {
			return Undo{}, fmt.Errorf("quarantine user %s: %w", a.UserName, err)
		}
		u.PolicyARN = policy
		return u, nil
	case detect.RestartLogging:
		u.UserName, u.Trail = "", a.Trail
		return u, u.complete()
	case "":
		return Undo{}, errors.New("no remediation action: no API can undo this change")
	default:
		return Undo{}, fmt.Errorf("unknown remediation action %q", a.Kind)
	}
}

// Do performs the action u records (as Plan made it): one API call. It is safe to repeat, as
// Apply is. A NoSuchEntity from IAM wraps ErrAlreadyReverted — unless an earlier attempt of the
// same call (the SDK's retry) went unanswered or was answered with a server error: IAM may have
// acted on that attempt, and the NoSuchEntity is then the answer to the watchdog's own change,
// which Do reports as done. Any other failure after such an attempt wraps ErrMayHaveActed.
func (r *Remediator) Do(ctx context.Context, u Undo) error {
	if err := u.complete(); err != nil {
		return err
	}
	switch u.Action {
	case detect.DeactivateAccessKey:
		return r.setKeyStatus(ctx, u.Account, u.UserName, u.AccessKeyID, types.StatusTypeInactive)
	case detect.DetachUserPolicy:
		return r.detach(ctx, u.Account, u.UserName, u.PolicyARN)
	case detect.DeleteUserPolicy:
		if u.RestoreDocument != "" {
			return r.restoreInline(ctx, u)
		}
		c, err := r.iam(ctx, u.Account)
		if err != nil {
			return err
		}
		var calls attempts
		_, err = c.DeleteUserPolicy(ctx, &iam.DeleteUserPolicyInput{UserName: aws.String(u.UserName), PolicyName: aws.String(u.PolicyName)}, calls.watch)
		return calls.outcome(err, "delete inline policy %s of user %s", u.PolicyName, u.UserName)
	case detect.QuarantineUser:
		return r.attach(ctx, u.Account, u.UserName, u.PolicyARN)
	case detect.RestartLogging:
		ct, err := r.trail(ctx, u.Account, u.Region)
		if err != nil {
			return err
		}
		var calls attempts
		_, err = ct.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String(u.Trail)}, calls.watchTrail)
		return calls.outcome(err, "start logging on trail %s in %s", u.Trail, regionOr(u.Region))
	case "":
		return errors.New("no remediation action: no API can undo this change")
	default:
		return fmt.Errorf("unknown remediation action %q", u.Action)
	}
}

// Revert reverses what Apply did, from u alone: it re-activates the key, re-attaches the
// detached policy, puts the saved inline document back byte for byte, or detaches the
// quarantine policy (only the one the remediator is configured with for that account: a record
// naming any other policy is refused). restart_logging is never reverted: Revert returns an error wrapping
// ErrIrreversible. NoSuchEntity (say, the quarantine policy was already detached, or the user
// is gone) wraps ErrAlreadyReverted.
func (r *Remediator) Revert(ctx context.Context, u Undo) error {
	if err := u.complete(); err != nil {
		return err
	}
	switch u.Action {
	case detect.DeactivateAccessKey:
		return r.setKeyStatus(ctx, u.Account, u.UserName, u.AccessKeyID, types.StatusTypeActive)
	case detect.DetachUserPolicy:
		return r.attach(ctx, u.Account, u.UserName, u.PolicyARN)
	case detect.DeleteUserPolicy:
		return r.putInline(ctx, u.Account, u.UserName, u.PolicyName, u.PolicyDocument, "put inline policy %s back on user %s")
	case detect.QuarantineUser:
		// The undo record names the policy to detach, and a record is data from outside: only
		// ever the watchdog's own quarantine policy for that account is detached, whatever it
		// says, so a record naming an administrator's policy cannot turn an undo into a revoke.
		want, err := r.quarantinePolicy(u.Account)
		if err != nil {
			return fmt.Errorf("lift the quarantine of user %s: %w", u.UserName, err)
		}
		if u.PolicyARN != want {
			return fmt.Errorf("lift the quarantine of user %s: refused: the undo record names %s, and lifting a quarantine only ever detaches the watchdog's quarantine policy %s", u.UserName, u.PolicyARN, want)
		}
		return r.detach(ctx, u.Account, u.UserName, want)
	case detect.RestartLogging:
		return fmt.Errorf("restarting logging on trail %s is not undone: the watchdog never stops a trail on anyone's behalf (stop it yourself if you must): %w", u.Trail, ErrIrreversible)
	default:
		return fmt.Errorf("cannot revert unknown remediation action %q", u.Action)
	}
}

func (r *Remediator) setKeyStatus(ctx context.Context, account, user, key string, status types.StatusType) error {
	c, err := r.iam(ctx, account)
	if err != nil {
		return err
	}
	var calls attempts
	_, err = c.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{
		UserName: aws.String(user), AccessKeyId: aws.String(key), Status: status,
	}, calls.watch)
	return calls.outcome(err, "set access key %s of user %s to %s", key, user, status)
}

func (r *Remediator) attach(ctx context.Context, account, user, policyARN string) error {
	c, err := r.iam(ctx, account)
	if err != nil {
		return err
	}
	var calls attempts
	_, err = c.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String(user), PolicyArn: aws.String(policyARN)}, calls.watch)
	return calls.outcome(err, "attach %s to %s", policyARN, user)
}

func (r *Remediator) detach(ctx context.Context, account, user, policyARN string) error {
	c, err := r.iam(ctx, account)
	if err != nil {
		return err
	}
	var calls attempts
	_, err = c.DetachUserPolicy(ctx, &iam.DetachUserPolicyInput{UserName: aws.String(user), PolicyArn: aws.String(policyARN)}, calls.watch)
	return calls.outcome(err, "detach %s from %s", policyARN, user)
}

// saveInline returns the document of a user's inline policy. GetUserPolicy returns it
// URL-encoded (RFC 3986); it is decoded with url.PathUnescape, which, unlike QueryUnescape,
// leaves a literal '+' alone, as RFC 3986 and the AWS SDKs' own decoders do.
func (r *Remediator) saveInline(ctx context.Context, account, user, name string) (string, error) {
	c, err := r.iam(ctx, account)
	if err != nil {
		return "", err
	}
	out, err := c.GetUserPolicy(ctx, &iam.GetUserPolicyInput{UserName: aws.String(user), PolicyName: aws.String(name)})
	if err != nil {
		return "", wrap(err, "save inline policy %s of user %s", name, user)
	}
	doc, err := url.PathUnescape(aws.ToString(out.PolicyDocument))
	if err != nil {
		return "", fmt.Errorf("save inline policy %s of user %s: decode document: %w", name, user, err)
	}
	if doc == "" {
		return "", fmt.Errorf("save inline policy %s of user %s: IAM returned an empty document; not deleting what could not be saved", name, user)
	}
	return doc, nil
}

func (r *Remediator) iam(ctx context.Context, account string) (IAMAPI, error) {
	if r.Clients == nil {
		return nil, errors.New("remediator has no clients")
	}
	c, err := r.Clients.IAM(ctx, account)
	if err != nil {
		return nil, fmt.Errorf("IAM client: %w", err)
	}
	return c, nil
}

func (r *Remediator) trail(ctx context.Context, account, region string) (TrailAPI, error) {
	if r.Clients == nil {
		return nil, errors.New("remediator has no clients")
	}
	c, err := r.Clients.CloudTrail(ctx, account, region)
	if err != nil {
		return nil, fmt.Errorf("CloudTrail client for %s: %w", regionOr(region), err)
	}
	return c, nil
}

func (r *Remediator) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// complete fails when u lacks a value its action needs.
func (u Undo) complete() error {
	switch u.Action {
	case detect.DeactivateAccessKey:
		return need(u.Action, "user name", u.UserName, "access key ID", u.AccessKeyID)
	case detect.DetachUserPolicy, detect.QuarantineUser:
		return need(u.Action, "user name", u.UserName, "policy ARN", u.PolicyARN)
	case detect.DeleteUserPolicy:
		return need(u.Action, "user name", u.UserName, "policy name", u.PolicyName, "policy document", u.PolicyDocument)
	case detect.RestartLogging:
		return need(u.Action, "trail", u.Trail)
	}
	return nil
}

// need fails when any of the named values (name, value, name, value, …) is empty.
func need(kind string, pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] == "" {
			return fmt.Errorf("%s: action has no %s", kind, pairs[i])
		}
	}
	return nil
}

func inAccount(account string) string {
	if account == "" {
		return ""
	}
	return " in account " + account
}

func regionOr(region string) string {
	if region == "" {
		return "the default region"
	}
	return region
}

// quarantinePolicy is the quarantine policy to attach to a user of account: the configured one
// in its own account, the member copy in any other.
func (r *Remediator) quarantinePolicy(account string) (string, error) {
	if r.QuarantinePolicyARN == "" {
		return "", errors.New("no quarantine policy is configured (quarantine_policy_arn, or QUARANTINE_POLICY_ARN in the Lambda)")
	}
	parts := strings.SplitN(r.QuarantinePolicyARN, ":", 6)
	if len(parts) < 6 || account == "" || parts[4] == account {
		return r.QuarantinePolicyARN, nil
	}
	if r.MemberQuarantinePolicyName == "" {
		return "", fmt.Errorf("the quarantine policy %s is in account %s, and no member-account policy name is configured for account %s", r.QuarantinePolicyARN, parts[4], account)
	}
	return "arn:" + parts[1] + ":iam::" + account + ":policy/" + r.MemberQuarantinePolicyName, nil
}

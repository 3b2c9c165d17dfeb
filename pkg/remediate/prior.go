package remediate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
)

// PriorStates reads the audits' snapshots of users' policies (pkg/auditstore in production):
// the last known state that remediation reverts to.
type PriorStates interface {
	// UserBefore returns user's own policies in account as the latest snapshot taken before t
	// records them. When there is no such snapshot, or it does not hold the user, it returns a
	// Prior with Known false and Why saying so, and no error; an error means the snapshots could
	// not be read (or were refused: one that fails authentication is no evidence).
	UserBefore(ctx context.Context, account, user string, t time.Time) (Prior, error)
}

// Prior is one user's own policies as a snapshot records them.
type Prior struct {
	// Known is true when a snapshot taken before the event holds the user.
	Known bool
	// Why says why the prior state is unknown, when it is.
	Why     string
	TakenAt time.Time
	// Attached are managed policy ARNs; Inline maps inline policy names to their documents.
	Attached []string
	Inline   map[string]string
	// FullAdmin names the inline policies whose snapshot document allows every action on every
	// resource: such a document is never put back, whatever the snapshot says.
	FullAdmin []string
}

// ErrPriorState is wrapped into PlanAt's error when the snapshot taken before the event shows
// the event changed nothing: the managed policy was already attached, or the inline policy
// already held the same document. Nothing is done, and the error says so and when the
// snapshot was taken; the caller reports the remediation skipped.
var ErrPriorState = errors.New("the audit snapshot taken before the event shows it was already so")

// PlanAt is Plan for an event at eventTime, reverting to the last audit's snapshot taken before
// it when r.Snapshots has one (the last known good):
//   - detach_user_policy of a policy the snapshot shows attached plans nothing and returns an
//     error wrapping ErrPriorState: the event attached what was attached;
//   - delete_user_policy of an inline policy the snapshot shows with another document plans to
//     put that document back (RestoreDocument), with RestoreInline; without it, the policy is
//     deleted as Plan would, and Prior says what the snapshot held and how to put it back;
//     the same document plans nothing (ErrPriorState); no such policy deletes as Plan would.
//
// Prior says what was found; without a snapshot before the event, or when the snapshots cannot
// be read, the plan is Plan's and Prior says that the prior state is unknown, and why. Other
// actions, and a Remediator without Snapshots, plan as Plan does.
func (r *Remediator) PlanAt(ctx context.Context, a detect.Action, eventTime time.Time) (Undo, error) {
	if r.Snapshots == nil || (a.Kind != detect.DetachUserPolicy && a.Kind != detect.DeleteUserPolicy) {
		return r.Plan(ctx, a)
	}
	prior, err := r.prior(ctx, a, eventTime)
	if err != nil {
		prior = Prior{Why: err.Error()}
	}
	if !prior.Known {
		u, err := r.Plan(ctx, a)
		u.Prior = "prior state unknown: " + prior.Why
		return u, err
	}
	taken := prior.TakenAt.UTC().Format(time.RFC3339)
	if a.Kind == detect.DetachUserPolicy {
		if slices.Contains(prior.Attached, a.PolicyARN) {
			return Undo{}, fmt.Errorf("not detached: the audit snapshot of %s shows %s attached to user %s before this event, which changed nothing: %w", taken, a.PolicyARN, a.UserName, ErrPriorState)
		}
		u, err := r.Plan(ctx, a)
		u.Prior = fmt.Sprintf("the audit snapshot of %s shows it was not attached before this event", taken)
		return u, err
	}

	u, err := r.Plan(ctx, a)
	if err != nil {
		return u, err
	}
	before, existed := prior.Inline[a.PolicyName]
	switch {
	case !existed:
		u.Prior = fmt.Sprintf("the audit snapshot of %s shows no inline policy %s on user %s before this event", taken, a.PolicyName, a.UserName)
	case sameDocument(before, u.PolicyDocument):
		return Undo{}, fmt.Errorf("not deleted: the audit snapshot of %s shows inline policy %s of user %s with this same document before this event, which changed nothing: %w", taken, a.PolicyName, a.UserName, ErrPriorState)
	case slices.Contains(prior.FullAdmin, a.PolicyName):
		u.Prior = fmt.Sprintf("the audit snapshot of %s shows inline policy %s held another document before this event, one that allows every action on every resource, so it is not put back", taken, a.PolicyName)
	case r.RestoreInline:
		u.RestoreDocument = before
		u.Prior = fmt.Sprintf("put inline policy %s of user %s%s back to the document the audit snapshot of %s shows before this event (PutUserPolicy), instead of deleting it; undo puts the overwriting document back", a.PolicyName, a.UserName, inAccount(a.Account), taken)
	default:
		u.Prior = fmt.Sprintf("the audit snapshot of %s shows inline policy %s held another document before this event: %s. It is not put back, since that needs iam:PutUserPolicy, which the watchdog's role holds only with RestoreInlinePolicies; to put it back with your own credentials: %s (`watchdog undo` puts back the deleted, overwriting document instead)",
			taken, a.PolicyName, before, putCommand(a.UserName, a.PolicyName, before))
	}
	return u, nil
}

// prior asks the snapshots about a's user as it was before eventTime.
func (r *Remediator) prior(ctx context.Context, a detect.Action, eventTime time.Time) (Prior, error) {
	if eventTime.IsZero() {
		return Prior{Why: "the event has no time, so no snapshot can be said to come before it"}, nil
	}
	p, err := r.Snapshots.UserBefore(ctx, a.Account, a.UserName, eventTime)
	if err != nil {
		return Prior{}, fmt.Errorf("the audit snapshots could not be read: %w", err)
	}
	if !p.Known && p.Why == "" {
		p.Why = "no audit snapshot taken before the event holds user " + a.UserName
	}
	return p, nil
}

// Explain is the reason of a done remediation: the plan's description, what and, when a snapshot
// was asked, what it showed. A restore replaces the description, since nothing was deleted.
func Explain(what string, u Undo) string {
	switch {
	case u.RestoreDocument != "":
		return u.Prior
	case u.Prior != "":
		return what + "; " + u.Prior
	}
	return what
}

// restoreInline puts an inline policy back to its snapshot document.
func (r *Remediator) restoreInline(ctx context.Context, u Undo) error {
	return r.putInline(ctx, u.Account, u.UserName, u.PolicyName, u.RestoreDocument, "put inline policy %s of user %s back to its snapshot document")
}

// putInline puts doc as user's inline policy name; what says what was being done (with the
// policy and user names).
func (r *Remediator) putInline(ctx context.Context, account, user, name, doc, what string) error {
	c, err := r.iam(ctx, account)
	if err != nil {
		return err
	}
	var calls attempts
	_, err = c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{
		UserName: aws.String(user), PolicyName: aws.String(name), PolicyDocument: aws.String(doc),
	}, calls.watch)
	return calls.outcome(err, what, name, user)
}

// sameDocument compares two policy documents as JSON values (IAM may return the one it was given
// with other spacing or key order), and byte for byte when either is not JSON.
func sameDocument(a, b string) bool {
	var va, vb any
	if json.Unmarshal([]byte(a), &va) != nil || json.Unmarshal([]byte(b), &vb) != nil {
		return a == b
	}
	ja, errA := json.Marshal(va)
	jb, errB := json.Marshal(vb)
	return errA == nil && errB == nil && bytes.Equal(ja, jb)
}

// putCommand is the AWS CLI command that puts doc back as a user's inline policy, quoted for a
// POSIX shell.
func putCommand(user, name, doc string) string {
	var compact bytes.Buffer
	if json.Compact(&compact, []byte(doc)) == nil {
		doc = compact.String()
	}
	return "aws iam put-user-policy --user-name " + shellQuote(user) + " --policy-name " + shellQuote(name) + " --policy-document " + shellQuote(doc)
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

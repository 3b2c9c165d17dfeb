package slackaction_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/iam-watchdog/iam-watchdog/pkg/alert"
	"github.com/iam-watchdog/iam-watchdog/pkg/policy"
	"github.com/iam-watchdog/iam-watchdog/pkg/remediate"
	"github.com/iam-watchdog/iam-watchdog/pkg/slackaction"
)

// answerLost carries an action out for real and then reports what the SDK reports when every
// attempt's answer was lost after IAM may have acted (remediate.ErrMayHaveActed).
type answerLost struct{ slackaction.Remediator }

func (r answerLost) Do(ctx context.Context, u remediate.Undo) error {
	if err := r.Remediator.Do(ctx, u); err != nil {
		return err
	}
	return fmt.Errorf("set access key %s of user %s to Inactive: %w: 500 ServiceFailure", u.AccessKeyID, u.UserName, remediate.ErrMayHaveActed)
}

// A Revert now whose call may have acted before its answer was lost keeps the undo record and
// names the undo command: the change may be in place, and `watchdog undo` must be able to
// reverse it.
func TestRevertNowKeepsTheUndoRecordWhenTheAnswerIsLost(t *testing.T) {
	w := newWorld(t, policy.Approve)
	keyID := w.newKey("bob")
	key := w.alert("answer-lost-1", "bob", keyID)
	w.h.Remediator = answerLost{w.h.Remediator}
	w.serve(request(alert.Revert, key, approver, time.Now(), signingSecret))

	if w.keyStatus("bob", keyID) != iamtypes.StatusTypeInactive {
		t.Fatalf("key %s: the remediator was to act", w.keyStatus("bob", keyID))
	}
	e := w.entry(key)
	o := w.pieces(e).Outcome
	if o == nil || o.Status != remediate.Failed || o.Undo != remediate.UndoCommand("answer-lost-1") {
		t.Fatalf("outcome %+v: want failed, naming `watchdog undo answer-lost-1`", o)
	}
	if u := w.undoText(e); !strings.Contains(u, keyID) {
		t.Errorf("undo record %q: want the plan kept", u)
	}
}

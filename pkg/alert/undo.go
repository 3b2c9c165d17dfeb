package alert

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/remediate"
	"github.com/iam-watchdog/iam-watchdog/pkg/state"
)

// Reverter is the one remediation call undoing an event makes (remediate.Remediator).
type Reverter interface {
	Revert(ctx context.Context, u remediate.Undo) error
}

var _ Reverter = (*remediate.Remediator)(nil)

// UndoMarker is what `watchdog undo` writes before it reverses an action, in the same store as
// the action's record, under MarkerKey of the action's exact target. It is how the pipeline
// tells the undo's own change from anyone else's (nothing in the request can: a user agent is
// the caller's to choose), and how a second undo knows the first one ran.
//
// Those who run `watchdog undo` may write only keys starting with undo# (template.yaml's
// UndoPrincipalArns) and make no MAC, so a marker vouches for nothing on its own: it is honoured
// only for a change by the identity it names, within the grace period, re-applying exactly what
// the record it names (which the Codec reads, and vouches for) shows the watchdog reverted.
type UndoMarker struct {
	// StateKey is the record (eventID#rule) of the action undone.
	StateKey string `json:"state_key"`
	// Undoer is the ARN the undo's credentials act as (STS GetCallerIdentity), which its calls
	// carry in CloudTrail as userIdentity.arn.
	Undoer string `json:"undoer"`
	// At is when the marker was written, just before the undo's call.
	At time.Time `json:"at"`
	// UndoneAt is when the undo's call succeeded; zero while it has not (yet).
	UndoneAt time.Time `json:"undone_at,omitzero"`
}

// markerPrefix starts every undo marker's key; the table's resource policy lets undo principals
// write these keys only.
const markerPrefix = "undo#"

// IsMarkerKey says whether key names an undo marker rather than an alert.
func IsMarkerKey(key string) bool { return strings.HasPrefix(key, markerPrefix) }

// MarkerKey is the key of the undo marker of an action's exact target:
// undo#<action>#<account>#<user>#<thing>, the thing being the access key ID
// (deactivate_access_key), the policy ARN (detach_user_policy; quarantine_user: the quarantine
// policy) or the inline policy's name (delete_user_policy). An action and an undo record name
// the same target exactly when their keys are equal. It is "" for an action with no target a
// marker can name (restart_logging, which is never undone).
func MarkerKey(action, account, user, accessKeyID, policyARN, policyName string) string {
	var thing string
	switch action {
	case detect.DeactivateAccessKey:
		thing = accessKeyID
	case detect.DetachUserPolicy, detect.QuarantineUser:
		thing = policyARN
	case detect.DeleteUserPolicy:
		thing = policyName
	default:
		return ""
	}
	if user == "" || thing == "" {
		return ""
	}
	// IAM user names hold no '#', and the thing comes last: the parts cannot run into each other.
	return markerPrefix + action + "#" + account + "#" + user + "#" + thing
}

func markerKeyOfPlan(u remediate.Undo) string {
	return MarkerKey(u.Action, u.Account, u.UserName, u.AccessKeyID, u.PolicyARN, u.PolicyName)
}

func markerKeyOfAction(a detect.Action) string {
	return MarkerKey(a.Kind, a.Account, a.UserName, a.AccessKeyID, a.PolicyARN, a.PolicyName)
}

// marker reads the undo marker at key; found is false when there is none.
func (s Records) marker(ctx context.Context, key string) (m UndoMarker, found bool, err error) {
	se, err := s.Store.Get(ctx, key)
	if errors.Is(err, state.ErrNotFound) {
		return m, false, nil
	}
	if err != nil {
		return m, false, fmt.Errorf("read undo marker %s: %w", key, err)
	}
	if err := json.Unmarshal(se.Body, &m); err != nil {
		return m, false, fmt.Errorf("undo marker %s: %w", key, err)
	}
	return m, true, nil
}

// writeMarker changes the undo marker at key (creating it) in one conditional write.
func (s Records) writeMarker(ctx context.Context, key string, change func(*UndoMarker)) error {
	_, err := s.Store.Update(ctx, key, func(se *state.Entry) error {
		var m UndoMarker
		if len(se.Body) > 0 {
			// An unreadable marker is replaced: it vouched for nothing anyway.
			_ = json.Unmarshal(se.Body, &m)
		}
		change(&m)
		body, err := json.Marshal(m)
		if err != nil {
			return err
		}
		se.Body = body
		return nil
	})
	if err != nil {
		return fmt.Errorf("write undo marker %s: %w", key, err)
	}
	return nil
}

// Recorded reports whether the store holds a record of some action for eventID: what `watchdog
// undo` looks up before it asks for credentials. Reading whether a record exists needs no Codec.
func Recorded(ctx context.Context, records Records, eventID string) (bool, error) {
	for _, r := range detect.Rules() {
		if r.Action == "" {
			continue
		}
		_, err := records.Get(ctx, Key(eventID, r.ID))
		if err == nil {
			return true, nil
		}
		if !errors.Is(err, state.ErrNotFound) {
			return false, err
		}
	}
	return false, nil
}

// UndoEvent reverses every action recorded for eventID, saying what became of each on w. Before
// each call it writes the action's undo marker, naming undoer (the ARN its credentials act as),
// and after it the time it succeeded. An action is already undone when its marker says so, or,
// for records an older watchdog or a Slack click wrote, when the record does. It reports whether
// anything at all was recorded for the event. `watchdog undo` runs it, and the demo shows it.
func UndoEvent(ctx context.Context, records Records, rem Reverter, eventID, undoer string, w io.Writer) (found bool, err error) {
	now := time.Now
	// Every record of the event is read and checked before anything is reverted: one that fails
	// its check (tampered with, or sealed with another key) stops the undo before it acts at all.
	type recorded struct {
		rule string
		e    Entry
		p    Pieces
	}
	var all []recorded
	for _, r := range detect.Rules() {
		if r.Action == "" {
			continue
		}
		e, err := records.Get(ctx, Key(eventID, r.ID))
		if errors.Is(err, state.ErrNotFound) {
			continue
		}
		if err != nil {
			return found, err
		}
		found = true
		p, err := records.Codec.Open(ctx, e)
		if err != nil {
			return found, fmt.Errorf("undo event %s: nothing was undone: %s: %w", eventID, r.ID, err)
		}
		all = append(all, recorded{r.ID, e, p})
	}
	for _, rec := range all {
		rule, e, p := rec.rule, rec.e, rec.p
		switch {
		case p.Plan == nil:
			fmt.Fprintf(w, "%s: nothing to undo (no action was taken: %s)\n", rule, outcomeText(p.Outcome))
			continue
		case !e.UndoneAt.IsZero():
			fmt.Fprintf(w, "%s: already undone at %s\n", rule, e.UndoneAt.UTC().Format(time.RFC3339))
			continue
		}
		u := *p.Plan
		key := markerKeyOfPlan(u)
		if key == "" {
			// Nothing a marker could name: Revert says why it will not (restart_logging).
			if err := rem.Revert(ctx, u); err != nil {
				return found, fmt.Errorf("undo %s for event %s: %w", u.Action, eventID, err)
			}
			fmt.Fprintf(w, "%s: undone %s\n", rule, u.Action)
			continue
		}
		m, ok, err := records.marker(ctx, key)
		if err != nil {
			return found, err
		}
		if ok && m.StateKey == e.Key && !m.UndoneAt.IsZero() {
			fmt.Fprintf(w, "%s: already undone at %s\n", rule, m.UndoneAt.UTC().Format(time.RFC3339))
			continue
		}
		// The marker goes first: the pipeline may handle the undo's own call before this
		// returns, and must find it.
		if err := records.writeMarker(ctx, key, func(m *UndoMarker) {
			*m = UndoMarker{StateKey: e.Key, Undoer: undoer, At: now()}
		}); err != nil {
			return found, fmt.Errorf("undo %s for event %s: nothing was undone: %w", u.Action, eventID, err)
		}
		if err := rem.Revert(ctx, u); err != nil {
			return found, fmt.Errorf("undo %s for event %s: %w", u.Action, eventID, err)
		}
		if err := records.writeMarker(ctx, key, func(m *UndoMarker) {
			if m.StateKey == e.Key {
				m.UndoneAt = now()
			}
		}); err != nil {
			return found, fmt.Errorf("undone, but recording it failed: %w", err)
		}
		fmt.Fprintf(w, "%s: undone %s\n", rule, u.Action)
	}
	return found, nil
}

// markerSkew is how far before a marker's time the undo's own call may appear in CloudTrail:
// the marker carries the undoer's clock, the event AWS's.
const markerSkew = 5 * time.Minute

// ReappliedUndo returns the undo marker that makes a finding the undo's own change, which is not
// to be reverted: the marker of the finding's exact target names the finding's actor (actorARN,
// userIdentity.arn), eventTime lies within grace after the marker's time (or markerSkew before
// it), and the record the marker names shows that the watchdog acted on exactly that target.
// Otherwise it returns nil and, when there was a marker, why it was not honoured. grace 0
// honours no marker.
//
// A marker or record that cannot be read is not honoured either, and the change is reverted as
// usual: undo principals write markers, and one they made unreadable must not stop remediation.
func (s Records) ReappliedUndo(ctx context.Context, a detect.Action, actorARN string, eventTime time.Time, grace time.Duration) (*UndoMarker, string) {
	key := markerKeyOfAction(a)
	if key == "" || grace <= 0 {
		return nil, ""
	}
	m, ok, err := s.marker(ctx, key)
	switch {
	case err != nil:
		return nil, err.Error()
	case !ok:
		return nil, ""
	case m.Undoer == "" || m.Undoer != actorARN:
		return nil, "the undo marker " + key + " names another undoer (" + m.Undoer + ")"
	case eventTime.IsZero() || eventTime.Before(m.At.Add(-markerSkew)) || eventTime.After(m.At.Add(grace)):
		return nil, fmt.Sprintf("the undo marker %s is from %s, outside the grace period of %s", key, m.At.UTC().Format(time.RFC3339), grace)
	case m.StateKey == "" || IsMarkerKey(m.StateKey) || IsFloodKey(m.StateKey):
		return nil, "the undo marker " + key + " names no alert record"
	}
	e, err := s.Get(ctx, m.StateKey)
	if err != nil {
		return nil, "the record the undo marker " + key + " names cannot be read: " + err.Error()
	}
	p, err := s.Codec.Open(ctx, e)
	if err != nil {
		return nil, "the record the undo marker " + key + " names does not hold up: " + err.Error()
	}
	if p.Plan == nil || markerKeyOfPlan(*p.Plan) != key {
		return nil, "the record the undo marker " + key + " names (" + m.StateKey + ") shows no action by the watchdog on this target"
	}
	return &m, ""
}

func outcomeText(o *remediate.Outcome) string {
	if o == nil || o.Status == "" {
		return "no outcome recorded"
	}
	return string(o.Status) + ", " + o.Reason
}

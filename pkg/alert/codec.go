package alert

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/iam-watchdog/iam-watchdog/pkg/cloudtrail"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/remediate"
)

// Pieces are the pieces of authority a record holds: what the watchdog may do about the finding
// (Action), what it planned or did and how to reverse it (Plan, the undo record), how that ended
// (Outcome), and the alert as posted (Alert). A later click in Slack and `watchdog undo` act on
// them, so whoever can write the state table could otherwise choose what the watchdog does.
// Nil means absent.
type Pieces struct {
	Action  *detect.Action
	Plan    *remediate.Undo
	Outcome *remediate.Outcome
	// Alert is kept without its Thread (the record's own fields are the thread) and without
	// the CloudTrail record: only where it was read.
	Alert *Alert
}

// Codec is the one place where the pieces of authority are written into a record and read
// back: every stored action, plan, outcome and alert passes through Seal and Open, and nothing
// else can reach them (Record keeps them unexported). That is where a check that they are the
// watchdog's own (a MAC over the record's key and pieces) belongs.
type Codec struct{}

// storedAlert is an alert as kept in the state table, so that a later click can render its
// message again. The CloudTrail record is left out (its request parameters can be large and
// say more than the message does); only where it was read is kept.
type storedAlert struct {
	Finding     detect.Finding       `json:"finding"`
	Remediation *remediate.Outcome   `json:"remediation,omitempty"`
	Pos         *cloudtrail.Position `json:"pos,omitempty"`
}

// Seal writes p into e's record, replacing every piece it held: a piece p leaves nil is
// removed. To change one piece, Open the record, change it, and Seal them all.
func (Codec) Seal(_ context.Context, e *Entry, p Pieces) error {
	var s sealed
	var err error
	if s.Action, err = marshal(p.Action); err != nil {
		return fmt.Errorf("record %s: action: %w", e.Key, err)
	}
	if s.Undo, err = marshal(p.Plan); err != nil {
		return fmt.Errorf("record %s: undo record: %w", e.Key, err)
	}
	if s.Outcome, err = marshal(p.Outcome); err != nil {
		return fmt.Errorf("record %s: outcome: %w", e.Key, err)
	}
	if p.Alert != nil {
		st := storedAlert{Finding: p.Alert.Finding, Remediation: p.Alert.Remediation}
		if rec := p.Alert.Finding.Record; rec != nil {
			pos := rec.Pos
			st.Pos = &pos
		}
		st.Finding.Record = nil
		if s.Alert, err = json.Marshal(st); err != nil {
			return fmt.Errorf("record %s: alert: %w", e.Key, err)
		}
	}
	e.sealed = s
	return nil
}

// Open reads the pieces of e's record.
func (Codec) Open(_ context.Context, e Entry) (Pieces, error) {
	var p Pieces
	var err error
	if p.Action, err = unmarshal[detect.Action](e.sealed.Action); err != nil {
		return Pieces{}, fmt.Errorf("record %s: stored action: %w", e.Key, err)
	}
	if p.Plan, err = unmarshal[remediate.Undo](e.sealed.Undo); err != nil {
		return Pieces{}, fmt.Errorf("record %s: stored undo record: %w", e.Key, err)
	}
	if p.Outcome, err = unmarshal[remediate.Outcome](e.sealed.Outcome); err != nil {
		return Pieces{}, fmt.Errorf("record %s: stored outcome: %w", e.Key, err)
	}
	st, err := unmarshal[storedAlert](e.sealed.Alert)
	if err != nil {
		return Pieces{}, fmt.Errorf("record %s: stored alert: %w", e.Key, err)
	}
	if st != nil {
		p.Alert = &Alert{Finding: st.Finding, Remediation: st.Remediation}
		if st.Pos != nil {
			p.Alert.Finding.Record = &cloudtrail.Record{Pos: *st.Pos}
		}
	}
	return p, nil
}

// Amend changes some of e's pieces: it opens them, lets change edit them, and seals them again.
func (c Codec) Amend(ctx context.Context, e *Entry, change func(*Pieces)) error {
	p, err := c.Open(ctx, *e)
	if err != nil {
		return err
	}
	change(&p)
	return c.Seal(ctx, e, p)
}

// Shown is the alert e's message shows now, with its thread, and where the message is. window
// is the flood window, for the wording of a burst.
func (c Codec) Shown(ctx context.Context, e Entry, window time.Duration) (Alert, Delivery, error) {
	p, err := c.Open(ctx, e)
	if err != nil {
		return Alert{}, Delivery{}, err
	}
	if p.Alert == nil {
		return Alert{}, Delivery{}, fmt.Errorf("record %s holds no alert to render", e.Key)
	}
	a := *p.Alert
	a.Thread = &Thread{Key: e.Key, Status: e.Status, By: e.StatusBy, Since: e.StatusSince, Group: e.Group, Window: window}
	return a, e.Message(), nil
}

func marshal[T any](v *T) (json.RawMessage, error) {
	if v == nil {
		return nil, nil
	}
	return json.Marshal(v)
}

func unmarshal[T any](raw json.RawMessage) (*T, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	v := new(T)
	if err := json.Unmarshal(raw, v); err != nil {
		return nil, err
	}
	return v, nil
}

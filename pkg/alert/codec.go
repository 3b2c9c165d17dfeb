package alert

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
	// Alert is kept without its Thread (the record's own fields are the thread). Of its
	// CloudTrail record only where it was read, the raw record and its detail-type are kept:
	// the raw record (stored as the piece "event") is what Revert now runs the rules on again.
	Alert *Alert
}

// Codec is the one place where the pieces of authority are written into a record and read
// back: every stored action, plan, outcome and alert passes through Seal and Open, and nothing
// else can reach them (Record keeps them unexported).
//
// With a state key (KeyARN), Seal stores beside the pieces a MAC over the record's key and
// every piece (kms:GenerateMac), and Open refuses, with an *UnauthenticatedError, a record whose
// MAC does not verify (kms:VerifyMac) or that holds pieces and no MAC. Nothing is cached: each
// Open is one VerifyMac, each Seal one GenerateMac. The zero Codec stores and reads the pieces
// unauthenticated, which only the CLI's own state file may do.
type Codec struct {
	// KeyARN is the KMS HMAC key (STATE_KEY_ARN, state_key_arn); empty for no key.
	KeyARN string
	// KMS makes and checks the MACs with KeyARN.
	KMS MACAPI
}

// Authenticated reports whether the codec authenticates records.
func (c Codec) Authenticated() bool { return c.KeyARN != "" }

// storedAlert is an alert as kept in the state table, so that a later click can render its
// message again. The CloudTrail record is kept apart (storedEvent); only where it was read is
// kept here.
type storedAlert struct {
	Finding     detect.Finding       `json:"finding"`
	Remediation *remediate.Outcome   `json:"remediation,omitempty"`
	Pos         *cloudtrail.Position `json:"pos,omitempty"`
}

// storedEvent is a finding's CloudTrail record, byte for byte as it was read, and the
// detail-type of the EventBridge envelope it came in (empty for a record read from a log).
// A record over plainEventBytes is kept gzip-compressed: an EventBridge event may be 256 KB,
// and the record of a burst's leader also holds its group, within DynamoDB's 400 KB an item.
type storedEvent struct {
	DetailType string `json:"detail_type,omitempty"`
	// Record is the raw record as a JSON string (so its bytes stay exactly as read).
	Record string `json:"record,omitempty"`
	// Gzip is the raw record gzip-compressed (base64 in JSON), in place of Record.
	Gzip []byte `json:"gzip,omitempty"`
}

// plainEventBytes is the largest raw record kept uncompressed, and maxEventGzipBytes the most
// a compressed one may take: with base64's third more, and a full burst's group (MaxGroup keys
// and targets, about 120 KB), the item stays within DynamoDB's 400 KB. A record that does not
// compress that far (padded with random text, say) is not kept: the alert is stored all the
// same, and Revert now, having nothing to check the action against, refuses.
const (
	plainEventBytes   = 16 << 10
	maxEventGzipBytes = 160 << 10
)

// Seal writes p into e's record, replacing every piece it held: a piece p leaves nil is
// removed. To change one piece, Open the record, change it, and Seal them all. With a state
// key it makes the record's MAC (one kms:GenerateMac).
func (c Codec) Seal(ctx context.Context, e *Entry, p Pieces) error {
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
			if s.Event, err = sealEvent(rec); err != nil {
				return fmt.Errorf("record %s: CloudTrail record: %w", e.Key, err)
			}
		}
		st.Finding.Record = nil
		if s.Alert, err = json.Marshal(st); err != nil {
			return fmt.Errorf("record %s: alert: %w", e.Key, err)
		}
	}
	if c.Authenticated() {
		if err := c.sign(ctx, e.Key, &s); err != nil {
			return err
		}
	}
	e.sealed = s
	return nil
}

// Open reads the pieces of e's record. With a state key it first checks the record's MAC (one
// kms:VerifyMac; none for a record that holds no piece), and decodes exactly the bytes checked.
func (c Codec) Open(ctx context.Context, e Entry) (Pieces, error) {
	s := e.sealed
	if c.Authenticated() {
		if err := c.check(ctx, e.Key, &s); err != nil {
			return Pieces{}, err
		}
	}
	var p Pieces
	var err error
	if p.Action, err = unmarshal[detect.Action](s.Action); err != nil {
		return Pieces{}, fmt.Errorf("record %s: stored action: %w", e.Key, err)
	}
	if p.Plan, err = unmarshal[remediate.Undo](s.Undo); err != nil {
		return Pieces{}, fmt.Errorf("record %s: stored undo record: %w", e.Key, err)
	}
	if p.Outcome, err = unmarshal[remediate.Outcome](s.Outcome); err != nil {
		return Pieces{}, fmt.Errorf("record %s: stored outcome: %w", e.Key, err)
	}
	st, err := unmarshal[storedAlert](s.Alert)
	if err != nil {
		return Pieces{}, fmt.Errorf("record %s: stored alert: %w", e.Key, err)
	}
	ev, err := openEvent(s.Event)
	if err != nil {
		return Pieces{}, fmt.Errorf("record %s: stored CloudTrail record: %w", e.Key, err)
	}
	if st != nil {
		p.Alert = &Alert{Finding: st.Finding, Remediation: st.Remediation}
		if st.Pos != nil || ev != nil {
			rec := &cloudtrail.Record{}
			if st.Pos != nil {
				rec.Pos = *st.Pos
			}
			if ev != nil {
				rec.Raw, rec.DetailType = ev.raw, ev.detailType
			}
			p.Alert.Finding.Record = rec
		}
	}
	return p, nil
}

// sealEvent is the event piece of rec, nil when rec holds no raw record.
func sealEvent(rec *cloudtrail.Record) (json.RawMessage, error) {
	if len(rec.Raw) == 0 {
		return nil, nil
	}
	se := storedEvent{DetailType: rec.DetailType}
	if len(rec.Raw) <= plainEventBytes {
		se.Record = string(rec.Raw)
	} else {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		if _, err := zw.Write(rec.Raw); err != nil {
			return nil, err
		}
		if err := zw.Close(); err != nil {
			return nil, err
		}
		if b.Len() > maxEventGzipBytes {
			return nil, nil
		}
		se.Gzip = b.Bytes()
	}
	return json.Marshal(se)
}

// openedEvent is an event piece read back.
type openedEvent struct {
	raw        json.RawMessage
	detailType string
}

// openEvent reads an event piece, nil when there is none. A compressed record may expand to no
// more than cloudtrail.MaxRecordBytes, the most the parser would read anyway.
func openEvent(raw json.RawMessage) (*openedEvent, error) {
	se, err := unmarshal[storedEvent](raw)
	if err != nil || se == nil {
		return nil, err
	}
	ev := &openedEvent{detailType: se.DetailType, raw: json.RawMessage(se.Record)}
	if len(se.Gzip) > 0 {
		zr, err := gzip.NewReader(bytes.NewReader(se.Gzip))
		if err != nil {
			return nil, err
		}
		data, err := io.ReadAll(io.LimitReader(zr, cloudtrail.MaxRecordBytes+1))
		if err != nil {
			return nil, err
		}
		if len(data) > cloudtrail.MaxRecordBytes {
			return nil, fmt.Errorf("expands past %d bytes", cloudtrail.MaxRecordBytes)
		}
		ev.raw = data
	}
	if len(ev.raw) == 0 {
		return nil, errors.New("holds no record")
	}
	return ev, nil
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

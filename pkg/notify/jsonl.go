package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/iam-watchdog/iam-watchdog/pkg/alert"
	"github.com/iam-watchdog/iam-watchdog/pkg/remediate"
)

// JSONLRow is one line of `--output jsonl`. Users' scripts read these field names: add fields,
// never rename or remove one. Values are as the event gave them, not cleaned or escaped; JSON
// encoding is what makes them safe here.
type JSONLRow struct {
	EventID     string            `json:"event_id"`
	Rule        string            `json:"rule"`
	Category    string            `json:"category"`
	Severity    string            `json:"severity"` // info, low, medium, high or critical
	Title       string            `json:"title"`
	Actor       string            `json:"actor"` // the actor's ARN
	Target      string            `json:"target"`
	Account     string            `json:"account"`
	Region      string            `json:"region"`
	EventTime   string            `json:"event_time"`  // RFC 3339, UTC; "" when the record had none
	Remediation *JSONLRemediation `json:"remediation"` // null when the rule has no remediation

	ActorType string `json:"actor_type"`
	SourceIP  string `json:"source_ip"`
	UserAgent string `json:"user_agent"`
	EventName string `json:"event_name"`
	Why       string `json:"why"`
	Manual    string `json:"manual,omitempty"`
	// Source is where the record was read (file, line, index), absent when unknown.
	Source string `json:"source,omitempty"`
}

// JSONLRemediation is a row's remediation. It copies remediate.Outcome field by field rather
// than embedding it, so that a change there cannot silently change this contract.
type JSONLRemediation struct {
	Action string `json:"action"`
	Status string `json:"status"`
	Reason string `json:"reason"`
	Undo   string `json:"undo,omitempty"`
}

// NewJSONLRow flattens an alert into a row.
func NewJSONLRow(a alert.Alert) JSONLRow {
	f := a.Finding
	row := JSONLRow{
		EventID:   f.EventID,
		Rule:      f.Rule,
		Category:  f.Category,
		Severity:  f.Severity.String(),
		Title:     f.Title,
		Actor:     f.Actor.ARN,
		Target:    f.Target,
		Account:   f.Account,
		Region:    f.Region,
		ActorType: f.Actor.Type,
		SourceIP:  f.Actor.SourceIP,
		UserAgent: f.Actor.UserAgent,
		EventName: f.EventName,
		Why:       f.Why,
		Manual:    f.Manual,
	}
	if !f.EventTime.IsZero() {
		row.EventTime = f.EventTime.UTC().Format(time.RFC3339)
	}
	if o := a.Remediation; o != nil {
		row.Remediation = newJSONLRemediation(*o)
	}
	if f.Record != nil {
		row.Source = f.Record.Pos.String()
	}
	return row
}

func newJSONLRemediation(o remediate.Outcome) *JSONLRemediation {
	return &JSONLRemediation{Action: o.Action, Status: string(o.Status), Reason: o.Reason, Undo: o.Undo}
}

// JSONL writes one JSON object per alert per line, for scripts and `jq`.
type JSONL struct {
	mu  sync.Mutex
	enc *json.Encoder
}

var _ Sink = (*JSONL)(nil)

// NewJSONL writes to w.
func NewJSONL(w io.Writer) *JSONL {
	enc := json.NewEncoder(w)
	// Keep ARNs and user agents greppable as written: "<" stays "<", not "\u003c".
	enc.SetEscapeHTML(false)
	return &JSONL{enc: enc}
}

// Notify writes one row. The encoder writes a row and its newline in one Write, and the mutex
// keeps rows from several goroutines whole.
func (j *JSONL) Notify(_ context.Context, a alert.Alert) (alert.Delivery, error) {
	row := NewJSONLRow(a)
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.enc.Encode(row); err != nil {
		return alert.Delivery{}, fmt.Errorf("write alert for event %s as JSON: %w", a.Finding.EventID, err)
	}
	return alert.Delivery{}, nil
}

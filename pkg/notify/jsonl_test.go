package notify

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"

	"github.com/iam-watchdog/iam-watchdog/internal/alerttest"
	"github.com/iam-watchdog/iam-watchdog/pkg/alert"
)

// contractKeys are the keys users' scripts rely on; extraKeys are always present too.
var (
	contractKeys = []string{"event_id", "rule", "category", "severity", "title", "actor", "target", "account", "region", "event_time", "remediation"}
	extraKeys    = []string{"actor_type", "source_ip", "user_agent", "event_name", "why"}
)

func TestJSONLRows(t *testing.T) {
	tests := []struct {
		name            string
		alert           alert.Alert
		optional        []string // keys present beyond contract and extra ones
		wantSeverity    string
		wantRemediation any
	}{
		{"planned", alerttest.Planned(), []string{"source"}, "high",
			map[string]any{"action": "deactivate_access_key", "status": "planned", "reason": "mode is dry-run"}},
		{"done", alerttest.Done(), []string{"source"}, "critical",
			map[string]any{"action": "detach_user_policy", "status": "done", "reason": "", "undo": "watchdog undo 0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"}},
		{"root has manual, no remediation, no record", alerttest.Root(), []string{"manual"}, "critical", nil},
		{"malicious kept as written", alerttest.Malicious(), nil, "low",
			map[string]any{"action": "deactivate_access_key", "status": "skipped", "reason": "actor <@U0ADMIN> is allowlisted & trusted"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if _, err := NewJSONL(&buf).Notify(context.Background(), tt.alert); err != nil {
				t.Fatal(err)
			}
			if bytes.Count(buf.Bytes(), []byte("\n")) != 1 {
				t.Fatalf("want exactly one line, got %q", buf.String())
			}
			var row map[string]any
			if err := json.Unmarshal(buf.Bytes(), &row); err != nil {
				t.Fatal(err)
			}
			want := slices.Concat(contractKeys, extraKeys, tt.optional)
			slices.Sort(want)
			if got := slices.Sorted(maps.Keys(row)); !slices.Equal(got, want) {
				t.Errorf("keys = %v\nwant   %v", got, want)
			}
			f := tt.alert.Finding
			for key, w := range map[string]any{
				"severity":    tt.wantSeverity,
				"event_time":  "2024-05-01T12:30:45Z",
				"actor":       f.Actor.ARN,
				"user_agent":  f.Actor.UserAgent,
				"event_id":    f.EventID,
				"remediation": tt.wantRemediation,
			} {
				if g, ok := row[key]; !ok || fmt.Sprint(g) != fmt.Sprint(w) {
					t.Errorf("%s = %#v, want %#v", key, g, w)
				}
			}
			if tt.wantRemediation == nil && row["remediation"] != nil {
				t.Errorf("remediation = %v, want null", row["remediation"])
			}
		})
	}
}

func TestJSONLConcurrent(t *testing.T) {
	var buf bytes.Buffer
	j := NewJSONL(&buf)
	const n = 50
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			a := alerttest.Done()
			a.Finding.EventID = fmt.Sprintf("event-%d", i)
			if _, err := j.Notify(context.Background(), a); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		var row JSONLRow
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		seen[row.EventID] = true
	}
	if len(seen) != n {
		t.Errorf("got %d distinct rows, want %d", len(seen), n)
	}
}

package peers

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
)

func writeCases(t *testing.T, lines ...string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "demo_cases.jsonl"), []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

const rootSignin = `{"eventVersion":"1.09","userIdentity":{"type":"Root","arn":"arn:aws:iam::123456789012:root","accountId":"123456789012"},"eventTime":"2024-05-03T08:00:00Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":"us-east-1","responseElements":{"ConsoleLogin":"Success"},"additionalEventData":{"MFAUsed":"No"},"eventID":"e1","recipientAccountId":"123456789012"}`

// TestMeasure covers the ways a case is measured: its own category, an answer from another
// category (a root sign-in for root_activity), a record stored with an export's eventTime (read
// as UTC, as replay reads it), an unreadable record (a redacted eventTime, as StreamAlert's
// cases have), a case in no watchdog category left out, and the report's accounting.
func TestMeasure(t *testing.T) {
	dir := writeCases(t,
		`{"source":"p","rule_id":"R1","test_name":"root","category":"root_signin","expected":true,"expected_semantics":"rule_fires","event":`+rootSignin+`}`,
		`{"source":"p","rule_id":"R2","test_name":"root use","category":"root_activity","expected":true,"expected_semantics":"rule_fires","event":`+rootSignin+`}`,
		`{"source":"p","rule_id":"R3","test_name":"peer time","category":"root_signin","expected":true,"expected_semantics":"rule_fires","event":`+
			strings.Replace(rootSignin, "2024-05-03T08:00:00Z", "2024-05-03 08:00:00.000000000", 1)+`}`,
		`{"source":"p","rule_id":"R4","test_name":"elsewhere","category":"other","expected":true,"expected_semantics":"rule_fires","event":`+rootSignin+`}`,
		`{"source":"p","rule_id":"R5","test_name":"redacted","category":"root_signin","expected":true,"expected_semantics":"rule_fires","event":`+
			strings.Replace(rootSignin, "2024-05-03T08:00:00Z", "...", 1)+`}`,
	)
	cases, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) != 5 || cases[2].ID != "demo:3" {
		t.Fatalf("loaded %d cases, third %q", len(cases), cases[2].ID)
	}
	results := Measure(cases, detect.Default())
	if len(results) != 4 {
		t.Fatalf("%d results, want 4: a case in no watchdog category is left out", len(results))
	}
	if !results[0].Agree || !results[1].Agree {
		t.Errorf("a root sign-in must answer root_signin and root_activity: %+v", results[:2])
	}
	if r := results[2]; !r.Agree || r.ParseErr != "" {
		t.Errorf("a record with an export's eventTime is read, and agrees: %+v", r)
	}
	if r := results[3]; r.Agree || !strings.Contains(r.ParseErr, `eventTime "..."`) {
		t.Errorf("an unreadable record counts against, naming why: %+v", r)
	}
	var out bytes.Buffer
	if un := Report(&out, results, "`demo:5` has a redacted eventTime"); len(un) != 0 {
		t.Errorf("unexplained %v; the explanation names the only disagreement", un)
	}
	if un := Report(&out, results, ""); len(un) != 1 || un[0] != "demo:5" {
		t.Errorf("unexplained %v, want [demo:5]", un)
	}
	if !strings.Contains(out.String(), "root_signin") || !strings.Contains(out.String(), "all") {
		t.Errorf("report lacks the per-category table:\n%s", out.String())
	}
}

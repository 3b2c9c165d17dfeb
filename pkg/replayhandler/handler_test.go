package replayhandler

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	eventstestdata "github.com/iam-watchdog/iam-watchdog/events-testdata"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/notify"
	"github.com/iam-watchdog/iam-watchdog/pkg/policy"
	"github.com/iam-watchdog/iam-watchdog/pkg/replay"
)

// memS3 holds objects by "bucket/key" and counts the calls made.
type memS3 struct {
	mu      sync.Mutex
	objects map[string][]byte
	gets    int
	puts    []string
}

func (m *memS3) GetObject(_ context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gets++
	data, ok := m.objects[aws.ToString(in.Bucket)+"/"+aws.ToString(in.Key)]
	if !ok {
		return nil, fmt.Errorf("NoSuchKey: %s", aws.ToString(in.Key))
	}
	return &s3.GetObjectOutput{Body: io.NopCloser(bytes.NewReader(data))}, nil
}

func (m *memS3) PutObject(_ context.Context, in *s3.PutObjectInput, _ ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	data, err := io.ReadAll(in.Body)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	name := aws.ToString(in.Bucket) + "/" + aws.ToString(in.Key)
	m.objects[name] = data
	m.puts = append(m.puts, name)
	return &s3.PutObjectOutput{}, nil
}

var env = Env{ArchiveBucket: "org-trail", ArchivePrefix: "AWSLogs/", ResultsBucket: "backtests", ResultsPrefix: "watchdog/"}

// examples puts every alert example event into the archive, one object each, and returns
// their keys.
func examples(t *testing.T, m *memS3) []string {
	t.Helper()
	names, err := fs.Glob(eventstestdata.FS, "*/alert-*.json")
	if err != nil || len(names) == 0 {
		t.Fatalf("no example events: %v", err)
	}
	var keys []string
	for _, n := range names {
		data, err := eventstestdata.FS.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		key := "AWSLogs/examples/" + n
		m.objects["org-trail/"+key] = data
		keys = append(keys, key)
	}
	return keys
}

func request(keys []string, cfg policy.Config) replay.BatchRequest {
	return replay.BatchRequest{Version: replay.BatchVersion, Batch: "b000001", Bucket: "org-trail", Keys: keys,
		Results: "s3://backtests/watchdog/run/b000001.jsonl", Config: cfg}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestNeverActs asks the function to act, globally and rule by rule, in every mode: every
// finding that has an action comes out planned (dry-run), none done, failed or pending. The
// function has no AWS clients to act with; without the ceiling it would report "failed".
func TestNeverActs(t *testing.T) {
	m := &memS3{objects: map[string][]byte{}}
	keys := examples(t, m)
	cfg := policy.Default()
	cfg.Mode = policy.Auto
	cfg.Rules = map[string]policy.RuleConfig{}
	for i, r := range detect.Rules() {
		cfg.Rules[r.ID] = policy.RuleConfig{Mode: []policy.Mode{policy.Auto, policy.Approve}[i%2]}
	}
	h := &Handler{Env: env, S3: m, Jobs: 2, Prefetch: 4}
	resp, err := h.Invoke(context.Background(), mustJSON(t, request(keys, cfg)))
	if err != nil || resp.Refused != "" {
		t.Fatalf("invoke: %v %s", err, resp.Refused)
	}
	if resp.Done != len(keys) || resp.Totals.Findings == 0 {
		t.Fatalf("done %d of %d, %d findings", resp.Done, len(keys), resp.Totals.Findings)
	}
	// The rows, merged as the CLI merges them, in the JSON Lines contract.
	var out bytes.Buffer
	mg := replay.NewMerger(notify.NewJSONL(&out), nil, 1)
	if err := mg.Rows(context.Background(), bytes.NewReader(m.objects["backtests/watchdog/run/b000001.jsonl"])); err != nil {
		t.Fatal(err)
	}
	planned := 0
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var row notify.JSONLRow
		if err := json.Unmarshal([]byte(line), &row); err != nil {
			t.Fatal(err)
		}
		if row.Remediation == nil {
			continue
		}
		if row.Remediation.Status != "planned" && row.Remediation.Status != "skipped" {
			t.Errorf("%s %s: remediation %s (%s), want planned", row.Rule, row.EventID, row.Remediation.Status, row.Remediation.Reason)
		}
		if row.Remediation.Status == "planned" {
			planned++
		}
	}
	if planned == 0 {
		t.Error("no finding with a planned remediation: the test tests nothing")
	}
}

// TestCeiling lowers every mode to dry-run, leaves off alone, and changes nothing else.
func TestCeiling(t *testing.T) {
	for _, tc := range []struct{ in, want policy.Mode }{
		{policy.Auto, policy.DryRun}, {policy.Approve, policy.DryRun}, {policy.DryRun, policy.DryRun}, {policy.Off, policy.Off}, {"", policy.DryRun},
	} {
		cfg := policy.Config{Mode: tc.in, AdminGroups: []string{"Admins"},
			Rules: map[string]policy.RuleConfig{"access-key-created": {Mode: tc.in}, "root-signin": {}}}
		got := ceiling(cfg)
		if got.Mode != tc.want || got.AdminGroups[0] != "Admins" {
			t.Errorf("ceiling(mode %q) = mode %q, want %q", tc.in, got.Mode, tc.want)
		}
		if rm := got.Rules["access-key-created"].Mode; (tc.in == "" && rm != "") || (tc.in != "" && rm != tc.want) {
			t.Errorf("ceiling(rule mode %q) = %q", tc.in, rm)
		}
		if got.Rules["root-signin"].Mode != "" {
			t.Error("a rule without a mode got one")
		}
		if cfg.Rules["access-key-created"].Mode != tc.in {
			t.Error("ceiling changed the caller's config")
		}
	}
}

// TestRefuses holds the handler to the CLI's batch request, the environment's bucket and
// prefixes, and a valid scope and config: anything else is refused with the reason, and
// nothing is read or written.
func TestRefuses(t *testing.T) {
	good := request([]string{"AWSLogs/1/CloudTrail/us-east-1/2024/05/01/a.json.gz"}, policy.Default())
	edit := func(f func(r *replay.BatchRequest)) replay.BatchRequest {
		r := good
		r.Keys = append([]string(nil), good.Keys...)
		f(&r)
		return r
	}
	tooMany := make([]string, replay.MaxBatchKeys+1)
	for i := range tooMany {
		tooMany[i] = fmt.Sprintf("AWSLogs/%d.json.gz", i)
	}
	for _, tc := range []struct {
		name    string
		payload any // a request, or the payload as sent
		want    string
	}{
		{"an EventBridge event", `{"version":"0","detail-type":"AWS API Call via CloudTrail","detail":{}}`, "not a batch request"},
		{"an unknown field", `{"version":1,"batch":"b1","bucket":"org-trail","keys":["AWSLogs/a"],"results":"s3://backtests/watchdog/a.jsonl","act":true}`, `unknown field "act"`},
		{"two values", string(mustJSON(t, good)) + `{}`, "more than one JSON value"},
		{"another version", edit(func(r *replay.BatchRequest) { r.Version = 2 }), "version 2"},
		{"a bad batch name", edit(func(r *replay.BatchRequest) { r.Batch = "../x" }), "batch name"},
		{"another bucket", edit(func(r *replay.BatchRequest) { r.Bucket = "payroll" }), `bucket "payroll"`},
		{"a key outside the prefix", edit(func(r *replay.BatchRequest) { r.Keys = []string{"secrets/db.json"} }), "reads only s3://org-trail/AWSLogs/"},
		{"a dot-dot key", edit(func(r *replay.BatchRequest) { r.Keys = []string{"AWSLogs/../secrets/db.json"} }), `".." segment`},
		{"a control character", edit(func(r *replay.BatchRequest) { r.Keys = []string{"AWSLogs/a\n.json"} }), "control characters"},
		{"no keys", edit(func(r *replay.BatchRequest) { r.Keys = nil }), "0 keys"},
		{"too many keys", edit(func(r *replay.BatchRequest) { r.Keys = tooMany }), "20001 keys"},
		{"results in another bucket", edit(func(r *replay.BatchRequest) { r.Results = "s3://org-trail/AWSLogs/x.jsonl" }), "writes only under s3://backtests/watchdog/"},
		{"results outside the prefix", edit(func(r *replay.BatchRequest) { r.Results = "s3://backtests/other/x.jsonl" }), "writes only under"},
		{"results over a log file", edit(func(r *replay.BatchRequest) { r.Results = "s3://backtests/watchdog/x.json.gz" }), ".jsonl key"},
		{"results escaping the prefix", edit(func(r *replay.BatchRequest) { r.Results = "s3://backtests/watchdog/../x.jsonl" }), `".." segment`},
		{"results not s3", edit(func(r *replay.BatchRequest) { r.Results = "https://backtests/watchdog/x.jsonl" }), "not s3://bucket/key"},
		{"a bad scope", edit(func(r *replay.BatchRequest) { r.Scope.Account = "me" }), "scope: --account"},
		{"a bad config", edit(func(r *replay.BatchRequest) { r.Config.AdminGroups = []string{"a b"} }), "config: admin_groups[0]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &memS3{objects: map[string][]byte{}}
			h := &Handler{Env: env, S3: m, Jobs: 1}
			payload, ok := tc.payload.(string) // a string is the payload as sent
			if !ok {
				payload = string(mustJSON(t, tc.payload))
			}
			resp, err := h.Invoke(context.Background(), []byte(payload))
			if err != nil {
				t.Fatalf("a refusal is an answer, not an error: %v", err)
			}
			if !strings.Contains(resp.Refused, tc.want) {
				t.Errorf("refused %q, want %q", resp.Refused, tc.want)
			}
			if m.gets != 0 || len(m.puts) != 0 {
				t.Errorf("%d GETs and %v PUTs for a refused request", m.gets, m.puts)
			}
		})
	}
}

// TestEnvFrom checks the environment the stack sets.
func TestEnvFrom(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"complete", map[string]string{"ARCHIVE_BUCKET": "org-trail", "ARCHIVE_PREFIX": "AWSLogs/", "RESULTS_BUCKET": "backtests", "RESULTS_PREFIX": "watchdog/"}, ""},
		{"whole buckets", map[string]string{"ARCHIVE_BUCKET": "org-trail", "RESULTS_BUCKET": "backtests"}, ""},
		{"no archive", map[string]string{"RESULTS_BUCKET": "backtests"}, `ARCHIVE_BUCKET ""`},
		{"an ARN for a bucket", map[string]string{"ARCHIVE_BUCKET": "arn:aws:s3:::org-trail", "RESULTS_BUCKET": "backtests"}, "ARCHIVE_BUCKET"},
		{"a prefix with ..", map[string]string{"ARCHIVE_BUCKET": "org-trail", "RESULTS_BUCKET": "backtests", "RESULTS_PREFIX": "a/../"}, "RESULTS_PREFIX"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := EnvFrom(func(k string) string { return tc.env[k] })
			if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("EnvFrom: %v, want %q", err, tc.want)
			}
		})
	}
}

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iam-watchdog/iam-watchdog/internal/cli"
	"github.com/iam-watchdog/iam-watchdog/pkg/cloudtrail"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/policy"
)

// eventsDir holds the shared example events (see its README.md).
const eventsDir = "../../events-testdata"

// deploymentConfig is the config the example events assume: the watchdog's own role and the
// quarantine policy its stack created (events-testdata/embed.go).
const deploymentConfig = "testdata/deployment.yaml"

// cliResult is what one in-process run of the CLI produced.
type cliResult struct {
	stdout, stderr string
	err            error
}

// runCLI runs the CLI in-process with stdin as standard input.
func runCLI(t *testing.T, stdin string, args ...string) cliResult {
	t.Helper()
	return runIn(t.Context(), stdin, args)
}

func runIn(ctx context.Context, stdin string, args []string) cliResult {
	var out, errOut bytes.Buffer
	err := Run(ctx, args, strings.NewReader(stdin), &out, &errOut)
	return cliResult{stdout: out.String(), stderr: errOut.String(), err: err}
}

// mustRun runs the CLI and fails the test unless it succeeds.
func mustRun(t *testing.T, args ...string) cliResult {
	t.Helper()
	return succeeded(t, args, runCLI(t, "", args...))
}

// succeeded is r, or the test's end unless the run of args succeeded.
func succeeded(t *testing.T, args []string, r cliResult) cliResult {
	t.Helper()
	if r.err != nil {
		t.Fatalf("watchdog %s: %v\nstderr:\n%s", strings.Join(args, " "), r.err, r.stderr)
	}
	return r
}

// demoRuns holds the output of each `watchdog demo` command line run so far: the demo is
// deterministic, and a text run starts its own moto_server and loads AWS's managed policies into
// it (seconds of CPU), so the tests that read the demo's output share one run of each.
var demoRuns sync.Map // strings.Join(args, " ") → func() cliResult

// mustRunDemo is mustRun of `watchdog demo args...`, run once for all tests.
func mustRunDemo(t *testing.T, args ...string) cliResult {
	t.Helper()
	args = append([]string{"demo"}, args...)
	run, _ := demoRuns.LoadOrStore(strings.Join(args, " "), sync.OnceValue(func() cliResult {
		return runIn(context.Background(), "", args) // not one test's context: every test reads it
	}))
	return succeeded(t, args, run.(func() cliResult)())
}

// row is one line of --output jsonl, as a script reads it.
type row struct {
	EventID     string       `json:"event_id"`
	Rule        string       `json:"rule"`
	Category    string       `json:"category"`
	Severity    string       `json:"severity"`
	Title       string       `json:"title"`
	Actor       string       `json:"actor"`
	Target      string       `json:"target"`
	Account     string       `json:"account"`
	Region      string       `json:"region"`
	EventTime   string       `json:"event_time"`
	Remediation *remediation `json:"remediation"`
	Source      string       `json:"source"`
}

type remediation struct {
	Action string `json:"action"`
	Status string `json:"status"`
	Reason string `json:"reason"`
	Undo   string `json:"undo"`
}

// contractKeys are the keys every jsonl row carries; scripts rely on them.
var contractKeys = []string{"event_id", "rule", "category", "severity", "title", "actor", "target", "account", "region", "event_time", "remediation"}

var severities = map[string]bool{"info": true, "low": true, "medium": true, "high": true, "critical": true}

// parseRows reads --output jsonl: every line must be one JSON object holding the contract's
// keys with the contract's types.
func parseRows(t *testing.T, stdout string) []row {
	t.Helper()
	var rows []row
	sc := bufio.NewScanner(strings.NewReader(stdout))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Bytes()
		var keys map[string]json.RawMessage
		if err := json.Unmarshal(line, &keys); err != nil {
			t.Fatalf("output line %d is not a JSON object: %v\n%s", n, err, line)
		}
		for _, k := range contractKeys {
			if _, ok := keys[k]; !ok {
				t.Errorf("output line %d has no %q: %s", n, k, line)
			}
		}
		var r row
		dec := json.NewDecoder(bytes.NewReader(line))
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("output line %d does not have the contract's types: %v\n%s", n, err, line)
		}
		// actor and target may be empty (a failed sign-in as an unknown user names neither).
		if r.EventID == "" || r.Rule == "" || r.Category == "" || r.Title == "" || r.Account == "" {
			t.Errorf("output line %d has an empty identifying field: %s", n, line)
		}
		if !severities[r.Severity] {
			t.Errorf("output line %d: severity %q is not one of info, low, medium, high, critical", n, r.Severity)
		}
		if r.EventTime != "" {
			if _, err := time.Parse(time.RFC3339, r.EventTime); err != nil {
				t.Errorf("output line %d: event_time %q is not RFC 3339: %v", n, r.EventTime, err)
			}
		}
		if raw := keys["remediation"]; string(raw) != "null" {
			var m map[string]json.RawMessage
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Errorf("output line %d: remediation is neither an object nor null: %s", n, raw)
			}
			for _, k := range []string{"action", "status", "reason"} {
				if _, ok := m[k]; !ok {
					t.Errorf("output line %d: remediation has no %q: %s", n, k, raw)
				}
			}
			if r.Remediation.Action == "" || r.Remediation.Status == "" || r.Remediation.Reason == "" {
				t.Errorf("output line %d: remediation with an empty action, status or reason: %s", n, raw)
			}
		}
		rows = append(rows, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

// eventIDs lists the rows' event IDs, sorted.
func eventIDs(rows []row) []string {
	ids := make([]string, 0, len(rows))
	for _, r := range rows {
		ids = append(ids, r.EventID)
	}
	sort.Strings(ids)
	return ids
}

// expected is a row the pipeline must give for a file: what detection and policy decide.
type expected struct {
	file, eventID, rule, category, severity string
}

// expectedRows runs detection and the policy over every event file under eventsDir, as the
// pipeline does, and returns the alerted findings keyed by "eventID#rule", plus every
// file's slash-separated path relative to eventsDir.
func expectedRows(t *testing.T, cfg policy.Config) (map[string]expected, []string) {
	t.Helper()
	d := detect.Default()
	want := map[string]expected{}
	var files []string
	err := filepath.WalkDir(eventsDir, func(path string, de fs.DirEntry, err error) error {
		if err != nil || de.IsDir() || !strings.HasSuffix(path, ".json") {
			return err
		}
		rel, err := filepath.Rel(eventsDir, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		files = append(files, rel)
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		for rec, err := range cloudtrail.Records(rel, f) {
			if err != nil {
				return err
			}
			for _, finding := range d.Detect(rec) {
				if !cfg.Decide(&finding).Alert {
					continue
				}
				want[finding.EventID+"#"+finding.Rule] = expected{file: rel, eventID: finding.EventID, rule: finding.Rule,
					category: finding.Category, severity: finding.Severity.String()}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", eventsDir, err)
	}
	if len(files) == 0 || len(want) == 0 {
		t.Fatalf("no events under %s", eventsDir)
	}
	return want, files
}

func loadConfig(t *testing.T, path string) policy.Config {
	t.Helper()
	cfg, err := policy.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// readEvent reads an example event (relative to eventsDir) as generic JSON.
func readEvent(t *testing.T, rel string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(eventsDir, filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal(data, &ev); err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	return ev
}

// detail is the CloudTrail record inside an EventBridge event.
func detail(t *testing.T, ev map[string]any) map[string]any {
	t.Helper()
	d, ok := ev["detail"].(map[string]any)
	if !ok {
		t.Fatal("event has no detail object")
	}
	return d
}

// compact is v as one line of JSON.
func compact(t *testing.T, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// eventIDOf is the eventID of an example event's record.
func eventIDOf(t *testing.T, rel string) string {
	t.Helper()
	id, _ := detail(t, readEvent(t, rel))["eventID"].(string)
	if id == "" {
		t.Fatalf("%s has no eventID", rel)
	}
	return id
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// writeFile writes data to dir/name, creating the directories on the way.
func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// isUsage reports whether err is a usage error (exit code 2).
func isUsage(err error) bool {
	var m cli.Misuse
	return errors.As(err, &m)
}

// isErrSomeInputs reports whether err is the error of a run that could not read some input
// (exit code 1).
func isErrSomeInputs(err error) bool { return err == errSomeInputs }

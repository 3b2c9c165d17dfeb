package main

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"testing"

	eventstestdata "github.com/iam-watchdog/iam-watchdog/events-testdata"
)

// TestDeploymentConfig keeps testdata/deployment.yaml the config the example events assume.
func TestDeploymentConfig(t *testing.T) {
	cfg := loadConfig(t, deploymentConfig)
	if !slices.Equal(cfg.SelfRoleARNs, []string{eventstestdata.WatchdogRoleARN}) || cfg.QuarantinePolicyARN != eventstestdata.QuarantinePolicyARN {
		t.Errorf("%s: self_role_arns %v, quarantine_policy_arn %q; want [%s] and %s (events-testdata/embed.go)",
			deploymentConfig, cfg.SelfRoleARNs, cfg.QuarantinePolicyARN, eventstestdata.WatchdogRoleARN, eventstestdata.QuarantinePolicyARN)
	}
}

// TestReplayJSONLContract replays every example event and checks the rows against what
// detection and the policy decide for each file, and against a few rows written out by hand.
func TestReplayJSONLContract(t *testing.T) {
	want, files := expectedRows(t, loadConfig(t, deploymentConfig))
	r := mustRun(t, "replay", "--config", deploymentConfig, "--output", "jsonl", eventsDir)
	rows := parseRows(t, r.stdout)

	got := map[string]row{}
	perFile := map[string]int{}
	for _, rw := range rows {
		key := rw.EventID + "#" + rw.Rule
		if _, dup := got[key]; dup {
			t.Errorf("row for event %s rule %s printed twice", rw.EventID, rw.Rule)
		}
		got[key] = rw
		w, ok := want[key]
		if !ok {
			t.Errorf("unexpected row: event %s rule %s from %s", rw.EventID, rw.Rule, rw.Source)
			continue
		}
		perFile[w.file]++
		if rw.Category != w.category || rw.Severity != w.severity {
			t.Errorf("%s: rule %s category/severity %s/%s, want %s/%s", w.file, rw.Rule, rw.Category, rw.Severity, w.category, w.severity)
		}
		if wantSrc := path.Join(eventsDir, w.file) + ":1"; rw.Source != wantSrc {
			t.Errorf("%s: source %q, want %q", w.file, rw.Source, wantSrc)
		}
	}
	for key, w := range want {
		if _, ok := got[key]; !ok {
			t.Errorf("%s: no row for rule %s (event %s)", w.file, w.rule, w.eventID)
		}
	}
	for _, f := range files {
		switch base := path.Base(f); {
		case strings.HasPrefix(base, "alert-") && perFile[f] == 0:
			t.Errorf("%s: an alert- file printed no row", f)
		case strings.HasPrefix(base, "quiet-") && perFile[f] > 0:
			t.Errorf("%s: a quiet- file printed %d rows", f, perFile[f])
		}
	}

	// Written out by hand, so that the test does not only agree with the code it tests.
	type hand struct {
		rule, category, severity, target string
		action, status, reasonPrefix     string // action "" means remediation null
	}
	for file, h := range map[string]hand{
		"root_signin/alert-root-success-no-mfa.json": {rule: "root-console-signin", category: "root_signin", severity: "critical",
			target: "arn:aws:iam::123456789012:root"},
		"root_signin/alert-root-failure.json": {rule: "root-console-signin", category: "root_signin", severity: "medium",
			target: "arn:aws:iam::123456789012:root"},
		"access_key_created/alert-root-own-key.json": {rule: "access-key-created", category: "access_key_created", severity: "critical",
			target: "arn:aws:iam::123456789012:root"},
		"access_key_created/alert-other-user.json": {rule: "access-key-created", category: "access_key_created", severity: "high",
			target: "arn:aws:iam::123456789012:user/ci-deployer", action: "deactivate_access_key", status: "planned",
			reasonPrefix: "dry run: would deactivate access key AKIA5CIDEPLOYKEY3H8N of user ci-deployer"},
		"user_policy_attached/alert-attach-admin.json": {rule: "user-managed-policy-attached", category: "user_policy_attached", severity: "high",
			action: "detach_user_policy", status: "planned", reasonPrefix: "dry run: would detach managed policy arn:aws:iam::aws:policy/AdministratorAccess"},
		"user_policy_attached/alert-attach-via-cloudformation.json": {rule: "user-managed-policy-attached", category: "user_policy_attached", severity: "medium",
			action: "detach_user_policy", status: "skipped", reasonPrefix: "cloudformation.amazonaws.com made this change"},
		"mfa_deactivated/alert-deactivate-other-user.json": {rule: "mfa-deactivated", category: "mfa_deactivated", severity: "high",
			target: "arn:aws:iam::123456789012:user/frank", action: "quarantine_user", status: "planned", reasonPrefix: "dry run: would quarantine user frank"},
		"cloudtrail_tampering/alert-stop-logging.json": {rule: "cloudtrail-logging-stopped", category: "cloudtrail_tampering", severity: "high",
			target: "arn:aws:cloudtrail:us-east-1:123456789012:trail/management-events", action: "restart_logging", status: "planned", reasonPrefix: "dry run: would restart logging"},
	} {
		t.Run(file, func(t *testing.T) {
			rw, ok := got[eventIDOf(t, file)+"#"+h.rule]
			if !ok {
				t.Fatalf("no row for rule %s", h.rule)
			}
			if rw.Category != h.category || rw.Severity != h.severity {
				t.Errorf("category/severity %s/%s, want %s/%s", rw.Category, rw.Severity, h.category, h.severity)
			}
			if h.target != "" && rw.Target != h.target {
				t.Errorf("target %q, want %q", rw.Target, h.target)
			}
			if rw.Account != "123456789012" || rw.EventTime == "" || rw.Region == "" {
				t.Errorf("account %q region %q event_time %q, want all set", rw.Account, rw.Region, rw.EventTime)
			}
			switch {
			case h.action == "" && rw.Remediation != nil:
				t.Errorf("remediation %+v, want null", *rw.Remediation)
			case h.action == "":
			case rw.Remediation == nil:
				t.Errorf("remediation null, want %s %s", h.action, h.status)
			case rw.Remediation.Action != h.action || rw.Remediation.Status != h.status || !strings.HasPrefix(rw.Remediation.Reason, h.reasonPrefix):
				t.Errorf("remediation %+v, want action %s status %s reason starting %q", *rw.Remediation, h.action, h.status, h.reasonPrefix)
			case rw.Remediation.Undo != "":
				t.Errorf("undo %q offered for an action that was not done", rw.Remediation.Undo)
			}
		})
	}
}

// recordOf is the CloudTrail record of an example event, as one line of JSON.
func recordOf(t *testing.T, rel string) []byte {
	t.Helper()
	return compact(t, detail(t, readEvent(t, rel)))
}

func gzipped(t *testing.T, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func logFile(records ...[]byte) []byte {
	return append(append([]byte(`{"Records":[`), bytes.Join(records, []byte(","))...), ']', '}')
}

const (
	rootNoMFA   = "root_signin/alert-root-success-no-mfa.json"
	attachAdmin = "user_policy_attached/alert-attach-admin.json"
	stopLogging = "cloudtrail_tampering/alert-stop-logging.json"
	quietList   = "access_key_created/quiet-list-access-keys.json"
)

func exampleFile(t *testing.T, rel string) []byte {
	t.Helper()
	return compact(t, readEvent(t, rel))
}

// TestReplayInputs feeds the same events in every shape replay reads.
func TestReplayInputs(t *testing.T) {
	tests := []struct {
		name string
		// setup writes the input under dir and returns the PATH arguments and standard input.
		setup func(t *testing.T, dir string) (args []string, stdin string)
		want  []string // example files whose events must be found
		// wantSource, when set, is a substring every row's source must contain.
		wantSource string
	}{
		{
			name: "single file",
			setup: func(t *testing.T, dir string) ([]string, string) {
				return []string{path.Join(eventsDir, rootNoMFA)}, ""
			},
			want: []string{rootNoMFA},
		},
		{
			name: "directory walked recursively in name order, other files passed over",
			setup: func(t *testing.T, dir string) ([]string, string) {
				writeFile(t, dir, "a.json", exampleFile(t, rootNoMFA))
				writeFile(t, dir, "deep/er/still/b.json", exampleFile(t, attachAdmin))
				writeFile(t, dir, "deep/c.ndjson", exampleFile(t, stopLogging))
				writeFile(t, dir, "deep/d.json", exampleFile(t, quietList))
				writeFile(t, dir, "deep/README.md", []byte("# not events\n"))
				writeFile(t, dir, "deep/notes.txt", []byte("{broken"))
				return []string{dir}, ""
			},
			want: []string{rootNoMFA, attachAdmin, stopLogging},
		},
		{
			name: "standard input",
			setup: func(t *testing.T, dir string) ([]string, string) {
				return []string{"-"}, string(exampleFile(t, attachAdmin))
			},
			want:       []string{attachAdmin},
			wantSource: "-:1",
		},
		{
			name: "gzip told by magic bytes, named .json",
			setup: func(t *testing.T, dir string) ([]string, string) {
				return []string{writeFile(t, dir, "plain-name.json", gzipped(t, exampleFile(t, rootNoMFA)))}, ""
			},
			want: []string{rootNoMFA},
		},
		{
			name: "gzip named .json.gz, found in a walk",
			setup: func(t *testing.T, dir string) ([]string, string) {
				writeFile(t, dir, "x/123456789012_CloudTrail_us-east-1_20240502T1335Z_abc.json.gz",
					gzipped(t, logFile(recordOf(t, attachAdmin), recordOf(t, stopLogging))))
				return []string{dir}, ""
			},
			want:       []string{attachAdmin, stopLogging},
			wantSource: "record ",
		},
		{
			name: "CloudTrail log file",
			setup: func(t *testing.T, dir string) ([]string, string) {
				return []string{writeFile(t, dir, "log.json", logFile(recordOf(t, rootNoMFA), recordOf(t, quietList), recordOf(t, attachAdmin)))}, ""
			},
			want:       []string{rootNoMFA, attachAdmin},
			wantSource: "log.json:1 record ",
		},
		{
			name: "JSON Lines of events, bare records and a log file",
			setup: func(t *testing.T, dir string) ([]string, string) {
				lines := [][]byte{exampleFile(t, rootNoMFA), recordOf(t, attachAdmin), logFile(recordOf(t, stopLogging)), exampleFile(t, quietList)}
				return []string{writeFile(t, dir, "events.jsonl", append(bytes.Join(lines, []byte("\n")), '\n'))}, ""
			},
			want: []string{rootNoMFA, attachAdmin, stopLogging},
		},
		{
			name: "pretty-printed events one after another",
			setup: func(t *testing.T, dir string) ([]string, string) {
				var b bytes.Buffer
				for _, f := range []string{rootNoMFA, stopLogging} {
					data := readFile(t, path.Join(eventsDir, f))
					b.Write(data)
					b.WriteByte('\n')
				}
				return []string{writeFile(t, dir, "two.json", b.Bytes())}, ""
			},
			want: []string{rootNoMFA, stopLogging},
		},
		{
			name: "CloudTrail-Digest folder skipped",
			setup: func(t *testing.T, dir string) ([]string, string) {
				base := "AWSLogs/123456789012/"
				writeFile(t, dir, base+"CloudTrail/us-east-1/2024/05/02/log.json.gz", gzipped(t, logFile(recordOf(t, stopLogging))))
				// A digest holds no events; read as events it would be unreadable.
				writeFile(t, dir, base+"CloudTrail-Digest/us-east-1/2024/05/02/digest.json.gz",
					gzipped(t, []byte(`{"awsAccountId":"123456789012","digestStartTime":"2024-05-02T12:00:00Z","logFiles":[]}`)))
				writeFile(t, dir, base+"CloudTrail-Digest/us-east-1/2024/05/02/broken.json", []byte("{not json"))
				return []string{dir}, ""
			},
			want: []string{stopLogging},
		},
		{
			name: "several paths of different kinds",
			setup: func(t *testing.T, dir string) ([]string, string) {
				f := writeFile(t, dir, "one/a.json", exampleFile(t, rootNoMFA))
				d := path.Dir(writeFile(t, dir, "two/b.json", exampleFile(t, attachAdmin)))
				return []string{f, "-", d}, string(exampleFile(t, stopLogging))
			},
			want: []string{rootNoMFA, attachAdmin, stopLogging},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args, stdin := tc.setup(t, t.TempDir())
			r := runCLI(t, stdin, append([]string{"replay", "--output", "jsonl"}, args...)...)
			if r.err != nil {
				t.Fatalf("replay: %v\nstderr:\n%s", r.err, r.stderr)
			}
			rows := parseRows(t, r.stdout)
			var want []string
			for _, f := range tc.want {
				want = append(want, eventIDOf(t, f))
			}
			slices.Sort(want)
			if got := eventIDs(rows); !slices.Equal(got, want) {
				t.Errorf("event IDs %v, want %v (from %v)\nstderr:\n%s", got, want, tc.want, r.stderr)
			}
			for _, rw := range rows {
				if tc.wantSource != "" && !strings.Contains(rw.Source, tc.wantSource) {
					t.Errorf("row for %s: source %q, want it to contain %q", rw.EventID, rw.Source, tc.wantSource)
				}
			}
			if !strings.Contains(r.stderr, "; 0 unreadable") {
				t.Errorf("summary does not say 0 unreadable:\n%s", r.stderr)
			}
		})
	}
}

// TestReplayBadInput puts each kind of bad input beside good ones: each is named on standard
// error with where and what, the run fails with errSomeInputs (exit 1), and the good inputs
// around it still give their rows. An input in which only some records are bad is counted as
// read with errors, naming how many, not as unreadable (issue 16); one that cannot be read at
// all, a missing path included, is unreadable.
func TestReplayBadInput(t *testing.T) {
	tests := []struct {
		name string
		file string // written under the test's directory, unless missing
		data func(t *testing.T) []byte
		// wantErr are substrings of the one stderr line that must name the problem.
		wantErr []string
		// wantOwn are example files whose events the bad file itself still yields.
		wantOwn []string
		// withErrors: the input was read, with bad records, rather than unreadable.
		withErrors bool
	}{
		{
			name: "truncated JSON", file: "truncated.json",
			data:    func(t *testing.T) []byte { return readFile(t, path.Join(eventsDir, rootNoMFA))[:300] },
			wantErr: []string{"truncated.json:1", "truncated"},
		},
		{
			name: "wrong types", file: "wrong-types.json",
			data: func(t *testing.T) []byte {
				return []byte(`{"eventVersion":"1.10","eventName":5,"eventSource":"iam.amazonaws.com","eventID":"x"}` + "\n")
			},
			wantErr:    []string{"wrong-types.json:1", "eventName", "string"},
			withErrors: true,
		},
		{
			name: "log file with one broken record among good ones", file: "mixed.json",
			data: func(t *testing.T) []byte {
				return logFile(recordOf(t, rootNoMFA), []byte(`{"eventName":["CreateUser"],"eventSource":"iam.amazonaws.com"}`), recordOf(t, attachAdmin))
			},
			wantErr:    []string{"mixed.json:1 record 1", "eventName"},
			wantOwn:    []string{rootNoMFA, attachAdmin},
			withErrors: true,
		},
		{
			name: "JSON Lines with one broken line", file: "lines.jsonl",
			data: func(t *testing.T) []byte {
				return []byte(string(recordOf(t, rootNoMFA)) + "\n{\"eventName\": \"CreateUser\", \n" + string(recordOf(t, attachAdmin)) + "\n")
			},
			wantErr:    []string{"lines.jsonl:2"},
			wantOwn:    []string{rootNoMFA, attachAdmin},
			withErrors: true,
		},
		{
			name: "empty file", file: "empty.json",
			data:    func(*testing.T) []byte { return nil },
			wantErr: []string{"empty.json", "empty"},
		},
		{
			name: "binary junk", file: "junk.json",
			data: func(*testing.T) []byte {
				return []byte("\x00\x01\x02\xfe\xffPK\x03\x04\x14\x00\x08\x00\xde\xad\xbe\xef\n\x7fELF\x02\x01\x01")
			},
			wantErr: []string{"junk.json:1", "not JSON"},
		},
		{
			name: "truncated gzip", file: "cut.json.gz",
			data: func(t *testing.T) []byte {
				z := gzipped(t, logFile(recordOf(t, rootNoMFA), recordOf(t, attachAdmin)))
				return z[:len(z)/2]
			},
			wantErr: []string{"cut.json.gz", "gzip"},
		},
		{
			name: "nonexistent path", file: "missing.json",
			wantErr: []string{"missing.json", "no such file"},
		},
	}
	rootEntries, err := os.ReadDir(path.Join(eventsDir, "root_signin"))
	if err != nil {
		t.Fatal(err)
	}
	rootFiles := len(rootEntries)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			bad := path.Join(dir, tc.file)
			if tc.data != nil {
				writeFile(t, dir, tc.file, tc.data(t))
			}
			before := writeFile(t, dir, "before/a.json", exampleFile(t, stopLogging))
			r := runCLI(t, "", "replay", "--output", "jsonl", before, bad, path.Join(eventsDir, "root_signin"))
			if !errors.Is(r.err, errSomeInputs) {
				t.Fatalf("replay = %v, want errSomeInputs (exit 1)\nstderr:\n%s", r.err, r.stderr)
			}
			if isUsage(r.err) {
				t.Errorf("bad input reported as a usage error (exit 2)")
			}
			line := stderrLine(r.stderr, tc.file)
			if line == "" {
				t.Fatalf("stderr does not name %s:\n%s", tc.file, r.stderr)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(line, w) {
					t.Errorf("stderr line %q does not say %q", line, w)
				}
			}
			switch {
			case tc.withErrors && (!strings.Contains(r.stderr, "; 0 unreadable") || !strings.Contains(r.stderr, "read with errors: "+bad+" (1 bad record)")):
				t.Errorf("summary does not count one input read with one bad record, and none unreadable:\n%s", r.stderr)
			case !tc.withErrors && (!strings.Contains(r.stderr, "; 1 unreadable") || !strings.Contains(r.stderr, "could not read: "+bad)):
				t.Errorf("summary does not count one unreadable input:\n%s", r.stderr)
			case !strings.Contains(r.stderr, fmt.Sprintf("watchdog: %d inputs,", 2+rootFiles)):
				t.Errorf("summary does not count the bad input among %d (a missing path is an input that could not be read):\n%s", 2+rootFiles, r.stderr)
			}

			want, _ := expectedRows(t, loadConfig(t, deploymentConfig))
			wantIDs := []string{eventIDOf(t, stopLogging)}
			for _, w := range want {
				if strings.HasPrefix(w.file, "root_signin/") {
					wantIDs = append(wantIDs, w.eventID)
				}
			}
			for _, f := range tc.wantOwn {
				wantIDs = append(wantIDs, eventIDOf(t, f))
			}
			slices.Sort(wantIDs)
			if got := eventIDs(parseRows(t, r.stdout)); !slices.Equal(got, wantIDs) {
				t.Errorf("rows for events %v, want %v: the good inputs beside the bad one must still be read", got, wantIDs)
			}
		})
	}

	// All at once, read inline (one job) and by workers (three): the same output and errors.
	dir := t.TempDir()
	var args []string
	for _, tc := range tests {
		if tc.data != nil {
			writeFile(t, dir, tc.file, tc.data(t))
		}
		args = append(args, path.Join(dir, tc.file))
	}
	var first *cliResult
	for _, jobs := range []string{"1", "3"} {
		r := runCLI(t, "", append([]string{"replay", "--output", "jsonl", "--jobs", jobs, path.Join(eventsDir, stopLogging)}, args...)...)
		if first == nil {
			first = &r
		} else if r.stdout != first.stdout || withoutTimes(r.stderr) != withoutTimes(first.stderr) {
			t.Errorf("--jobs %s read the inputs otherwise than --jobs 1:\n%s\n%s", jobs, r.stderr, first.stderr)
		}
		if !errors.Is(r.err, errSomeInputs) {
			t.Fatalf("replay = %v, want errSomeInputs", r.err)
		}
		for _, tc := range tests {
			if stderrLine(r.stderr, tc.file) == "" {
				t.Errorf("stderr does not name %s", tc.file)
			}
		}
		withErrors := 0
		for _, tc := range tests {
			if tc.withErrors {
				withErrors++
			}
		}
		if want := "; " + strconv.Itoa(len(tests)-withErrors) + " unreadable"; !strings.Contains(r.stderr, want) {
			t.Errorf("summary does not say %q:\n%s", want, r.stderr)
		}
		if want := "watchdog: " + strconv.Itoa(len(tests)+1) + " inputs,"; !strings.Contains(r.stderr, want) {
			t.Errorf("summary does not say %q:\n%s", want, r.stderr)
		}
		rows := parseRows(t, r.stdout)
		if !slices.Contains(eventIDs(rows), eventIDOf(t, stopLogging)) {
			t.Errorf("the good file's event is missing from the output")
		}
	}
}

// withoutTimes is stderr without the summary's line of times and rates.
func withoutTimes(stderr string) string {
	var b strings.Builder
	for l := range strings.Lines(stderr) {
		if !strings.Contains(l, " MB/s") {
			b.WriteString(l)
		}
	}
	return b.String()
}

// stderrLine is the first line of stderr naming file.
func stderrLine(stderr, file string) string {
	for l := range strings.Lines(stderr) {
		if strings.Contains(l, file) {
			return strings.TrimSpace(l)
		}
	}
	return ""
}

// TestUsageErrors: every misuse is a usageError (exit 2), and nothing is read or printed.
func TestUsageErrors(t *testing.T) {
	good := path.Join(eventsDir, rootNoMFA)
	tests := []struct {
		name string
		args []string
		want string // in the error message
	}{
		{"no command", nil, "no command"},
		{"unknown command", []string{"frobnicate"}, "frobnicate"},
		{"replay without PATH", []string{"replay", "--output", "jsonl"}, "PATH"},
		{"replay bad --output", []string{"replay", "--output", "xml", good}, "xml"},
		{"replay bad --mode", []string{"replay", "--mode", "sometimes", good}, "sometimes"},
		{"replay unknown flag", []string{"replay", "--frobnicate", good}, "frobnicate"},
		{"replay unknown flag after PATH", []string{"replay", good, "--jsonl"}, "jsonl"},
		{"replay flag without value", []string{"replay", good, "--output"}, "output"},
		{"demo bad --output", []string{"demo", "--output", "json"}, "json"},
		{"demo unknown flag", []string{"demo", "--mode", "auto"}, "mode"},
		{"rules bad --output", []string{"rules", "--output", "yaml"}, "yaml"},
		{"undo without EVENT_ID", []string{"undo"}, "EVENT_ID"},
		{"undo with two EVENT_IDs", []string{"undo", "a", "b"}, "EVENT_ID"},
		{"undo unknown flag", []string{"undo", "--mode", "auto", "x"}, "mode"},
		{"rules with an argument", []string{"rules", "extra"}, "extra"},
		{"demo with an argument", []string{"demo", "extra"}, "extra"},
		{"audit with an argument", []string{"audit", "extra"}, "extra"},
		{"version with an argument", []string{"version", "extra"}, "extra"},
		{"noise without PATH", []string{"noise"}, "PATH"},
		{"help of an unknown command", []string{"help", "frobnicate"}, "frobnicate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, "", tc.args...)
			if !isUsage(r.err) {
				t.Fatalf("Run(%q) = %v (%T), want a usageError", tc.args, r.err, r.err)
			}
			if !strings.Contains(r.err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", r.err, tc.want)
			}
			if r.stdout != "" {
				t.Errorf("a usage error printed to stdout:\n%s", r.stdout)
			}
			// One line saying what was wrong, and where the help is; not the whole usage
			// (but for no command at all, which gets the list of commands).
			cmd := ""
			if len(tc.args) > 0 && commands[tc.args[0]] != nil {
				cmd = tc.args[0]
			}
			wantErr := fmt.Sprintf("watchdog: %s: %v\nsee watchdog %s --help\n", cmd, r.err, cmd)
			if cmd == "" {
				wantErr = fmt.Sprintf("watchdog: %v\nsee watchdog --help\n", r.err)
			}
			if len(tc.args) == 0 {
				wantErr = globalHelp()
			}
			if r.stderr != wantErr {
				t.Errorf("stderr:\n%s\nwant:\n%s", r.stderr, wantErr)
			}
		})
	}
}

package audit

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.txt from the current output")

// textReport is a report as an audit makes them, through the catalogue: result keeps each
// check's title, why and fix.
func textReport(accounts ...string) Report {
	r := Report{StartedAt: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}
	for _, account := range accounts {
		a := &accountAudit{account: account, partition: "aws"}
		check := func(id string) *Check {
			for i := range checks {
				if checks[i].ID == id {
					return &checks[i]
				}
			}
			panic(id)
		}
		user := func(name string) string { return "arn:aws:iam::" + account + ":user/" + name }
		r.Results = append(r.Results,
			a.result(check("root-access-key"), Fail, a.rootARN(), "access key 1 is active (created 2019-03-02T10:00:00Z, last used 2025-05-30T12:00:00Z)"),
			a.result(check("user-mfa"), Fail, user("bob"), "console password and no MFA device"),
			a.result(check("user-mfa"), Pass, user("alice"), "console password with MFA"),
			a.result(check("user-mfa"), NotApplicable, user("deploy-bot"), "no console password"),
			a.result(check("key-rotation"), Fail, user("deploy-bot"), "access key 1 is 850 days old (created 2023-02-01T12:00:00Z); rotate within 90 days"),
			a.result(check("centralized-root-access"), Error, a.rootARN(), "list organizations features: operation error IAM: ListOrganizationsFeatures, https response error StatusCode: 403, AccessDenied"),
			a.result(check("password-length"), Pass, a.rootARN(), "minimum password length is 14"),
			a.result(check("watchdog-slack"), NotApplicable, a.rootARN(), "not configured: no Slack secret was given"),
		)
	}
	SortWorstFirst(r.Results)
	return r
}

func TestWriteTextGolden(t *testing.T) {
	for _, tc := range []struct {
		name   string
		report Report
		opts   TextOptions
	}{
		{"one-account", textReport("123456789012"), TextOptions{}},
		{"two-accounts", textReport("111111111111", "222222222222"), TextOptions{}},
		{"verbose", textReport("123456789012"), TextOptions{Verbose: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteText(&buf, tc.report, tc.opts); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", tc.name+".golden.txt")
			if *update {
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if buf.String() != string(want) {
				t.Errorf("output differs from %s (run with -update to accept):\n%s", path, buf.String())
			}
			for i, line := range strings.Split(buf.String(), "\n") {
				if len(line) > 80 && strings.Contains(strings.TrimSpace(line), " ") {
					t.Errorf("line %d is %d columns and could have been wrapped: %q", i+1, len(line), line)
				}
			}
		})
	}
}

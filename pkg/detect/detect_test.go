package detect_test

import (
	eventstestdata "github.com/iam-watchdog/iam-watchdog/events-testdata"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/iam-watchdog/iam-watchdog/pkg/cloudtrail"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/policy"
)

// eventsDir holds the shared EventBridge fixtures (see its README.md).
const eventsDir = "../../events-testdata"

const account = "123456789012"

// alert is one finding an alert- file must produce, alerted under the default config.
type alert struct {
	rule     string
	category string
	severity detect.Severity
	actor    string // Finding.Actor.Name; the Why sentence must name it
	target   string
	action   detect.Action // the whole proposed action; zero when no API can undo the change
	act      bool          // Decision.Act under the default config (dry-run)
	region   string        // Finding.Region, checked when set
}

// expectation is what one file must give. A quiet- file has no alerts; dropped lists the rules
// whose findings it does produce but which the default policy must drop as the watchdog's own.
type expectation struct {
	alerts  []alert
	dropped []string
}

func userARN(name string) string { return "arn:aws:iam::" + account + ":user/" + name }

const (
	rootARN    = "arn:aws:iam::" + account + ":root"
	trailARN   = "arn:aws:cloudtrail:us-east-1:" + account + ":trail/management-events"
	ssoAdmin   = "role AWSReservedSSO_AdministratorAccess_4f1c2d3e5a6b7c8d"
	dave       = ssoAdmin + " (session dave@example.com)"
	priya      = ssoAdmin + " (session priya@example.com)"
	rootName   = "the root user"
	adminARN   = "arn:aws:iam::aws:policy/AdministratorAccess"
	iamFullARN = "arn:aws:iam::aws:policy/IAMFullAccess"
)

// expectations lists every file under events-testdata, by its slash-separated path there.
var expectations = map[string]expectation{
	// Root sign-in: without MFA critical, with MFA high, a failed attempt medium.
	"root_signin/alert-root-success-no-mfa.json": {alerts: []alert{{
		rule: "root-console-signin", category: "root_signin", severity: detect.Critical,
		actor: rootName, target: rootARN,
	}}},
	"root_signin/alert-root-success-mfa.json": {alerts: []alert{{
		rule: "root-console-signin", category: "root_signin", severity: detect.High,
		actor: rootName, target: rootARN,
	}}},
	"root_signin/alert-root-failure.json": {alerts: []alert{{
		rule: "root-console-signin", category: "root_signin", severity: detect.Medium,
		actor: rootName, target: rootARN,
	}}},
	"root_signin/alert-root-signin-eu-west-1.json": {alerts: []alert{{
		rule: "root-console-signin", category: "root_signin", severity: detect.High,
		actor: rootName, target: rootARN, region: "eu-west-1",
	}}},
	"root_signin/quiet-iam-user-signin.json":     {},
	"root_signin/quiet-assumed-role-signin.json": {},
	"root_signin/quiet-root-check-mfa.json":      {},

	// Access keys: for oneself medium, for someone else high, anything by root critical, a
	// failed call lower still; the key itself is what remediation deactivates.
	"access_key_created/alert-self.json": {alerts: []alert{{
		rule: "access-key-created", category: "access_key_created", severity: detect.Medium,
		actor: "alice", target: userARN("alice"),
		action: detect.Action{Kind: detect.DeactivateAccessKey, UserName: "alice", AccessKeyID: "AKIA5ALICENEWKEY7Q2X", Account: account},
		act:    true,
	}}},
	"access_key_created/alert-other-user.json": {alerts: []alert{{
		rule: "access-key-created", category: "access_key_created", severity: detect.High,
		actor: "bob", target: userARN("ci-deployer"),
		action: detect.Action{Kind: detect.DeactivateAccessKey, UserName: "ci-deployer", AccessKeyID: "AKIA5CIDEPLOYKEY3H8N", Account: account},
		act:    true,
	}}},
	"access_key_created/alert-root-own-key.json": {alerts: []alert{{
		rule: "access-key-created", category: "access_key_created", severity: detect.Critical,
		actor: rootName, target: rootARN,
	}}},
	"access_key_created/alert-root-for-user.json": {alerts: []alert{{
		rule: "access-key-created", category: "access_key_created", severity: detect.Critical,
		actor: rootName, target: userARN("carol"),
		action: detect.Action{Kind: detect.DeactivateAccessKey, UserName: "carol", AccessKeyID: "AKIA5CAROLNEWKEY1D6W", Account: account},
		act:    true,
	}}},
	"access_key_created/alert-assumed-role-for-user.json": {alerts: []alert{{
		rule: "access-key-created", category: "access_key_created", severity: detect.High,
		actor: dave, target: userARN("ci-deployer"),
		action: detect.Action{Kind: detect.DeactivateAccessKey, UserName: "ci-deployer", AccessKeyID: "AKIA5CIDEPLOYKEY9R2C", Account: account},
		act:    true,
	}}},
	"access_key_created/alert-failed-access-denied.json": {alerts: []alert{{
		rule: "access-key-created", category: "access_key_created", severity: detect.Low,
		actor: "erin", target: userARN("erin"),
	}}},
	"access_key_created/quiet-list-access-keys.json":  {},
	"access_key_created/quiet-own-watchdog-call.json": {},

	// Policies on users: admin-equivalent high, narrow medium, one lower when CloudFormation
	// made the call (and then remediation stays its hand).
	"user_policy_attached/alert-attach-admin.json": {alerts: []alert{{
		rule: "user-managed-policy-attached", category: "user_policy_attached", severity: detect.High,
		actor: "bob", target: userARN("contractor-jo"),
		action: detect.Action{Kind: detect.DetachUserPolicy, UserName: "contractor-jo", PolicyARN: adminARN, Account: account},
		act:    true,
	}}},
	"user_policy_attached/alert-attach-narrow.json": {alerts: []alert{{
		rule: "user-managed-policy-attached", category: "user_policy_attached", severity: detect.Medium,
		actor: dave, target: userARN("auditor-kim"),
		action: detect.Action{Kind: detect.DetachUserPolicy, UserName: "auditor-kim", PolicyARN: "arn:aws:iam::aws:policy/ReadOnlyAccess", Account: account},
		act:    true,
	}}},
	"user_policy_attached/alert-put-inline-admin.json": {alerts: []alert{{
		rule: "user-inline-policy-put", category: "user_policy_attached", severity: detect.High,
		actor: "bob", target: userARN("ci-deployer"),
		action: detect.Action{Kind: detect.DeleteUserPolicy, UserName: "ci-deployer", PolicyName: "ci-full-access", Account: account},
		act:    true,
	}}},
	"user_policy_attached/alert-put-inline-narrow.json": {alerts: []alert{{
		rule: "user-inline-policy-put", category: "user_policy_attached", severity: detect.Medium,
		actor: dave, target: userARN("ci-deployer"),
		action: detect.Action{Kind: detect.DeleteUserPolicy, UserName: "ci-deployer", PolicyName: "read-build-artifacts", Account: account},
		act:    true,
	}}},
	"user_policy_attached/alert-attach-via-cloudformation.json": {alerts: []alert{{
		rule: "user-managed-policy-attached", category: "user_policy_attached", severity: detect.Medium,
		actor: priya, target: userARN("build-agent"),
		action: detect.Action{Kind: detect.DetachUserPolicy, UserName: "build-agent", PolicyARN: iamFullARN, Account: account},
	}}},
	"user_policy_attached/quiet-attach-group-policy.json":     {},
	"user_policy_attached/quiet-attach-role-policy.json":      {},
	"user_policy_attached/quiet-own-watchdog-quarantine.json": {dropped: []string{"user-managed-policy-attached"}},

	// MFA: another user's high, one's own medium, root's own critical. Quarantine acts with
	// the deployment's quarantine_policy_arn.
	"mfa_deactivated/alert-deactivate-other-user.json": {alerts: []alert{{
		rule: "mfa-deactivated", category: "mfa_deactivated", severity: detect.High,
		actor: "bob", target: userARN("frank"),
		action: detect.Action{Kind: detect.QuarantineUser, UserName: "frank", Account: account},
		act:    true,
	}}},
	"mfa_deactivated/alert-deactivate-self.json": {alerts: []alert{{
		rule: "mfa-deactivated", category: "mfa_deactivated", severity: detect.Medium,
		actor: "gina", target: userARN("gina"),
		action: detect.Action{Kind: detect.QuarantineUser, UserName: "gina", Account: account},
		act:    true,
	}}},
	"mfa_deactivated/alert-root-deactivate-own.json": {alerts: []alert{{
		rule: "mfa-deactivated", category: "mfa_deactivated", severity: detect.Critical,
		actor: rootName, target: rootARN,
	}}},
	"mfa_deactivated/alert-delete-virtual-mfa.json": {alerts: []alert{{
		rule: "virtual-mfa-deleted", category: "mfa_deactivated", severity: detect.Medium,
		actor: "bob", target: "arn:aws:iam::" + account + ":mfa/frank-iphone",
	}}},
	"mfa_deactivated/quiet-enable-mfa.json": {},

	"cloudtrail_tampering/alert-stop-logging.json": {alerts: []alert{{
		rule: "cloudtrail-logging-stopped", category: "cloudtrail_tampering", severity: detect.High,
		actor: dave, target: trailARN,
		action: detect.Action{Kind: detect.RestartLogging, Trail: trailARN, Region: "us-east-1", Account: account},
		act:    true,
	}}},
	"cloudtrail_tampering/quiet-start-logging.json": {},

	"other/quiet-s3-getobject.json":       {},
	"other/quiet-describe-instances.json": {},
}

// eventFiles walks events-testdata and returns every fixture's slash-separated path in it.
// The README and the Go file that embeds the fixtures are not fixtures.
func eventFiles(t testing.TB) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(eventsDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(eventsDir, path)
		if err != nil {
			return err
		}
		if rel == "README.md" || strings.HasSuffix(rel, ".go") {
			return nil
		}
		files = append(files, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", eventsDir, err)
	}
	return files
}

func TestEventsTestdataIsListed(t *testing.T) {
	files := eventFiles(t)
	if len(files) == 0 {
		t.Fatalf("no event files under %s", eventsDir)
	}
	for _, name := range files {
		if _, ok := expectations[name]; !ok {
			t.Errorf("%s is not in the expectations table: add what it must produce", name)
		}
	}
	for name := range expectations {
		if !slices.Contains(files, name) {
			t.Errorf("expectations list %s, which is not under %s", name, eventsDir)
		}
	}
}

func TestEventsTestdata(t *testing.T) {
	d := detect.Default()
	for _, name := range eventFiles(t) {
		want, listed := expectations[name]
		if !listed {
			continue // reported by TestEventsTestdataIsListed
		}
		t.Run(name, func(t *testing.T) {
			base := filepath.Base(name)
			switch {
			case strings.HasPrefix(base, "alert-") && len(want.alerts) == 0:
				t.Fatal("an alert- file must expect at least one alert")
			case strings.HasPrefix(base, "quiet-") && len(want.alerts) > 0:
				t.Fatal("a quiet- file must expect no alert")
			case !strings.HasPrefix(base, "alert-") && !strings.HasPrefix(base, "quiet-"):
				t.Fatal("file name must start with alert- or quiet-")
			}

			rec := readOne(t, name)
			// The config of a deployment: the template passes the function's role and the
			// quarantine policy it created.
			cfg := policy.Default()
			cfg.SelfRoleARNs = []string{eventstestdata.WatchdogRoleARN}
			cfg.QuarantinePolicyARN = eventstestdata.QuarantinePolicyARN
			var alerted []detect.Finding
			var decisions []policy.Decision
			var dropped []string
			for _, f := range d.Detect(rec) {
				dec := cfg.Decide(&f)
				if !dec.Alert {
					if dec.Reason != "the watchdog's own call" {
						t.Errorf("finding %s dropped for %q; by default only the watchdog's own calls are", f.Rule, dec.Reason)
					}
					dropped = append(dropped, f.Rule)
					continue
				}
				alerted, decisions = append(alerted, f), append(decisions, dec)
			}
			if !slices.Equal(dropped, want.dropped) {
				t.Errorf("dropped findings %v, want %v", dropped, want.dropped)
			}
			if len(alerted) != len(want.alerts) {
				t.Fatalf("got %d alerted findings %v, want %d", len(alerted), rules(alerted), len(want.alerts))
			}
			for i, f := range alerted {
				checkFinding(t, rec, f, want.alerts[i])
				if dec := decisions[i]; dec.Mode != policy.DryRun || dec.Act != want.alerts[i].act {
					t.Errorf("decision mode %q act %v (reason %q), want mode %q act %v", dec.Mode, dec.Act, dec.Reason, policy.DryRun, want.alerts[i].act)
				}
			}
		})
	}
}

// readOne reads a fixture through the same parser the Lambda and CLI use, and insists on
// exactly one record without errors.
func readOne(t *testing.T, name string) *cloudtrail.Record {
	t.Helper()
	file, err := os.Open(filepath.Join(eventsDir, filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	var recs []*cloudtrail.Record
	for rec, err := range cloudtrail.Records(name, file) {
		if err != nil {
			t.Fatalf("parse: %v", err)
		}
		recs = append(recs, rec)
	}
	if len(recs) != 1 {
		t.Fatalf("got %d records, want one EventBridge event per file", len(recs))
	}
	if recs[0].DetailType == "" {
		t.Error("record did not arrive in an EventBridge envelope")
	}
	return recs[0]
}

func checkFinding(t *testing.T, rec *cloudtrail.Record, f detect.Finding, want alert) {
	t.Helper()
	if f.Rule != want.rule || f.Category != want.category || f.Severity != want.severity {
		t.Errorf("finding %s/%s/%s, want %s/%s/%s", f.Rule, f.Category, f.Severity, want.rule, want.category, want.severity)
	}
	if f.Actor.Name != want.actor {
		t.Errorf("actor name %q, want %q", f.Actor.Name, want.actor)
	}
	if f.Target != want.target {
		t.Errorf("target %q, want %q", f.Target, want.target)
	}
	if f.Action != want.action {
		t.Errorf("action %+v, want %+v", f.Action, want.action)
	}
	if want.region != "" && f.Region != want.region {
		t.Errorf("region %q, want %q", f.Region, want.region)
	}
	if f.Account != account || f.EventID != rec.EventID || f.EventID == "" || f.EventTime.IsZero() || f.Title == "" {
		t.Errorf("finding misses event facts: account %q, event ID %q (record %q), time %v, title %q", f.Account, f.EventID, rec.EventID, f.EventTime, f.Title)
	}
	if rec.IsRoot() && f.Manual == "" {
		t.Error("a root finding must say what a person has to do by hand (Manual)")
	}
	checkWhy(t, f)
}

// checkWhy holds the Why contract: one sentence that names the actor.
func checkWhy(t *testing.T, f detect.Finding) {
	t.Helper()
	why := f.Why
	if why == "" || !strings.HasSuffix(why, ".") || strings.ContainsAny(why, "\r\n") {
		t.Errorf("Why must be one line ending in '.': %q", why)
	}
	for i := strings.Index(why, ". "); i >= 0; i = nextIndex(why, ". ", i) {
		if r := []rune(why[i+2:]); len(r) > 0 && unicode.IsUpper(r[0]) {
			t.Errorf("Why must be one sentence, found a second at %q", why[i+2:])
			break
		}
	}
	if !strings.Contains(strings.ToLower(why), strings.ToLower(f.Actor.Name)) {
		t.Errorf("Why does not name the actor %q: %q", f.Actor.Name, why)
	}
}

func nextIndex(s, sub string, after int) int {
	j := strings.Index(s[after+1:], sub)
	if j < 0 {
		return -1
	}
	return after + 1 + j
}

func rules(fs []detect.Finding) []string {
	var ids []string
	for _, f := range fs {
		ids = append(ids, f.Rule)
	}
	return ids
}

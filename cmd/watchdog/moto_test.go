package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/iam-watchdog/iam-watchdog/internal/mototest"
)

// moto is a running moto_server that the CLI reaches through the standard AWS environment,
// with SDK clients straight to it for setting up and reading back state.
type moto struct {
	iam *iam.Client
	ct  *cloudtrail.Client
	s3  *s3.Client
	n   int // names are numbered: the subtests of a test share one server
}

// startMoto starts moto_server and points the CLI's AWS configuration at it. The environment
// is the test's (t.Setenv), so these tests do not run in parallel.
func startMoto(t *testing.T) *moto {
	t.Helper()
	srv := mototest.Start(t)
	home := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL":            srv.Endpoint,
		"AWS_ACCESS_KEY_ID":           "testing",
		"AWS_SECRET_ACCESS_KEY":       "testing",
		"AWS_SESSION_TOKEN":           "",
		"AWS_REGION":                  "us-east-1",
		"AWS_PROFILE":                 "",
		"AWS_CONFIG_FILE":             filepath.Join(home, "no-aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(home, "no-aws-credentials"),
		"AWS_EC2_METADATA_DISABLED":   "true",
		"HOME":                        home,
		"XDG_STATE_HOME":              filepath.Join(home, "state"),
	} {
		t.Setenv(k, v)
	}
	cfg := srv.Config(t)
	return &moto{
		iam: iam.NewFromConfig(cfg),
		ct:  cloudtrail.NewFromConfig(cfg),
		s3:  s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }),
	}
}

// name makes base unique on this server.
func (m *moto) name(base string) string {
	m.n++
	return fmt.Sprintf("%s-%d", base, m.n)
}

// fx is the shared moto fixture over this server's clients.
func (m *moto) fx() *mototest.Fixture {
	return &mototest.Fixture{IAM: m.iam, CloudTrail: m.ct, S3: m.s3}
}

func (m *moto) createUser(t *testing.T, base string) string {
	t.Helper()
	name := m.name(base)
	m.fx().CreateUser(t, name)
	return name
}

func (m *moto) createKey(t *testing.T, user string) string {
	t.Helper()
	return m.fx().CreateKey(t, user)
}

func (m *moto) setKey(t *testing.T, user, key, status string) {
	t.Helper()
	m.fx().SetKey(t, user, key, status)
}

// keys is "KEY=Status" for each of user's access keys, sorted.
func (m *moto) keys(t *testing.T, user string) string {
	t.Helper()
	var s []string
	for k, status := range m.fx().Keys(t, user) {
		s = append(s, k+"="+status)
	}
	slices.Sort(s)
	return strings.Join(s, " ")
}

func (m *moto) createPolicy(t *testing.T, base string) string {
	t.Helper()
	return m.fx().CreatePolicy(t, m.name(base))
}

func (m *moto) attach(t *testing.T, user, policyARN string) {
	t.Helper()
	m.fx().Attach(t, user, policyARN)
}

func (m *moto) detach(t *testing.T, user, policyARN string) {
	t.Helper()
	m.fx().Detach(t, user, policyARN)
}

// attached lists the managed policies attached to user, sorted.
func (m *moto) attached(t *testing.T, user string) string {
	t.Helper()
	return strings.Join(m.fx().Attached(t, user), " ")
}

func (m *moto) putInline(t *testing.T, user, name, doc string) {
	t.Helper()
	m.fx().PutInline(t, user, name, doc)
}

func (m *moto) deleteInline(t *testing.T, user, name string) {
	t.Helper()
	m.fx().DeleteInline(t, user, name)
}

// inline is the decoded document of user's inline policy name, or "<absent>".
func (m *moto) inline(t *testing.T, user, name string) string {
	t.Helper()
	return m.fx().Inline(t, user, name)
}

// createStoppedTrail creates a trail over a new bucket, starts and stops its logging, and
// returns its name (moto finds trails by name only).
func (m *moto) createStoppedTrail(t *testing.T, base string) string {
	t.Helper()
	name := m.name(base)
	m.fx().CreateStoppedTrail(t, name)
	return name
}

func (m *moto) logging(t *testing.T, trail string) string {
	t.Helper()
	return fmt.Sprintf("logging=%t", m.fx().Logging(t, trail))
}

// inlineDocument has spaces, newlines, tabs, non-ASCII text, '+' and '%', so that a restore
// that is not byte for byte (re-marshalled JSON, form-decoded '+') shows up.
const inlineDocument = "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\n\t\"Effect\": \"Allow\",\n" +
	"      \"Action\": [\"s3:GetObject\",  \"s3:ListBucket\"],\n" +
	"      \"Resource\": \"arn:aws:s3:::équipe-données/*\",\n" +
	"      \"Condition\": {\"StringLike\": {\"aws:PrincipalTag/team\": \"data+ops 100% ☃ 日本\"}}\n" +
	"    }\n  ]\n}\n"

// scene is the AWS state a risky change left behind in moto, and the event that reports it.
type scene struct {
	file string // the example event the event is made from
	rule string
	// edit makes the event's record name what the scene created.
	edit func(rec map[string]any)
	// state snapshots what the action touches; applied is what it must be after the action.
	state   func(t *testing.T) string
	applied string
	// disturb changes the state by hand after an undo, so that a second undo that wrongly
	// acted again would show.
	disturb func(t *testing.T)
	// enable puts the changed thing back by hand, as a person would (keyScene only).
	enable func(t *testing.T)
	// config is YAML the scene needs (the quarantine policy), or "".
	config string
	// target is the finding's target ARN.
	target string
}

func userARN(user string) string { return "arn:aws:iam::" + mototest.AccountID + ":user/" + user }

// keyScene: bob created an access key for another user, who has a second key that must stay
// as it is.
func keyScene(t *testing.T, m *moto) scene {
	user := m.createUser(t, "key-owner")
	other := m.createKey(t, user)
	key := m.createKey(t, user)
	return scene{
		file: "access_key_created/alert-other-user.json", rule: "access-key-created",
		edit: func(rec map[string]any) {
			rec["requestParameters"] = map[string]any{"userName": user}
			rec["responseElements"] = map[string]any{"accessKey": map[string]any{
				"userName": user, "accessKeyId": key, "status": "Active", "createDate": "May 2, 2024, 10:17:26 AM"}}
		},
		state:   func(t *testing.T) string { return m.keys(t, user) },
		applied: strings.Join(sorted(key+"=Inactive", other+"=Active"), " "),
		disturb: func(t *testing.T) { m.setKey(t, user, key, "Inactive") },
		enable:  func(t *testing.T) { m.setKey(t, user, key, "Active") },
		target:  userARN(user),
	}
}

// attachScene: a broad customer-managed policy attached straight to a user who has another
// one that must stay attached. file is the AttachUserPolicy example to start from.
func attachScene(t *testing.T, m *moto, file string) scene {
	user := m.createUser(t, "attached")
	broad := m.createPolicy(t, "Broad")
	other := m.createPolicy(t, "Other")
	m.attach(t, user, other)
	m.attach(t, user, broad)
	return scene{
		file: file, rule: "user-managed-policy-attached",
		edit: func(rec map[string]any) {
			rec["requestParameters"] = map[string]any{"userName": user, "policyArn": broad}
		},
		state:   func(t *testing.T) string { return m.attached(t, user) },
		applied: other,
		disturb: func(t *testing.T) { m.detach(t, user, broad) },
		target:  userARN(user),
	}
}

func inlineScene(t *testing.T, m *moto) scene {
	user := m.createUser(t, "inline")
	const name = "data-access"
	m.putInline(t, user, name, inlineDocument)
	if got := m.inline(t, user, name); got != inlineDocument {
		t.Fatalf("moto does not keep an inline document as written:\n got %q\nwant %q", got, inlineDocument)
	}
	return scene{
		file: "user_policy_attached/alert-put-inline-narrow.json", rule: "user-inline-policy-put",
		edit: func(rec map[string]any) {
			rec["requestParameters"] = map[string]any{"userName": user, "policyName": name, "policyDocument": inlineDocument}
		},
		state:   func(t *testing.T) string { return m.inline(t, user, name) },
		applied: "<absent>",
		disturb: func(t *testing.T) { m.deleteInline(t, user, name) },
		target:  userARN(user),
	}
}

func quarantineScene(t *testing.T, m *moto) scene {
	user := m.createUser(t, "no-mfa")
	quarantine := m.createPolicy(t, "watchdog-quarantine")
	existing := m.createPolicy(t, "Existing")
	m.attach(t, user, existing) // must survive the quarantine and its undo
	return scene{
		file: "mfa_deactivated/alert-deactivate-other-user.json", rule: "mfa-deactivated",
		edit: func(rec map[string]any) {
			rec["requestParameters"] = map[string]any{"userName": user, "serialNumber": "arn:aws:iam::123456789012:mfa/" + user}
		},
		state:   func(t *testing.T) string { return m.attached(t, user) },
		applied: strings.Join(sorted(existing, quarantine), " "),
		disturb: func(t *testing.T) { m.attach(t, user, quarantine) },
		config:  "quarantine_policy_arn: " + quarantine + "\n",
		target:  userARN(user),
	}
}

func trailScene(t *testing.T, m *moto) scene {
	trail := m.createStoppedTrail(t, "main")
	return scene{
		file: "cloudtrail_tampering/alert-stop-logging.json", rule: "cloudtrail-logging-stopped",
		edit: func(rec map[string]any) {
			rec["requestParameters"] = map[string]any{"name": trail}
		},
		state:   func(t *testing.T) string { return m.logging(t, trail) },
		applied: "logging=true",
		target:  trail,
	}
}

func sorted(s ...string) []string {
	slices.Sort(s)
	return s
}

// writeSceneEvent writes the scene's event, edited by edits, with a fresh eventID, and
// returns its path and eventID.
func writeSceneEvent(t *testing.T, dir string, sc scene, edits ...func(rec map[string]any)) (string, string) {
	t.Helper()
	id := fmt.Sprintf("cli-test-%s", strings.NewReplacer("/", "-", " ", "_").Replace(t.Name()))
	return writeEventAs(t, dir, "event.json", sc, id, edits...), id
}

// writeEventAs writes the scene's event under eventID id, edited by edits, to dir/name.
func writeEventAs(t *testing.T, dir, name string, sc scene, id string, edits ...func(rec map[string]any)) string {
	t.Helper()
	ev := readEvent(t, sc.file)
	rec := detail(t, ev)
	sc.edit(rec)
	for _, e := range edits {
		e(rec)
	}
	rec["eventID"] = id
	return writeFile(t, dir, name, compact(t, ev))
}

// writeConfig writes a config file from YAML lines, or returns "" for none.
func writeConfig(t *testing.T, dir string, yaml ...string) string {
	t.Helper()
	body := strings.Join(yaml, "")
	if body == "" {
		return ""
	}
	return writeFile(t, dir, "config.yaml", []byte(body))
}

// withConfig adds --config when there is one.
func withConfig(cfg string, args ...string) []string {
	if cfg == "" {
		return args
	}
	return append([]string{args[0], "--config", cfg}, args[1:]...)
}

// oneRow parses stdout as exactly one jsonl row.
func oneRow(t *testing.T, stdout string) row {
	t.Helper()
	rows := parseRows(t, stdout)
	if len(rows) != 1 {
		t.Fatalf("%d rows, want 1:\n%s", len(rows), stdout)
	}
	return rows[0]
}

func TestRemediationMoto(t *testing.T) {
	m := startMoto(t)
	tests := []struct {
		action string
		scene  func(t *testing.T) scene
	}{
		{"deactivate_access_key", func(t *testing.T) scene { return keyScene(t, m) }},
		{"detach_user_policy", func(t *testing.T) scene { return attachScene(t, m, "user_policy_attached/alert-attach-admin.json") }},
		{"delete_user_policy", func(t *testing.T) scene { return inlineScene(t, m) }},
		{"quarantine_user", func(t *testing.T) scene { return quarantineScene(t, m) }},
		{"restart_logging", func(t *testing.T) scene { return trailScene(t, m) }},
	}
	for _, tc := range tests {
		t.Run(tc.action, func(t *testing.T) {
			dir := t.TempDir()
			sc := tc.scene(t)
			event, id := writeSceneEvent(t, dir, sc)
			cfg := writeConfig(t, dir, sc.config)
			stateFile := filepath.Join(dir, "state", "watchdog.json")
			before := sc.state(t)

			r := mustRun(t, withConfig(cfg, "replay", "--mode", "auto", "--state", stateFile, "--output", "jsonl", event)...)
			rw := oneRow(t, r.stdout)
			if rw.EventID != id || rw.Rule != sc.rule || rw.Target != sc.target {
				t.Errorf("row for event %s rule %s target %s, want %s %s %s", rw.EventID, rw.Rule, rw.Target, id, sc.rule, sc.target)
			}
			if rw.Remediation == nil {
				t.Fatalf("remediation null, want %s done", tc.action)
			}
			wantUndo := "watchdog undo " + id
			if tc.action == "restart_logging" {
				wantUndo = "" // never undone, so no undo is promised
			}
			if got := *rw.Remediation; got.Action != tc.action || got.Status != "done" || got.Undo != wantUndo {
				t.Fatalf("remediation %+v, want action %s status done undo %q", got, tc.action, wantUndo)
			}
			if got := sc.state(t); got != sc.applied {
				t.Fatalf("state after replay = %q, want %q (before: %q)", got, sc.applied, before)
			}
			if _, err := os.Stat(stateFile); err != nil {
				t.Errorf("no state file after acting: %v", err)
			}

			r = runCLI(t, "", withConfig(cfg, "undo", "--state", stateFile, id)...)
			if tc.action == "restart_logging" {
				// The watchdog never stops a trail, not even to undo.
				if r.err == nil || isUsage(r.err) || !strings.Contains(r.err.Error(), "not reversible") {
					t.Errorf("undo of restart_logging = %v, want an error saying it is not reversible", r.err)
				}
				if got := sc.state(t); got != sc.applied {
					t.Errorf("state after the refused undo = %q, want %q", got, sc.applied)
				}
				return
			}
			if r.err != nil {
				t.Fatalf("undo: %v\nstderr:\n%s", r.err, r.stderr)
			}
			if want := sc.rule + ": undone " + tc.action; !strings.Contains(r.stdout, want) {
				t.Errorf("undo said %q, want %q", r.stdout, want)
			}
			if got := sc.state(t); got != before {
				t.Fatalf("state after undo = %q, want the state before %q", got, before)
			}

			sc.disturb(t)
			disturbed := sc.state(t)
			r = runCLI(t, "", withConfig(cfg, "undo", "--state", stateFile, id)...)
			if r.err != nil {
				t.Fatalf("second undo: %v\nstderr:\n%s", r.err, r.stderr)
			}
			if want := sc.rule + ": already undone at "; !strings.Contains(r.stdout, want) {
				t.Errorf("second undo said %q, want %q", r.stdout, want)
			}
			if got := sc.state(t); got != disturbed {
				t.Errorf("second undo changed the state: %q, want it left at %q", got, disturbed)
			}
		})
	}

	t.Run("default state path", func(t *testing.T) {
		dir := t.TempDir()
		sc := keyScene(t, m)
		event, id := writeSceneEvent(t, dir, sc)
		before := sc.state(t)
		rw := oneRow(t, mustRun(t, "replay", "--mode", "auto", "--output", "jsonl", event).stdout)
		if rw.Remediation == nil || rw.Remediation.Status != "done" {
			t.Fatalf("remediation %+v, want done", rw.Remediation)
		}
		def := filepath.Join(os.Getenv("XDG_STATE_HOME"), "iam-watchdog", "state.json")
		if _, err := os.Stat(def); err != nil {
			t.Fatalf("no state at the default path %s: %v", def, err)
		}
		mustRun(t, "undo", id)
		if got := sc.state(t); got != before {
			t.Errorf("state after undo = %q, want %q", got, before)
		}
	})

	t.Run("undo of an unknown event", func(t *testing.T) {
		stateFile := filepath.Join(t.TempDir(), "state.json")
		r := runCLI(t, "", "undo", "--state", stateFile, "no-such-event")
		if r.err == nil || isUsage(r.err) || !strings.Contains(r.err.Error(), "no-such-event") {
			t.Errorf("undo = %v, want an error naming the event (exit 1)", r.err)
		}
	})
}

// watchdogIdentity is the userIdentity of the watchdog's own Lambda session.
func watchdogIdentity(t *testing.T) any {
	t.Helper()
	return detail(t, readEvent(t, "access_key_created/quiet-own-watchdog-call.json"))["userIdentity"]
}

// watchdogUserAgent is what the watchdog's SDK calls send (app ID iam-watchdog).
const watchdogUserAgent = "aws-sdk-go-v2/1.36.3 ua/2.1 os/linux lang/go#1.24.2 md/GOOS#linux md/GOARCH#arm64 api/iam#1.41.1 app/iam-watchdog m/E"

// TestSafetyMoto: every case where the watchdog must not act, through the CLI in auto mode
// against a real moto_server: the state never changes, and the row (if any) says why.
func TestSafetyMoto(t *testing.T) {
	m := startMoto(t)
	const deployment = "self_role_arns: [arn:aws:iam::123456789012:role/iam-watchdog-WatchdogFunctionRole-Q1W2E3R4T5Y6]\n"
	const bob = "arn:aws:iam::123456789012:user/bob"
	tests := []struct {
		name   string
		scene  func(t *testing.T) scene
		args   []string
		config func(sc scene) string
		edit   func(rec map[string]any)
		// wantStatus "" means no row at all; wantReason is a prefix of the reason, or a
		// substring when it starts with "…".
		wantStatus, wantReason string
	}{
		{
			name:       "--dry-run",
			args:       []string{"--dry-run"},
			config:     func(scene) string { return "mode: auto\n" },
			wantStatus: "planned", wantReason: "dry run: would deactivate access key",
		},
		{
			name:       "--dry-run beats --mode auto and a rule in auto",
			args:       []string{"--mode", "auto", "--dry-run"},
			config:     func(scene) string { return "mode: auto\nrules:\n  access-key-created:\n    mode: auto\n" },
			wantStatus: "planned", wantReason: "dry run: would deactivate access key",
		},
		{
			name:       "--mode dry-run over a config in auto",
			args:       []string{"--mode", "dry-run"},
			config:     func(scene) string { return "mode: auto\n" },
			wantStatus: "planned", wantReason: "dry run: would deactivate access key",
		},
		{
			name:   "actor allowlisted",
			args:   []string{"--mode", "auto"},
			config: func(scene) string { return deployment + "allow:\n  actors: [" + bob + "]\n" },
		},
		{
			name:   "actor allowlisted for the rule",
			args:   []string{"--mode", "auto"},
			config: func(scene) string { return "rules:\n  access-key-created:\n    allow:\n      actors: [" + bob + "]\n" },
		},
		{
			name:   "target allowlisted",
			args:   []string{"--mode", "auto"},
			config: func(sc scene) string { return deployment + "allow:\n  targets: [" + sc.target + "]\n" },
		},
		{
			name:   "the watchdog's own role",
			args:   []string{"--mode", "auto"},
			config: func(scene) string { return deployment },
			edit: func(rec map[string]any) {
				rec["userIdentity"] = watchdogIdentity(t)
				rec["userAgent"] = watchdogUserAgent
			},
		},
		{
			name:   "the watchdog's own role without its user agent",
			args:   []string{"--mode", "auto"},
			config: func(scene) string { return deployment },
			edit:   func(rec map[string]any) { rec["userIdentity"] = watchdogIdentity(t) },
		},
		{
			name:   "failed call",
			args:   []string{"--mode", "auto"},
			config: func(scene) string { return deployment },
			edit: func(rec map[string]any) {
				rec["errorCode"] = "AccessDenied"
				rec["errorMessage"] = "User: arn:aws:iam::123456789012:user/bob is not authorized to perform: iam:CreateAccessKey"
			},
			wantStatus: "skipped", wantReason: "…failed",
		},
		{
			name: "made by CloudFormation (invokedBy)",
			scene: func(t *testing.T) scene {
				return attachScene(t, m, "user_policy_attached/alert-attach-via-cloudformation.json")
			},
			args:       []string{"--mode", "auto"},
			config:     func(scene) string { return deployment },
			wantStatus: "skipped", wantReason: "cloudformation.amazonaws.com made this change",
		},
		{
			name:       "rule off",
			args:       []string{"--mode", "auto"},
			config:     func(scene) string { return "rules:\n  access-key-created:\n    mode: \"off\"\n" },
			wantStatus: "skipped", wantReason: "remediation is off for access-key-created",
		},
		{
			name:       "approve",
			args:       []string{"--mode", "approve"},
			config:     func(scene) string { return "" },
			wantStatus: "pending", wantReason: "waiting for approval to deactivate access key",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var sc scene
			if tc.scene != nil {
				sc = tc.scene(t)
			} else {
				sc = keyScene(t, m)
			}
			var edits []func(map[string]any)
			if tc.edit != nil {
				edits = append(edits, tc.edit)
			}
			event, id := writeSceneEvent(t, dir, sc, edits...)
			cfg := writeConfig(t, dir, tc.config(sc))
			before := sc.state(t)

			args := append(append([]string{"replay"}, tc.args...), "--state", filepath.Join(dir, "state.json"), "--output", "jsonl", event)
			r := mustRun(t, withConfig(cfg, args...)...)
			if got := sc.state(t); got != before {
				t.Errorf("the state changed: %q, want it left at %q", got, before)
			}
			if tc.wantStatus == "" {
				if r.stdout != "" {
					t.Errorf("printed a row, want none:\n%s", r.stdout)
				}
				return
			}
			rw := oneRow(t, r.stdout)
			if rw.EventID != id {
				t.Errorf("row for event %s, want %s", rw.EventID, id)
			}
			o := rw.Remediation
			if o == nil {
				t.Fatalf("remediation null, want status %s saying why (%q)", tc.wantStatus, tc.wantReason)
			}
			okReason := strings.HasPrefix(o.Reason, tc.wantReason)
			if w, ok := strings.CutPrefix(tc.wantReason, "…"); ok {
				okReason = strings.Contains(o.Reason, w)
			}
			if o.Status != tc.wantStatus || !okReason {
				t.Errorf("remediation %+v, want status %s with reason %q", *o, tc.wantStatus, tc.wantReason)
			}
			if o.Undo != "" {
				t.Errorf("undo %q offered although nothing was done", o.Undo)
			}
		})
	}

	t.Run("same event twice acts once", func(t *testing.T) {
		dir := t.TempDir()
		sc := keyScene(t, m)
		event, id := writeSceneEvent(t, dir, sc)
		before := sc.state(t)
		args := []string{"replay", "--mode", "auto", "--state", filepath.Join(dir, "state.json"), "--output", "jsonl", event}

		rw := oneRow(t, mustRun(t, args...).stdout)
		if rw.Remediation == nil || rw.Remediation.Status != "done" {
			t.Fatalf("first run: remediation %+v, want done", rw.Remediation)
		}
		if got := sc.state(t); got != sc.applied {
			t.Fatalf("after the first run: %q, want %q", got, sc.applied)
		}
		// Someone re-activates the key on purpose; a second delivery must not undo that.
		sc.enable(t)
		if got := sc.state(t); got != before {
			t.Fatalf("after re-activating: %q, want %q", got, before)
		}

		rw = oneRow(t, mustRun(t, args...).stdout)
		if rw.EventID != id || rw.Remediation == nil || rw.Remediation.Status != "skipped" || !strings.Contains(rw.Remediation.Reason, "already handled") {
			t.Errorf("second run: row %+v remediation %+v, want status skipped, already handled", rw, rw.Remediation)
		}
		if rw.Remediation != nil && rw.Remediation.Undo != "" {
			t.Errorf("second run offers undo %q for an action it did not take", rw.Remediation.Undo)
		}
		if got := sc.state(t); got != before {
			t.Errorf("the second run changed the state: %q, want %q", got, before)
		}
	})
}

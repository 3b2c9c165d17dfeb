package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/iam-watchdog/iam-watchdog/internal/faultproxy"
	"github.com/iam-watchdog/iam-watchdog/internal/mototest"
	"github.com/iam-watchdog/iam-watchdog/pkg/replay"
)

// Issue 13 through the CLI against moto_server: what a caller chooses buys nothing, `watchdog
// undo` is not fought, --mode is a ceiling, a failed remediation exits 1, and a lost answer is
// done with its undo record.

// madeBy makes a record the call of arn (an IAM user's or a role session's) at time at, as
// CloudTrail records a call `watchdog undo` makes: the CLI's user agent, with the app ID.
func madeBy(arn string, at time.Time) func(rec map[string]any) {
	return func(rec map[string]any) {
		typ := "IAMUser"
		if strings.Contains(arn, ":assumed-role/") {
			typ = "AssumedRole"
		}
		rec["userIdentity"] = map[string]any{"type": typ, "principalId": "AIDA5UNDOEREXAMPLE01", "arn": arn,
			"accountId": mototest.AccountID, "accessKeyId": "AKIA5UNDOEREXAMPLE01", "userName": arn[strings.LastIndexByte(arn, '/')+1:]}
		rec["eventTime"] = at.UTC().Format(time.RFC3339)
		rec["userAgent"] = watchdogUserAgent
		rec["sourceIPAddress"] = "198.51.100.77"
	}
}

// callerARN is the ARN the CLI's credentials act as, as `watchdog undo` records it.
func callerARN(t *testing.T) string {
	t.Helper()
	cfg := mototest.Config(t, os.Getenv("AWS_ENDPOINT_URL"))
	out, err := sts.NewFromConfig(cfg).GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.Arn)
}

// TestWatchdogUserAgentIsReverted: anyone can send the watchdog's app ID (AWS_SDK_UA_APP_ID=
// iam-watchdog); a change carrying it is alerted and reverted like any other (issue 13, point 3).
func TestWatchdogUserAgentIsReverted(t *testing.T) {
	m := startMoto(t)
	for _, tc := range []struct {
		name  string
		scene func(t *testing.T) scene
	}{
		{"access key", func(t *testing.T) scene { return keyScene(t, m) }},
		{"managed policy", func(t *testing.T) scene { return attachScene(t, m, "user_policy_attached/alert-attach-admin.json") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			sc := tc.scene(t)
			event, _ := writeSceneEvent(t, dir, sc, func(rec map[string]any) { rec["userAgent"] = watchdogUserAgent })
			rw := oneRow(t, mustRun(t, "replay", "--mode", "auto", "--state", filepath.Join(dir, "state.json"), "--output", "jsonl", event).stdout)
			if rw.Remediation == nil || rw.Remediation.Status != "done" {
				t.Fatalf("remediation %+v: want done, whatever the user agent says", rw.Remediation)
			}
			if got := sc.state(t); got != sc.applied {
				t.Fatalf("state %q, want %q: the change was not reverted", got, sc.applied)
			}
		})
	}
}

// TestUndoIsNotFoughtMoto: `watchdog undo` re-attaches a policy (or puts an inline one back);
// CloudTrail records that call, made by the undo's caller, and auto mode must not revert it. The
// undo's own event — built as CloudTrail records it, by the caller's ARN — is reported and not
// reverted; the same event by another actor, or after the grace period, is reverted
// (issue 13, point 3).
func TestUndoIsNotFoughtMoto(t *testing.T) {
	m := startMoto(t)
	caller := callerARN(t)
	scenes := []struct {
		name  string
		scene func(t *testing.T) scene
	}{
		{"detach_user_policy", func(t *testing.T) scene { return attachScene(t, m, "user_policy_attached/alert-attach-admin.json") }},
		{"delete_user_policy", func(t *testing.T) scene { return inlineScene(t, m) }},
	}
	cases := []struct {
		name     string
		actor    string
		after    time.Duration
		reverted bool
	}{
		{name: "the undo's own call", actor: caller},
		{name: "another actor", actor: "arn:aws:iam::" + mototest.AccountID + ":user/mallory", reverted: true},
		{name: "after the grace period", actor: caller, after: 16 * time.Minute, reverted: true},
	}
	for _, s := range scenes {
		for _, tc := range cases {
			t.Run(s.name+"/"+tc.name, func(t *testing.T) {
				dir := t.TempDir()
				sc := s.scene(t)
				stateFile := filepath.Join(dir, "state.json")
				before := sc.state(t)
				event, id := writeSceneEvent(t, dir, sc)
				rw := oneRow(t, mustRun(t, "replay", "--mode", "auto", "--state", stateFile, "--output", "jsonl", event).stdout)
				if rw.Remediation == nil || rw.Remediation.Status != "done" || sc.state(t) != sc.applied {
					t.Fatalf("first revert: %+v, state %q", rw.Remediation, sc.state(t))
				}
				mustRun(t, "undo", "--state", stateFile, id)
				undone := time.Now()
				if got := sc.state(t); got != before {
					t.Fatalf("after undo: %q, want %q", got, before)
				}

				// The undo's call, as CloudTrail records it, replayed in auto mode.
				undoEvent := writeEventAs(t, dir, "undo-event.json", sc, id+"-undo", madeBy(tc.actor, undone.Add(tc.after)))
				rw = oneRow(t, mustRun(t, "replay", "--mode", "auto", "--state", stateFile, "--output", "jsonl", undoEvent).stdout)
				o := rw.Remediation
				if o == nil {
					t.Fatal("remediation null")
				}
				if tc.reverted {
					if o.Status != "done" || sc.state(t) != sc.applied {
						t.Fatalf("remediation %+v, state %q: want it reverted as usual (%q)", o, sc.state(t), sc.applied)
					}
					return
				}
				if o.Status != "skipped" || !strings.HasPrefix(o.Reason, "re-applies what `watchdog undo` put back at ") || !strings.HasSuffix(o.Reason, "; not reverted") || o.Undo != "" {
					t.Fatalf("remediation %+v: want skipped, re-applying what watchdog undo put back", o)
				}
				if got := sc.state(t); got != before {
					t.Fatalf("state %q, want the undo's %q left alone", got, before)
				}
			})
		}
	}
}

// TestModeCeilingMakesNoAWSCall: with the example config (mode dry-run, rules in auto),
// `--mode off`, `--mode dry-run` and `--dry-run` cap every rule: no AWS call at all, counted at a
// proxy in front of moto, and nothing changes. Without them, the config's rules in auto act,
// through the same proxy (issue 13, point 6).
func TestModeCeilingMakesNoAWSCall(t *testing.T) {
	m := startMoto(t)
	proxy := faultproxy.Start(t, os.Getenv("AWS_ENDPOINT_URL"))
	t.Setenv("AWS_ENDPOINT_URL", proxy.URL)
	dir := t.TempDir()
	attach := attachScene(t, m, "user_policy_attached/alert-attach-admin.json")
	inline := inlineScene(t, m)
	trail := trailScene(t, m)
	writeEventAs(t, dir, "events/attach.json", attach, "ceiling-attach")
	writeEventAs(t, dir, "events/inline.json", inline, "ceiling-inline")
	writeEventAs(t, dir, "events/trail.json", trail, "ceiling-trail")
	snapshot := func() string {
		return attach.state(t) + " | " + inline.state(t) + " | " + trail.state(t)
	}
	before := snapshot()
	const example = "../../config/watchdog.yaml"

	for _, tc := range []struct {
		name   string
		args   []string
		status string
	}{
		{"--mode off", []string{"--mode", "off"}, "skipped"},
		{"--mode dry-run", []string{"--mode", "dry-run"}, "planned"},
		{"--dry-run", []string{"--dry-run"}, "planned"},
		{"--mode auto --dry-run", []string{"--mode", "auto", "--dry-run"}, "planned"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append([]string{"replay", "--config", example}, tc.args...), "--output", "jsonl", filepath.Join(dir, "events"))
			rows := parseRows(t, mustRun(t, args...).stdout)
			if len(rows) != 3 {
				t.Fatalf("%d rows, want 3", len(rows))
			}
			for _, rw := range rows {
				if rw.Remediation == nil || rw.Remediation.Status != tc.status {
					t.Errorf("%s: remediation %+v, want %s", rw.Rule, rw.Remediation, tc.status)
				}
			}
			if calls := proxy.All(); len(calls) != 0 {
				t.Fatalf("AWS calls made: %v", calls)
			}
			if got := snapshot(); got != before {
				t.Fatalf("state %q, want it unchanged %q", got, before)
			}
		})
	}

	// The control: the proxy sees the CLI's calls, and the config's rules in auto act.
	mustRun(t, "replay", "--config", example, "--output", "jsonl", filepath.Join(dir, "events"))
	if proxy.Counts("DetachUserPolicy").OK != 1 || proxy.Counts("DeleteUserPolicy").OK != 1 || len(proxy.All()) == 0 {
		t.Fatalf("calls without a ceiling: %v, want the rules in auto to act", proxy.All())
	}
	if got := snapshot(); got != attach.applied+" | "+inline.applied+" | "+trail.applied {
		t.Fatalf("state without a ceiling %q", got)
	}
}

// exitCodeOf is the exit code of a run of the built binary: 0 when err is nil; any error other
// than the process's exit status fails the test.
func exitCodeOf(t *testing.T, err error) int {
	t.Helper()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return exit.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return 0
}

// buildWatchdog builds the real binary, for tests of what main makes of Run's errors: once per
// run of the package's tests (testmain_test.go), as the build does not change between them.
// -trimpath, as TestVersion's build from a clone: without it the compiled packages' cache keys
// hold their directory, and the clone's build would compile every package again; -ldflags=-w
// (no DWARF) links faster.
func buildWatchdog(t *testing.T) string {
	t.Helper()
	cliBuild.once.Do(func() {
		cliBuild.bin = filepath.Join(cliBuild.dir, "watchdog")
		if out, err := exec.Command("go", "build", "-trimpath", "-ldflags=-w", "-o", cliBuild.bin, ".").CombinedOutput(); err != nil {
			cliBuild.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if cliBuild.err != nil {
		t.Fatal(cliBuild.err)
	}
	return cliBuild.bin
}

// TestFailedRemediationExitsOne: a remediation that fails (StartLogging on a trail moto does not
// have) is reported in its row, counted in the summary, and the real binary exits 1; one that is
// done exits 0 (issue 13, point 7).
func TestFailedRemediationExitsOne(t *testing.T) {
	bin := buildWatchdog(t) // before startMoto, which gives the test a HOME without Go's caches
	m := startMoto(t)
	dir := t.TempDir()
	missing := scene{file: "cloudtrail_tampering/alert-stop-logging.json",
		edit: func(rec map[string]any) { rec["requestParameters"] = map[string]any{"name": "no-such-trail"} }}
	failing := writeEventAs(t, dir, "failing.json", missing, "exit-failing")
	good := writeEventAs(t, dir, "good.json", keyScene(t, m), "exit-good")

	for _, tc := range []struct {
		name, event, summary string
		code                 int
		status               string
	}{
		{"failed", failing, "watchdog: remediations: 0 planned, 0 done, 0 skipped, 1 failed, 0 pending\n", 1, "failed"},
		{"done", good, "watchdog: remediations: 0 planned, 1 done, 0 skipped, 0 failed, 0 pending\n", 0, "done"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.CommandContext(t.Context(), bin, "replay", "--mode", "auto", "--state", filepath.Join(dir, tc.name+".json"), "--output", "jsonl", tc.event)
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := exitCodeOf(t, err)
			if code != tc.code || !strings.Contains(stderr.String(), tc.summary) {
				t.Fatalf("exit %d, stderr:\n%s\nwant exit %d and %q", code, stderr.String(), tc.code, tc.summary)
			}
			if rw := oneRow(t, stdout.String()); rw.Remediation == nil || rw.Remediation.Status != tc.status {
				t.Fatalf("row %+v, want %s", rw.Remediation, tc.status)
			}
		})
	}

	// In process, Run's error is the one main maps to exit 1.
	r := runCLI(t, "", "replay", "--mode", "auto", "--state", filepath.Join(dir, "again.json"), "--output", "jsonl", failing)
	if r.err != replay.ErrRemediationFailed {
		t.Fatalf("Run: %v, want replay.ErrRemediationFailed", r.err)
	}
}

// TestAnswerLostThroughTheCLI: IAM carries out DetachUserPolicy or DeleteUserPolicy but the
// answer is lost (a 500), once: the SDK's retry meets NoSuchEntity, which answers the
// watchdog's own change, so the finding is done with an undo command, and `watchdog undo` puts
// the policy back (the inline document byte for byte). When every answer to UpdateAccessKey is
// lost, the remediation failed but may have acted: the undo record is kept and named, the run
// exits 1, and undo re-activates the key (issue 13, point 9; the wiring of remediate's
// ErrMayHaveActed).
func TestAnswerLostThroughTheCLI(t *testing.T) {
	m := startMoto(t)
	proxy := faultproxy.Start(t, os.Getenv("AWS_ENDPOINT_URL"))
	t.Setenv("AWS_ENDPOINT_URL", proxy.URL)
	lost := faultproxy.LoseAnswer(faultproxy.QueryError(500, "ServiceFailure", "An internal error occurred."))
	for _, tc := range []struct {
		name  string
		op    string
		scene func(t *testing.T) scene
		times int // 0: every answer lost
	}{
		{"detach_user_policy", "DetachUserPolicy", func(t *testing.T) scene { return attachScene(t, m, "user_policy_attached/alert-attach-admin.json") }, 1},
		{"delete_user_policy", "DeleteUserPolicy", func(t *testing.T) scene { return inlineScene(t, m) }, 1},
		{"deactivate_access_key, every answer lost", "UpdateAccessKey", func(t *testing.T) scene { return keyScene(t, m) }, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer proxy.Clear()
			dir := t.TempDir()
			sc := tc.scene(t)
			before := sc.state(t)
			event, id := writeSceneEvent(t, dir, sc)
			stateFile := filepath.Join(dir, "state.json")
			var opts []faultproxy.Option
			if tc.times > 0 {
				opts = append(opts, faultproxy.Times(tc.times))
			}
			rule := proxy.Inject(faultproxy.Op(tc.op), lost, opts...)

			r := runCLI(t, "", "replay", "--mode", "auto", "--state", stateFile, "--output", "jsonl", event)
			rw := oneRow(t, r.stdout)
			o := rw.Remediation
			if proxy.Hits(rule) == 0 || o == nil || o.Undo != "watchdog undo "+id {
				t.Fatalf("%d answers lost; remediation %+v: want the undo command named", proxy.Hits(rule), o)
			}
			wantStatus, wantErr := "done", error(nil)
			if tc.times == 0 {
				wantStatus, wantErr = "failed", replay.ErrRemediationFailed
			}
			if o.Status != wantStatus || r.err != wantErr {
				t.Fatalf("remediation %+v, run error %v: want %s and %v", o, r.err, wantStatus, wantErr)
			}
			if got := sc.state(t); got != sc.applied {
				t.Fatalf("state %q, want %q: IAM carried the call out", got, sc.applied)
			}

			proxy.Clear()
			mustRun(t, "undo", "--state", stateFile, id)
			if got := sc.state(t); got != before {
				t.Fatalf("after undo: %q, want %q", got, before)
			}
			if tc.op == "DeleteUserPolicy" && sc.state(t) != inlineDocument {
				t.Fatal("the inline document did not come back byte for byte")
			}
		})
	}
}

package main

import (
	"bytes"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/iam-watchdog/iam-watchdog/pkg/clienv"
	"github.com/iam-watchdog/iam-watchdog/pkg/replay"
)

// autoRule sets one rule (access-key-created) to auto and leaves the rest in dry-run; keyEvents
// are that rule's examples, the few events the tests that need no whole replay read.
const (
	autoRule  = "testdata/auto-rule.yaml"
	keyEvents = eventsDir + "/access_key_created"
)

// withoutCredentials gives the test a laptop with no AWS credentials at all (issue 17, point
// 2): no AWS_* variables, a HOME with no ~/.aws, no instance metadata, and every AWS endpoint a
// closed port on 127.0.0.1, so that nothing could reach AWS even by mistake.
func withoutCredentials(t *testing.T) {
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "AWS_") {
			t.Setenv(name, "")
			os.Unsetenv(name)
		}
	}
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_STATE_HOME", home)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_ENDPOINT_URL", closedURL(t))
}

// closedURL is a URL on 127.0.0.1 that nothing listens on.
func closedURL(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

// TestReplayWithoutCredentials: with a rule in auto and no credentials, every alert is printed
// (those that need no AWS call as ever), each action that needs AWS fails with one sentence,
// the summary says it once, and no SDK text reaches the user.
func TestReplayWithoutCredentials(t *testing.T) {
	withoutCredentials(t)
	dry := runCLI(t, "", "replay", "--config", autoRule, "--dry-run", "--output", "jsonl", eventsDir)
	if dry.err != nil {
		t.Fatalf("dry run: %v\n%s", dry.err, dry.stderr)
	}
	r := runCLI(t, "", "replay", "--config", autoRule, "--output", "jsonl", eventsDir)
	if !errors.Is(r.err, replay.ErrRemediationFailed) {
		t.Fatalf("err %v, want %v\nstderr:\n%s", r.err, replay.ErrRemediationFailed, r.stderr)
	}
	want, got := parseRows(t, dry.stdout), parseRows(t, r.stdout)
	if len(got) != len(want) || len(got) == 0 {
		t.Fatalf("%d alerts without credentials, %d in dry-run: every alert must be printed", len(got), len(want))
	}
	failed, rootSignIns := 0, 0
	for i, rw := range got {
		if rw.EventID != want[i].EventID || rw.Rule != want[i].Rule {
			t.Fatalf("alert %d is %s %s, in dry-run %s %s", i, rw.EventID, rw.Rule, want[i].EventID, want[i].Rule)
		}
		if rw.Rule == "root-console-signin" {
			rootSignIns++
		}
		if rw.Rule != "access-key-created" || rw.Remediation == nil || rw.Remediation.Status != "failed" {
			if rw.Remediation != nil && rw.Remediation.Status == "failed" {
				t.Fatalf("%s %s failed although its rule is in dry-run: %+v", rw.EventID, rw.Rule, rw.Remediation)
			}
			continue
		}
		failed++
		if rw.Remediation.Reason != clienv.ErrNoCredentials.Error() {
			t.Fatalf("%s: reason %q, want the one sentence %q", rw.EventID, rw.Remediation.Reason, clienv.ErrNoCredentials)
		}
	}
	if failed == 0 || rootSignIns == 0 {
		t.Fatalf("%d failed access-key actions, %d root sign-ins: want some of each", failed, rootSignIns)
	}
	if n := strings.Count(r.stderr, "no AWS credentials found"); n != 1 {
		t.Fatalf("the summary says no credentials %d times, want once:\n%s", n, r.stderr)
	}
	wantLine := "watchdog: " + strconv.Itoa(failed) + " failed: " + clienv.ErrNoCredentials.Error() + "\n"
	if !strings.Contains(r.stderr, wantLine) {
		t.Fatalf("stderr lacks %q:\n%s", wantLine, r.stderr)
	}
	for _, sdk := range []string{"IMDS", "operation error", "GetCallerIdentity", "SDK"} {
		if strings.Contains(r.stdout+r.stderr, sdk) {
			t.Fatalf("SDK text %q reached the user:\n%s", sdk, r.stderr)
		}
	}
}

// TestUndoLooksUpBeforeCredentials: `watchdog undo` says an unknown event has no record
// without asking for credentials; an event with a record gets as far as the credentials.
func TestUndoLooksUpBeforeCredentials(t *testing.T) {
	withoutCredentials(t)
	r := runCLI(t, "", "undo", "UNKNOWN_ID")
	if r.err == nil || !strings.Contains(r.err.Error(), "no action is recorded for UNKNOWN_ID") || errors.Is(r.err, clienv.ErrNoCredentials) {
		t.Fatalf("undo UNKNOWN_ID: %v, want no action is recorded", r.err)
	}
	// A replay without credentials records its failed attempts in the default state file.
	rep := runCLI(t, "", "replay", "--config", autoRule, "--output", "jsonl", keyEvents)
	var recorded string
	for _, rw := range parseRows(t, rep.stdout) {
		if rw.Remediation != nil && rw.Remediation.Status == "failed" {
			recorded = rw.EventID
			break
		}
	}
	if recorded == "" {
		t.Fatalf("no failed remediation in the replay:\n%s", rep.stderr)
	}
	if r := runCLI(t, "", "undo", recorded); !errors.Is(r.err, clienv.ErrNoCredentials) {
		t.Fatalf("undo %s: %v, want %v", recorded, r.err, clienv.ErrNoCredentials)
	}
}

// TestSDKLogsOnlyWithDebug runs the real binary against a local stand-in for the EC2 instance
// metadata service that refuses IMDSv2 tokens and has no role, as a laptop's network might: the
// SDK then logs "falling back to IMDSv1" on its own. Those lines reach standard error with
// --debug only, and the answer is the same sentence either way; undo of an unknown event exits 1.
func TestSDKLogsOnlyWithDebug(t *testing.T) {
	t.Parallel() // its own environment, in the child's
	bin := buildWatchdog(t)
	imds := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/latest/api/token" {
			http.Error(w, "forbidden", http.StatusForbidden) // the SDK falls back to IMDSv1 on 403
			return
		}
		http.NotFound(w, r) // no role
	}))
	t.Cleanup(imds.Close)
	// Each run its own HOME: a second replay into the same state file finds every alert done.
	homes := []string{t.TempDir(), t.TempDir(), t.TempDir()}
	for _, tc := range []struct {
		name     string
		args     []string
		code     int
		sdkLines bool
		wantErr  string
		home     string
	}{
		{"quiet", []string{"replay", "--config", autoRule, keyEvents}, 1, false, "failed: " + clienv.ErrNoCredentials.Error(), homes[0]},
		{"debug", []string{"replay", "--debug", "--config", autoRule, keyEvents}, 1, true, "failed: " + clienv.ErrNoCredentials.Error(), homes[1]},
		{"undo unknown", []string{"undo", "UNKNOWN_ID"}, 1, false, "watchdog: no action is recorded for UNKNOWN_ID in " + filepath.Join(homes[2], "iam-watchdog", "state.json"), homes[2]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.CommandContext(t.Context(), bin, tc.args...)
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + tc.home, "XDG_STATE_HOME=" + tc.home,
				"AWS_EC2_METADATA_SERVICE_ENDPOINT=" + imds.URL, "AWS_ENDPOINT_URL=" + closedURL(t)}
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != tc.code {
				t.Fatalf("%v, want exit %d\nstderr:\n%s", err, tc.code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.wantErr) {
				t.Fatalf("stderr lacks %q:\n%s", tc.wantErr, stderr.String())
			}
			if got := strings.Contains(stderr.String(), "falling back to IMDSv1"); got != tc.sdkLines {
				t.Fatalf("SDK log lines shown: %v, want %v\nstderr:\n%s", got, tc.sdkLines, stderr.String())
			}
		})
	}
}

package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/iam-watchdog/iam-watchdog/internal/demo"
)

// TestDemoDone: with moto_server on PATH (as `make test` and CI have it), the demo acts for
// real against it: three done alerts naming their undo command, each undone with the undo
// command's code, and moto read back after each step.
func TestDemoDone(t *testing.T) {
	r := mustRunDemo(t)
	start := strings.Index(r.stdout, demo.RevertsHeading)
	end := strings.Index(r.stdout, "══ One alert's life in Slack")
	if start < 0 || end < start {
		t.Fatalf("no done section before the Slack thread:\n%s", r.stdout)
	}
	done := r.stdout[start:end]
	// moto assigns the access key's ID.
	m := regexp.MustCompile(`Reverted: deactivated access key (AKIA[A-Z0-9]+) `).FindStringSubmatch(done)
	if m == nil {
		t.Fatalf("no deactivated access key in the done section:\n%s", done)
	}
	key := strings.NewReplacer("KEY", m[1])
	if strings.Contains(r.stdout, demo.RevertsSkipped) {
		t.Errorf("the done section ran and was skipped")
	}
	for _, s := range []string{"moto_server", "not AWS", "http://127.0.0.1:"} {
		if !strings.Contains(done, s) {
			t.Errorf("the banner does not say %q:\n%s", s, done)
		}
	}
	for _, ev := range []struct{ file, rule, action, reverted, after, undone string }{
		{"access_key_created/alert-other-user.json", "access-key-created", "deactivate_access_key",
			"Reverted: deactivated access key KEY of user ci-deployer", "access key KEY of user ci-deployer is Inactive", "access key KEY of user ci-deployer is Active"},
		{"user_policy_attached/alert-attach-admin.json", "user-managed-policy-attached", "detach_user_policy",
			"Reverted: detached policy arn:aws:iam::aws:policy/AdministratorAccess from user contractor-jo",
			"policy arn:aws:iam::aws:policy/AdministratorAccess is not attached to user contractor-jo",
			"policy arn:aws:iam::aws:policy/AdministratorAccess is attached to user contractor-jo"},
		{"user_policy_attached/alert-put-inline-admin.json", "user-inline-policy-put", "delete_user_policy",
			"Reverted: deleted inline policy ci-full-access from user ci-deployer",
			"user ci-deployer has no inline policy ci-full-access", "user ci-deployer has inline policy ci-full-access, its document byte for byte as put"},
	} {
		id := eventIDOf(t, ev.file)
		for _, want := range []string{
			key.Replace(ev.reverted),
			"undo      watchdog undo " + id,
			"moto, after: " + key.Replace(ev.after),
			"$ watchdog undo " + id + "\n" + ev.rule + ": undone " + ev.action + "\n  moto, after undo: " + key.Replace(ev.undone),
		} {
			if !strings.Contains(done, want) {
				t.Errorf("%s: the done section does not say %q:\n%s", ev.file, want, done)
			}
		}
	}
	if got := strings.Count(done, "Reverted:"); got != 3 {
		t.Errorf("%d Reverted: alerts, want 3", got)
	}
	// The demo ends with `watchdog audit` of the moto account the reverts and their undo left.
	audit := strings.Index(r.stdout, demo.AuditHeading)
	if audit < end {
		t.Fatalf("the demo does not end with the audit of the moto account:\n%s", r.stdout[end:])
	}
	for _, want := range []string{"Audit of account 123456789012 at ", "FAIL medium  user-policies  CIS 1.15", "user/contractor-jo: policies on the user itself: managed\n    arn:aws:iam::aws:policy/AdministratorAccess", "ERROR critical  root-mfa  CIS 1.5", "Passed: "} {
		if !strings.Contains(r.stdout[audit:], want) {
			t.Errorf("the demo's audit does not say %q:\n%s", want, r.stdout[audit:])
		}
	}
}

// TestDemoWithoutMoto: without moto_server the demo still succeeds, says in one line how to get
// the done section, and shows everything else.
func TestDemoWithoutMoto(t *testing.T) {
	t.Setenv("PATH", t.TempDir()) // nothing on it: the demo needs no other program
	r := mustRun(t, "demo")
	if got := strings.Count(r.stdout, demo.RevertsSkipped); got != 1 {
		t.Errorf("the skip line appears %d times, want once:\n%s", got, r.stdout)
	}
	if !strings.Contains(demo.RevertsSkipped, "pip install 'moto[server]'") {
		t.Errorf("the skip line does not say how to get moto_server: %s", demo.RevertsSkipped)
	}
	for _, s := range []string{demo.RevertsHeading, "Reverted:", "watchdog undo ", demo.AuditHeading} {
		if strings.Contains(r.stdout, s) {
			t.Errorf("without moto_server the demo says %q", s)
		}
	}
	if !strings.Contains(r.stdout, "══ One alert's life in Slack") {
		t.Errorf("the Slack thread section is missing")
	}
}

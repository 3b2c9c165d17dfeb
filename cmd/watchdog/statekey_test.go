package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/iam-watchdog/iam-watchdog/internal/faultproxy"
	"github.com/iam-watchdog/iam-watchdog/internal/mototest"
	"github.com/iam-watchdog/iam-watchdog/internal/tampertest"
	"github.com/iam-watchdog/iam-watchdog/pkg/alert"
)

// mutatingCalls are the AWS calls that change anything an undo could change.
var mutatingCalls = []string{"AttachUserPolicy", "DetachUserPolicy", "PutUserPolicy", "DeleteUserPolicy", "UpdateAccessKey", "StartLogging"}

// keyedStores are the CLI's state file and the functions' table in moto, both authenticated
// with one state key; the undo runs through a proxy that refuses kms:GenerateMac, as the key
// policy does for everyone but the function roles (moto does not enforce key policies).
type keyedStores struct {
	m        *moto
	endpoint string // moto's
	keyARN   string
	db       *dynamodb.Client
	proxy    *faultproxy.Proxy
	tables   int
}

func startKeyedStores(t *testing.T) *keyedStores {
	t.Helper()
	m := startMoto(t)
	endpoint := os.Getenv("AWS_ENDPOINT_URL")
	cfg := mototest.Config(t, endpoint)
	s := &keyedStores{m: m, endpoint: endpoint, keyARN: mototest.CreateStateKey(t, kms.NewFromConfig(cfg)), db: dynamodb.NewFromConfig(cfg), proxy: faultproxy.Start(t, endpoint)}
	s.proxy.Inject(faultproxy.Op("GenerateMac"), faultproxy.AccessDenied(true))
	return s
}

// open is a fresh store of kind ("file" or "dynamodb"): its --state and a raw view of it.
func (s *keyedStores) open(t *testing.T, kind, dir string) (string, func() *tampertest.Target) {
	t.Helper()
	if kind == "file" {
		path := filepath.Join(dir, "state.json")
		return path, func() *tampertest.Target { return tampertest.File(t, path) }
	}
	s.tables++
	table := fmt.Sprintf("iam-watchdog-state-%d", s.tables)
	mototest.CreateStateTable(t, s.db, table)
	return "dynamodb://" + table, func() *tampertest.Target { return tampertest.DynamoDB(t, s.db, table) }
}

// quarantine has the watchdog quarantine a user whose MFA was turned off (event eventID), with
// its record in the store spec, and returns the scene and the config that names the key.
func (s *keyedStores) quarantine(t *testing.T, dir, spec, eventID string) (scene, string) {
	t.Helper()
	sc := quarantineScene(t, s.m)
	ev := readEvent(t, sc.file)
	rec := detail(t, ev)
	sc.edit(rec)
	rec["eventID"] = eventID
	event := writeFile(t, dir, eventID+".json", compact(t, ev))
	cfg := writeFile(t, dir, eventID+".yaml", []byte(sc.config+"state_key_arn: "+s.keyARN+"\n"))
	rw := oneRow(t, mustRun(t, "replay", "--config", cfg, "--mode", "auto", "--state", spec, "--output", "jsonl", event).stdout)
	if rw.Remediation == nil || rw.Remediation.Status != "done" || sc.state(t) != sc.applied {
		t.Fatalf("quarantine of %s: %+v, state %q", eventID, rw.Remediation, sc.state(t))
	}
	return sc, cfg
}

// undo runs `watchdog undo` with the caller's credentials through the proxy.
func (s *keyedStores) undo(t *testing.T, cfg, spec, eventID string) cliResult {
	t.Helper()
	t.Setenv("AWS_ENDPOINT_URL", s.proxy.URL)
	defer t.Setenv("AWS_ENDPOINT_URL", s.endpoint)
	return runCLI(t, "", "undo", "--config", cfg, "--state", spec, eventID)
}

// TestUndoRefusesTamperedRecord: `watchdog undo` reads a record tampered with in any way
// (tampertest.Cases), in the CLI's file with a state key and in the functions' table: it prints
// the refusal, naming the record and the key, exits 1, and makes no call that changes AWS.
func TestUndoRefusesTamperedRecord(t *testing.T) {
	s := startKeyedStores(t)
	for _, kind := range []string{"file", "dynamodb"} {
		for i, tc := range tampertest.Cases() {
			t.Run(kind+"/"+tc.Name, func(t *testing.T) {
				dir := t.TempDir()
				spec, raw := s.open(t, kind, dir)
				victimID, otherID := fmt.Sprintf("tamper-%s-%d-victim", kind, i), fmt.Sprintf("tamper-%s-%d-other", kind, i)
				victim, cfg := s.quarantine(t, dir, spec, victimID)
				s.quarantine(t, dir, spec, otherID)
				key := alert.Key(victimID, victim.rule)
				tc.Apply(t, raw(), key, alert.Key(otherID, victim.rule))

				before := s.proxy.All()
				r := s.undo(t, cfg, spec, victimID)
				if r.err == nil || isUsage(r.err) {
					t.Fatalf("undo of a tampered record = %v (stdout %q); want it refused, exit 1", r.err, r.stdout)
				}
				for _, want := range []string{"refused", key, s.keyARN} {
					if !strings.Contains(r.err.Error(), want) {
						t.Errorf("undo said %q; want it to name %q", r.err, want)
					}
				}
				if got := victim.state(t); got != victim.applied {
					t.Errorf("policies after the refused undo: %q; want them as the quarantine left them, %q", got, victim.applied)
				}
				after := s.proxy.All()
				for _, op := range mutatingCalls {
					if after[op].Seen != before[op].Seen {
						t.Errorf("the refused undo called %s", op)
					}
				}
			})
		}
	}
}

// TestUndoVerifiesOnly: an untampered record is undone end to end, in the file with a key and
// in the table, by a caller refused kms:GenerateMac: the undo makes no GenerateMac call and
// checks the record with kms:VerifyMac.
func TestUndoVerifiesOnly(t *testing.T) {
	s := startKeyedStores(t)
	for _, kind := range []string{"file", "dynamodb"} {
		t.Run(kind, func(t *testing.T) {
			dir := t.TempDir()
			spec, _ := s.open(t, kind, dir)
			id := "verify-only-" + kind
			sc, cfg := s.quarantine(t, dir, spec, id)
			before := s.proxy.All()
			r := s.undo(t, cfg, spec, id)
			if r.err != nil {
				t.Fatalf("undo: %v\n%s", r.err, r.stderr)
			}
			if !strings.Contains(r.stdout, "undone quarantine_user") || strings.Contains(sc.state(t), "quarantine") {
				t.Errorf("undo said %q, policies now %q; want the quarantine lifted", r.stdout, sc.state(t))
			}
			after := s.proxy.All()
			if n := after["GenerateMac"].Seen - before["GenerateMac"].Seen; n != 0 {
				t.Errorf("undo called kms:GenerateMac %d times; it may only verify", n)
			}
			if n := after["VerifyMac"].OK - before["VerifyMac"].OK; n < 1 {
				t.Errorf("undo checked no MAC (%d VerifyMac calls)", n)
			}
		})
	}
}

// TestStateKeyRequiredForTheTable: the shared table may hold no unauthenticated record, so
// `--state dynamodb://…` without state_key_arn fails before any AWS call, naming the key; a
// local file without one is the CLI's own and may do without.
func TestStateKeyRequiredForTheTable(t *testing.T) {
	startMoto(t)
	for _, args := range [][]string{
		{"undo", "--state", "dynamodb://iam-watchdog-state", "some-event"},
		{"replay", "--mode", "auto", "--state", "dynamodb://iam-watchdog-state", "-"},
		{"replay", "--dry-run", "--state", "dynamodb://iam-watchdog-state", "-"},
	} {
		r := runCLI(t, "", args...)
		if r.err == nil || !strings.Contains(r.err.Error(), "state_key_arn") {
			t.Errorf("watchdog %s = %v; want an error naming state_key_arn", strings.Join(args, " "), r.err)
		}
	}
	r := runCLI(t, "", "undo", "--state", filepath.Join(t.TempDir(), "state.json"), "some-event")
	if r.err == nil || strings.Contains(r.err.Error(), "state_key_arn") {
		t.Errorf("undo with a local file and no key = %v; want only that nothing is recorded", r.err)
	}
}

package main

import (
	"encoding/json"
	"errors"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/iam-watchdog/iam-watchdog/internal/cloudtrailserver"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/eventhistory"
)

// historyArchive stores every example event's record in a local CloudTrail's Event history
// (moto does not serve LookupEvents: internal/cloudtrailserver speaks its wire protocol), with
// its eventTime moved into the last 90 days, and writes the same records as one log file: what
// replay reads from cloudtrail://us-east-1 is to be what it reads from the file.
func historyArchive(t *testing.T) (*cloudtrailserver.Server, string, map[string]bool) {
	t.Helper()
	srv := cloudtrailserver.Start(t)
	t.Setenv("AWS_ENDPOINT_URL", srv.URL)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
	t.Setenv("AWS_REGION", "us-east-1")
	rate := lookupRate
	lookupRate = 1000 // a local server has no quota; the limiter itself is tested in pkg/eventhistory
	t.Cleanup(func() { lookupRate = rate })

	at := time.Now().UTC().Add(-48 * time.Hour).Truncate(time.Second)
	plan := eventhistory.NewPlan(detect.Rules())
	looked := map[string]bool{}
	for _, l := range plan.Lookups {
		looked[l.String()] = true
	}
	covered := map[string]bool{} // eventID → a look-up of the plan finds the record
	var records [][]byte
	err := filepath.WalkDir(eventsDir, func(path string, de fs.DirEntry, err error) error {
		if err != nil || de.IsDir() || !strings.HasSuffix(path, ".json") || de.Name() == "README.json" {
			return err
		}
		rel, _ := filepath.Rel(eventsDir, path)
		d := detail(t, readEvent(t, filepath.ToSlash(rel)))
		id, _ := d["eventID"].(string)
		if _, seen := covered[id]; seen || id == "" {
			return nil
		}
		at = at.Add(time.Minute)
		d["eventTime"] = at.Format(time.RFC3339)
		name, _ := d["eventName"].(string)
		who, _ := d["userIdentity"].(map[string]any)
		covered[id] = looked["EventName="+name] || who["type"] == "Root"
		raw, err := json.Marshal(d)
		if err != nil {
			return err
		}
		records = append(records, raw)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.AddRecords(t, records...)
	dir := t.TempDir()
	return srv, writeFile(t, dir, "archive.json", logFile(records...)), covered
}

// TestReplayEventHistory reads a region's Event history with one look-up per watched event
// name (and one for the root user), never a page through all events, and finds what replaying
// the same records from a file finds, less what the rules Event history cannot serve would find
// in records no look-up reads; it names those rules on standard error.
func TestReplayEventHistory(t *testing.T) {
	srv, archive, covered := historyArchive(t)
	plan := eventhistory.NewPlan(detect.Rules())

	fromFile := mustRun(t, "replay", "--output", "jsonl", archive)
	r := mustRun(t, "replay", "--output", "jsonl", "cloudtrail://us-east-1")
	t.Logf("stderr:\n%s", r.stderr)

	skipped := map[string]bool{}
	for _, s := range plan.Skipped {
		skipped[s.Rule] = true
		if !strings.Contains(r.stderr, "Event history: skipped "+s.String()) {
			t.Errorf("stderr does not say rule %s was skipped and why:\n%s", s.Rule, r.stderr)
		}
	}
	if len(skipped) == 0 {
		t.Fatal("no rule is skipped: the test means to show a rule Event history cannot serve named on stderr")
	}
	var want []string
	for _, row := range parseRows(t, fromFile.stdout) {
		if skipped[row.Rule] && !covered[row.EventID] {
			continue // a denied call of a watched name is still read, and reported
		}
		want = append(want, row.EventID+" "+row.Rule)
	}
	var got []string
	for _, row := range parseRows(t, r.stdout) {
		got = append(got, row.EventID+" "+row.Rule)
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("Event history gave findings\n%v\nthe file gave (less skipped rules)\n%v", got, want)
	}
	if len(want) < 50 {
		t.Errorf("only %d findings compared: the example events should give many more", len(want))
	}

	// Every call is one of the plan's look-ups; each look-up here fits in few pages.
	byAttr := srv.CallsByAttribute()
	if len(byAttr) != len(plan.Lookups) {
		t.Errorf("%d distinct look-ups made, the plan has %d", len(byAttr), len(plan.Lookups))
	}
	for _, l := range plan.Lookups {
		if byAttr[l.String()] == 0 {
			t.Errorf("look-up %s was not made", l)
		}
	}
	for attr := range byAttr {
		if attr == "" {
			t.Errorf("a call without a look-up attribute: a page through all events")
		}
	}
	if !strings.Contains(r.stderr, "watchdog: cloudtrail://us-east-1: ") || !strings.Contains(r.stderr, "LookupEvents calls") {
		t.Errorf("stderr does not count the calls made:\n%s", r.stderr)
	}
	if !strings.Contains(r.stderr, "watchdog: 1 inputs,") && !strings.Contains(r.stderr, "watchdog: 1 input,") {
		t.Errorf("the summary does not count the region as one input:\n%s", r.stderr)
	}
}

// TestReplayEventHistoryEdges: a region that is not one, a region outside --region, a region
// without the global services' events, a --since before Event history's 90 days, and a refused
// call.
func TestReplayEventHistoryEdges(t *testing.T) {
	srv, _, _ := historyArchive(t)

	r := runCLI(t, "", "replay", "--output", "jsonl", "cloudtrail://not_a_region")
	if !errors.Is(r.err, errSomeInputs) || !strings.Contains(r.stderr, `"not_a_region" is not a region name`) {
		t.Errorf("a bad region: err %v, want errSomeInputs and the region named\n%s", r.err, r.stderr)
	}

	r = runCLI(t, "", "replay", "--output", "jsonl", "--region", "eu-west-1", "cloudtrail://us-east-1")
	if !errors.Is(r.err, errSomeInputs) || !strings.Contains(r.stderr, "cloudtrail://us-east-1: outside --region eu-west-1") {
		t.Errorf("a region outside --region: err %v, want errSomeInputs and the contradiction named\n%s", r.err, r.stderr)
	}

	r = mustRun(t, "replay", "--output", "jsonl", "cloudtrail://eu-west-1")
	if !strings.Contains(r.stderr, "add cloudtrail://us-east-1 for rules") {
		t.Errorf("reading eu-west-1 alone does not warn that IAM and sign-in events are in us-east-1:\n%s", r.stderr)
	}

	since := time.Now().UTC().AddDate(0, 0, -120).Format("2006-01-02")
	r = mustRun(t, "replay", "--output", "jsonl", "--since", since, "cloudtrail://us-east-1")
	if !strings.Contains(r.stderr, "is before Event history's 90 days") {
		t.Errorf("--since %s is not said to be clipped to 90 days:\n%s", since, r.stderr)
	}

	srv.FailNext(cloudtrailserver.Failure{Status: 400, Type: "AccessDeniedException", Message: "not allowed"})
	r = runCLI(t, "", "replay", "--output", "jsonl", "--jobs", "1", "cloudtrail://us-east-1")
	if !errors.Is(r.err, errSomeInputs) || !strings.Contains(r.stderr, "AccessDeniedException") ||
		!strings.Contains(r.stderr, "could not read: cloudtrail://us-east-1") {
		t.Errorf("a refused call: err %v, want errSomeInputs, the error and the region unreadable\n%s", r.err, r.stderr)
	}
}

package audit

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
)

// TestResultJSONContract pins the `--output jsonl` field names and values: at least check, cis,
// status, severity, account, resource, title, why and fix, with cis present when empty.
func TestResultJSONContract(t *testing.T) {
	r := Result{Check: "watchdog-trail", Status: NotApplicable, Severity: detect.High, Account: "123456789012",
		Resource: "arn:aws:iam::123456789012:root", Title: "t", Detail: "d", Why: "w", Fix: "f"}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"check":"watchdog-trail","cis":"","status":"not_applicable","severity":"high","account":"123456789012","resource":"arn:aws:iam::123456789012:root","title":"t","detail":"d","why":"w","fix":"f"}`
	if string(b) != want {
		t.Errorf("JSON\n got %s\nwant %s", b, want)
	}
	var back Result
	if err := json.Unmarshal(b, &back); err != nil || back != r {
		t.Errorf("round trip: %+v, %v", back, err)
	}
	for _, bad := range []string{`{"status":"passed"}`, `{"severity":"urgent"}`} {
		if err := json.Unmarshal([]byte(bad), &back); err == nil {
			t.Errorf("%s was accepted", bad)
		}
	}
}

// TestList: every check has a unique kebab-case ID, a CIS ID of section 1 or none, a title, a
// why and a fix, a scope, and the CIS recommendations the issue names are all there.
func TestList(t *testing.T) {
	kebab := regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	cisID := regexp.MustCompile(`^(1\.[0-9]+)?$`)
	seen := map[string]bool{}
	var cis []string
	for _, c := range List() {
		if !kebab.MatchString(c.ID) || seen[c.ID] {
			t.Errorf("check ID %q: not kebab-case or repeated", c.ID)
		}
		seen[c.ID] = true
		if !cisID.MatchString(c.CIS) || c.Title == "" || c.Why == "" || c.Fix == "" || (c.Scope != ScopeAccount && c.Scope != ScopeHome) {
			t.Errorf("check %s is incomplete: %+v", c.ID, c)
		}
		if c.eval != nil {
			t.Errorf("List exposes check %s's evaluation", c.ID)
		}
		if c.CIS != "" {
			cis = append(cis, c.CIS)
		}
		if got, ok := Lookup(c.ID); !ok || got.ID != c.ID {
			t.Errorf("Lookup(%s) = %+v, %v", c.ID, got, ok)
		}
	}
	want := []string{"1.4", "1.5", "1.6", "1.7", "1.8", "1.9", "1.10", "1.11", "1.12", "1.13", "1.14", "1.15", "1.16", "1.17"}
	if !slices.Equal(cis, want) {
		t.Errorf("CIS recommendations %v, want %v", cis, want)
	}
	for _, id := range []string{"centralized-root-access", "baseline-groups", "watchdog-trail", "watchdog-rules", "watchdog-forwarding", "watchdog-slack", "watchdog-dead-letters", "account-access"} {
		if !seen[id] {
			t.Errorf("no check %s", id)
		}
	}
	if _, ok := Lookup("no-such-check"); ok {
		t.Error("Lookup found a check that does not exist")
	}
	// List hands out copies: changing one does not change the catalogue.
	l := List()
	l[0].Title = strings.ToUpper(l[0].Title)
	if List()[0].Title == l[0].Title {
		t.Error("List returned the catalogue itself")
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
		want string
	}{
		{"zero is valid", Options{}, ""},
		{"negative days", Options{UnusedDays: -1}, "unused_days is -1"},
		{"negative concurrency", Options{Concurrency: -2}, "concurrency is -2"},
		{"empty group", Options{Groups: []string{"Developers", " "}}, "a group name is empty"},
		{"function not an ARN", Options{Sight: Sight{FunctionARN: "iam-watchdog"}}, `function ARN "iam-watchdog" is not an ARN`},
		{"empty Region", Options{Sight: Sight{ForwardRegions: []string{"eu-west-1", ""}}}, "a Region is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.opts.Validate()
			if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("Validate() = %v, want %q", err, tc.want)
			}
			if _, err := New(tc.opts); (tc.want == "") != (err == nil) {
				t.Errorf("New accepted what Validate refused, or the reverse: %v", err)
			}
		})
	}
	o := Options{}.withDefaults()
	if o.UnusedDays != 45 || o.RotationDays != 90 || o.RootUseDays != 90 || o.Concurrency != 4 || o.Now == nil {
		t.Errorf("defaults %+v", o)
	}
}

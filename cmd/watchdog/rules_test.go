package main

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
)

var actionNames = []string{detect.DeactivateAccessKey, detect.DetachUserPolicy, detect.DeleteUserPolicy, detect.QuarantineUser, detect.RestartLogging}

func TestRulesJSON(t *testing.T) {
	r := mustRun(t, "rules", "--output", "json")
	var raw []map[string]json.RawMessage
	if err := json.Unmarshal([]byte(r.stdout), &raw); err != nil {
		t.Fatalf("rules --output json is not a JSON array of objects: %v\n%s", err, r.stdout)
	}
	type rule struct {
		ID          string   `json:"id"`
		Category    string   `json:"category"`
		Title       string   `json:"title"`
		Source      string   `json:"source"`
		Events      []string `json:"events"`
		CIS         []string `json:"cis"`
		Remediation string   `json:"remediation"`
		AnyEvent    bool     `json:"any_event"` // rules that look at every event (source and events "*")
		Scope       string   `json:"scope"`
	}
	var got []rule
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("rules --output json: %v", err)
	}
	table := detect.Rules()
	if len(got) != len(table) || len(raw) != len(table) {
		t.Fatalf("%d rules, want %d", len(got), len(table))
	}
	for i, rl := range got {
		t.Run(rl.ID, func(t *testing.T) {
			for _, k := range []string{"id", "category", "title", "source", "events", "cis", "remediation"} {
				if _, ok := raw[i][k]; !ok {
					t.Errorf("no %q", k)
				}
			}
			if !bytes.HasPrefix(bytes.TrimSpace(raw[i]["cis"]), []byte("[")) {
				t.Errorf("cis is %s, want an array (possibly empty), never null", raw[i]["cis"])
			}
			source := strings.HasSuffix(rl.Source, ".amazonaws.com") || rl.AnyEvent && rl.Source == detect.AnyEventSource && rl.Scope != ""
			if rl.ID == "" || rl.Category == "" || rl.Title == "" || !source || len(rl.Events) == 0 {
				t.Errorf("incomplete rule %+v", rl)
			}
			if rl.Remediation != "" && !slices.Contains(actionNames, rl.Remediation) {
				t.Errorf("remediation %q is not an action name %v", rl.Remediation, actionNames)
			}
			w := table[i]
			if rl.ID != w.ID || rl.Category != w.Category || rl.Source != w.Source || rl.Remediation != w.Action ||
				!slices.Equal(rl.Events, w.Events) || !slices.Equal(rl.CIS, append([]string{}, w.CIS...)) {
				t.Errorf("rule %+v, want the table's %+v", rl, w)
			}
		})
	}
	// Written out by hand: the CIS controls and remediations the README promises.
	byID := map[string]rule{}
	for _, rl := range got {
		byID[rl.ID] = rl
	}
	for id, want := range map[string]struct {
		cis         []string
		remediation string
	}{
		"root-console-signin":          {[]string{"4.3"}, ""},
		"access-key-created":           {[]string{}, detect.DeactivateAccessKey},
		"user-managed-policy-attached": {[]string{"4.4"}, detect.DetachUserPolicy},
		"user-inline-policy-put":       {[]string{"4.4"}, detect.DeleteUserPolicy},
		"mfa-deactivated":              {[]string{}, detect.QuarantineUser},
		"cloudtrail-logging-stopped":   {[]string{"4.5"}, detect.RestartLogging},
	} {
		rl, ok := byID[id]
		if !ok {
			t.Errorf("no rule %s", id)
			continue
		}
		if !slices.Equal(rl.CIS, want.cis) || rl.Remediation != want.remediation {
			t.Errorf("%s: cis %v remediation %q, want %v %q", id, rl.CIS, rl.Remediation, want.cis, want.remediation)
		}
	}
}

// TestRulesText: a header, then per rule a line with its ID, category and CIS controls, its
// remediation when it has one, and its events, every line within 80 columns (issue 17, point 8).
func TestRulesText(t *testing.T) {
	for _, args := range [][]string{{"rules"}, {"rules", "--output", "text"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r := mustRun(t, args...)
			lines := strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
			for i, l := range lines {
				if n := utf8.RuneCountInString(l); n > 80 {
					t.Errorf("line %d is %d columns: %q", i+1, n, l)
				}
			}
			if f := strings.Fields(lines[0]); !slices.Equal(f, []string{"ID", "CATEGORY", "CIS"}) {
				t.Errorf("header %q", lines[0])
			}
			// Each rule's block: its line, then indented lines until the next rule's.
			var blocks [][]string
			for _, l := range lines[1:] {
				if !strings.HasPrefix(l, " ") {
					blocks = append(blocks, nil)
				}
				if len(blocks) == 0 {
					t.Fatalf("indented line before any rule: %q", l)
				}
				blocks[len(blocks)-1] = append(blocks[len(blocks)-1], l)
			}
			table := detect.Rules()
			if len(blocks) != len(table) {
				t.Fatalf("%d rules listed, want %d:\n%s", len(blocks), len(table), r.stdout)
			}
			for i, rl := range table {
				b := blocks[i]
				cis := strings.Join(rl.CIS, ",")
				if cis == "" {
					cis = "-"
				}
				if f := strings.Fields(b[0]); !slices.Equal(f, []string{rl.ID, rl.Category, cis}) {
					t.Errorf("line %q, want rule %s %s CIS %s", b[0], rl.ID, rl.Category, cis)
				}
				rest := strings.Join(strings.Fields(strings.Join(b[1:], " ")), " ")
				if hasRemediation := strings.Contains(rest, "remediation: "); hasRemediation != (rl.Action != "") ||
					rl.Action != "" && !strings.Contains(rest, "remediation: "+rl.Action+" ") {
					t.Errorf("rule %s: %q, want remediation %q", rl.ID, rest, rl.Action)
				}
				source := strings.TrimSuffix(rl.Source, ".amazonaws.com")
				for _, ev := range rl.Events {
					if want := source + ":" + ev; !rl.AnyEvent && !strings.Contains(rest+",", want+",") {
						t.Errorf("rule %s: %q does not list %s", rl.ID, rest, want)
					}
				}
				if rl.AnyEvent && !strings.Contains(rest, "events: * ("+rl.Scope+")") {
					t.Errorf("rule %s: %q, want every event and the scope %q", rl.ID, rest, rl.Scope)
				}
			}
		})
	}
}

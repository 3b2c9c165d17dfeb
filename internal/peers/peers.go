// Package peers measures the rules against other projects' own test events
// (../shared/testdata/peers, see its README): each case in a category the watchdog has goes
// through the same parser, rules and default policy as every event, and the verdict is compared
// with the peer's. A peer's expected value is its own rule's verdict, or whether an event was
// part of a simulated attack, so a disagreement is a question, not a failure: each is answered
// in docs/peer-differences.md, by the case's ID.
package peers

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/iam-watchdog/iam-watchdog/pkg/cloudtrail"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/policy"
)

// Case is one peer test case: a CloudTrail record and the peer's verdict on it.
type Case struct {
	ID        string          // "<file stem>:<line>", e.g. "panther:12"; stable while the files are
	Source    string          `json:"source"`
	RuleID    string          `json:"rule_id"`
	TestName  string          `json:"test_name"`
	Category  string          `json:"category"`
	Expected  bool            `json:"expected"`
	Semantics string          `json:"expected_semantics"`
	Event     json.RawMessage `json:"event"`
}

// peerRules maps peer rules whose cases the data marks "other" to the watchdog category they
// test, where the peer rule is plainly one of the watchdog's newer categories. Other "other"
// cases are measured only where the peer's verdict is about the event itself (an attack label,
// or a rule that fires on a list of event names): then the category is that of the one
// watchdog rule watching the event.
var peerRules = map[string]string{
	"AWS.CloudTrail.UnauthorizedAPICall":         "unauthorized_api_calls",
	"AWS.IAMUser.ReconAccessDenied":              "unauthorized_api_calls",
	"AWS.ConfigService.DisabledDeleted":          "config_changed",
	"AWS.CloudTrail.AttemptToLeaveOrg":           "organizations_changed",
	"cloudtrail_network_acl_ingress_anywhere":    "nacl_changed",
	"cloudtrail_security_group_ingress_anywhere": "security_group_changed",
	"cloudtrail_put_bucket_acl":                  "s3_bucket_policy_changed",
}

// eventListRules are peer rules that fire on a list of event names, whatever else the event
// says: their verdict is about the event, as an attack label is.
var eventListRules = map[string]bool{"cloudtrail_critical_api_calls": true}

// alsoCounts lists, for a measured category, findings of other categories that give the same
// answer: the watchdog reports a root sign-in as root_signin, never also as root_activity or
// console_login_no_mfa (one alert per event, see detect.Detector.Detect).
var alsoCounts = map[string][]string{
	"root_activity":        {"root_signin", "*root*"}, // and any finding about a root call
	"console_login_no_mfa": {"root_signin"},
	"console_auth_failure": {"root_signin"},
}

// Load reads every *.jsonl in dir, in name order.
func Load(dir string) ([]Case, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("no *.jsonl under %s", dir)
	}
	sort.Strings(paths)
	var cases []Case
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		stem := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(p), ".jsonl"), "_cases")
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 0, 1<<20), 16<<20)
		for line := 1; sc.Scan(); line++ {
			if len(strings.TrimSpace(sc.Text())) == 0 {
				continue
			}
			var c Case
			if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
				f.Close()
				return nil, fmt.Errorf("%s:%d: %w", p, line, err)
			}
			c.ID = fmt.Sprintf("%s:%d", stem, line)
			cases = append(cases, c)
		}
		err = sc.Err()
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
	}
	return cases, nil
}

// Result is what the watchdog made of one case.
type Result struct {
	Case
	Measured string   // the watchdog category the case is measured in
	Alerts   []string // "category/rule/severity" of every alerted finding
	ParseErr string   // why the record could not be read, if it could not
	Verdict  bool     // the watchdog alerts in Measured (root_activity counts any root finding)
	Agree    bool     // Verdict equals the peer's Expected, and the record could be read
}

// Measure runs every case in a watchdog category through cloudtrail.Decode, d and the default
// policy. Cases in no watchdog category are left out.
func Measure(cases []Case, d *detect.Detector) []Result {
	categories := map[string]bool{}
	byEvent := map[[2]string]map[string]bool{}
	for _, r := range d.Rules() {
		categories[r.Category] = true
		for _, e := range r.Events {
			k := [2]string{r.Source, e}
			if byEvent[k] == nil {
				byEvent[k] = map[string]bool{}
			}
			byEvent[k][r.Category] = true
		}
	}
	cfg := policy.Default()
	var out []Result
	for _, c := range cases {
		res := Result{Case: c, Measured: measuredCategory(c, categories, byEvent)}
		if res.Measured == "" {
			continue
		}
		recs, errs := cloudtrail.Decode(c.ID, c.Event)
		for _, err := range errs {
			res.ParseErr = strings.TrimPrefix(err.Error(), c.ID+": ")
		}
		for _, rec := range recs {
			for _, f := range d.Detect(rec) {
				if !cfg.Decide(&f).Alert {
					continue
				}
				res.Alerts = append(res.Alerts, f.Category+"/"+f.Rule+"/"+f.Severity.String())
				res.Verdict = res.Verdict || answers(res.Measured, f)
			}
		}
		res.Agree = res.ParseErr == "" && res.Verdict == c.Expected
		out = append(out, res)
	}
	return out
}

// answers reports whether finding f answers "does the watchdog alert in category measured".
func answers(measured string, f detect.Finding) bool {
	if f.Category == measured {
		return true
	}
	for _, c := range alsoCounts[measured] {
		if c == f.Category || c == "*root*" && f.Actor.Type == "Root" {
			return true
		}
	}
	return false
}

// measuredCategory is the case's own category when the watchdog has it; else, for a case the
// data marks "other", the category of the peer rule (peerRules) or of the one watchdog rule
// that watches the event.
func measuredCategory(c Case, categories map[string]bool, byEvent map[[2]string]map[string]bool) string {
	if categories[c.Category] {
		return c.Category
	}
	for _, id := range strings.Split(c.RuleID, ",") {
		if cat := peerRules[id]; cat != "" {
			return cat
		}
	}
	if c.Semantics != "attack_label" && !eventListRules[c.RuleID] {
		return ""
	}
	var ev struct {
		EventSource string `json:"eventSource"`
		EventName   string `json:"eventName"`
	}
	if json.Unmarshal(c.Event, &ev) == nil {
		if cats := byEvent[[2]string{ev.EventSource, ev.EventName}]; len(cats) == 1 {
			for cat := range cats {
				return cat
			}
		}
	}
	return ""
}

// Report prints agreement per category, then every disagreement; explained holds the text
// that must name each disagreement's ID (docs/peer-differences.md), and Report returns the
// IDs it does not name.
func Report(w io.Writer, results []Result, explained string) []string {
	type tally struct{ cases, agree int }
	per := map[string]*tally{}
	var cats []string
	for _, r := range results {
		t := per[r.Measured]
		if t == nil {
			t = &tally{}
			per[r.Measured] = t
			cats = append(cats, r.Measured)
		}
		t.cases++
		if r.Agree {
			t.agree++
		}
	}
	slices.Sort(cats)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "CATEGORY\tCASES\tAGREE\tDISAGREE\tAGREEMENT\t")
	total := tally{}
	for _, c := range cats {
		t := per[c]
		total.cases += t.cases
		total.agree += t.agree
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.0f%%\t\n", c, t.cases, t.agree, t.cases-t.agree, 100*float64(t.agree)/float64(t.cases))
	}
	if total.cases > 0 {
		fmt.Fprintf(tw, "all\t%d\t%d\t%d\t%.0f%%\t\n", total.cases, total.agree, total.cases-total.agree, 100*float64(total.agree)/float64(total.cases))
	}
	tw.Flush()

	var unexplained []string
	fmt.Fprintln(w, "\nDisagreements (peer verdict, ours):")
	for _, r := range results {
		if r.Agree {
			continue
		}
		ours := "no alert"
		switch {
		case r.ParseErr != "":
			ours = "unreadable: " + r.ParseErr
		case len(r.Alerts) > 0:
			ours = strings.Join(r.Alerts, ", ")
		}
		mark := ""
		if !strings.Contains(explained, "`"+r.ID+"`") {
			mark = "  [not in docs/peer-differences.md]"
			unexplained = append(unexplained, r.ID)
		}
		fmt.Fprintf(w, "  %-16s %s %q: peer %v (%s); ours %s%s\n", r.ID, r.RuleID, r.TestName, r.Expected, r.Semantics, ours, mark)
	}
	if len(unexplained) > 0 {
		fmt.Fprintf(w, "\n%d disagreements are not explained in docs/peer-differences.md: %s\n", len(unexplained), strings.Join(unexplained, " "))
	} else {
		fmt.Fprintln(w, "\nEvery disagreement is explained in docs/peer-differences.md.")
	}
	return unexplained
}

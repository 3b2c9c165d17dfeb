package eventhistory_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"

	"github.com/iam-watchdog/iam-watchdog/pkg/cloudtrail"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/eventhistory"
)

// The built-in rules: one look-up per watched eventName, one for root, denied calls skipped.
func TestPlanOfTheBuiltInRules(t *testing.T) {
	rules := detect.Default().Rules()
	p := eventhistory.NewPlan(rules)
	names := map[string]bool{}
	for _, r := range rules {
		if !r.AnyEvent {
			for _, n := range r.Events {
				names[n] = true
			}
		}
	}
	if len(p.Lookups) != len(names)+1 {
		t.Errorf("%d look-ups, want one per watched eventName (%d) and one for root", len(p.Lookups), len(names))
	}
	seen := map[string]bool{}
	for _, l := range p.Lookups {
		if seen[l.String()] {
			t.Errorf("%s looked up twice", l)
		}
		seen[l.String()] = true
		switch l.Attribute {
		case types.LookupAttributeKeyEventName:
			if !names[l.Value] || len(l.Sources) == 0 || len(l.Rules) == 0 {
				t.Errorf("%s: sources %v, rules %v", l, l.Sources, l.Rules)
			}
		case types.LookupAttributeKeyUsername:
			if l.Value != eventhistory.RootUsername || !slices.Equal(l.Rules, []string{"root-activity"}) {
				t.Errorf("%s serves %v, want Username=root for root-activity", l, l.Rules)
			}
		default:
			t.Errorf("look-up %s: want EventName or Username", l)
		}
	}
	for _, n := range []string{"CreatePolicy", "DeletePolicy"} {
		l := p.Lookups[slices.IndexFunc(p.Lookups, func(l eventhistory.Lookup) bool { return l.Value == n })]
		if want := []string{"iam.amazonaws.com", "organizations.amazonaws.com"}; !slices.Equal(l.Sources, want) ||
			!slices.Equal(l.Rules, []string{"iam-policy-changed", "organizations-changed"}) {
			t.Errorf("%s: sources %v rules %v, want one look-up for IAM's and Organizations'", l, l.Sources, l.Rules)
		}
	}
	if l := p.Lookups[0]; l.String() != "EventName=ConsoleLogin" || !slices.Equal(l.Rules, []string{"root-console-signin", "console-login-no-mfa", "console-auth-failure"}) {
		t.Errorf("first look-up %s for %v, want ConsoleLogin for the three sign-in rules", l, l.Rules)
	}
	if len(p.Skipped) != 1 || p.Skipped[0].Rule != "unauthorized-api-calls" || p.Skipped[0].Events != nil ||
		!strings.Contains(p.Skipped[0].String(), "unauthorized-api-calls (API call denied): denied calls cannot be looked up: errorCode is not a look-up attribute") {
		t.Errorf("skipped %v, want the denied-calls rule, saying why", p.Skipped)
	}
}

func TestPlanOfRules(t *testing.T) {
	for _, tc := range []struct {
		name        string
		rules       []detect.Rule
		wantLookups []string
		wantSkipped []string
	}{
		{
			name: "a name watched under two sources is looked up once",
			rules: []detect.Rule{
				{ID: "a", Source: "iam.amazonaws.com", Events: []string{"CreatePolicy", "DeletePolicy"}},
				{ID: "b", Source: "organizations.amazonaws.com", Events: []string{"CreatePolicy"}},
				{ID: "c", Source: "iam.amazonaws.com", Events: []string{"DeletePolicy"}},
			},
			wantLookups: []string{"EventName=CreatePolicy", "EventName=DeletePolicy"},
		},
		{
			name: "data events are skipped, the rule's management events kept",
			rules: []detect.Rule{
				{ID: "s3", Title: "S3", Source: "s3.amazonaws.com", Events: []string{"PutBucketPolicy", "GetObject", "PutObject"}},
				{ID: "lambda", Title: "Lambda", Source: "lambda.amazonaws.com", Events: []string{"Invoke"}},
			},
			wantLookups: []string{"EventName=PutBucketPolicy"},
			wantSkipped: []string{
				"s3 (S3) for GetObject, PutObject: data events: Event history holds management events only",
				"lambda (Lambda) for Invoke: data events: Event history holds management events only",
			},
		},
		{
			name: "an AnyEvent rule the plan does not know is skipped, saying its scope",
			rules: []detect.Rule{
				{ID: "new-any", Title: "New", Source: detect.AnyEventSource, Events: []string{detect.AnyEventSource}, AnyEvent: true, Scope: "any call from Tor"},
				{ID: "root-activity", Title: "Root", Source: detect.AnyEventSource, Events: []string{detect.AnyEventSource}, AnyEvent: true},
			},
			wantLookups: []string{"Username=root"},
			wantSkipped: []string{"new-any (New): it watches every event (any call from Tor), and no look-up attribute selects its records short of paging through all events"},
		},
		{name: "no rules, no look-ups"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := eventhistory.NewPlan(tc.rules)
			var lookups, skipped []string
			for _, l := range p.Lookups {
				lookups = append(lookups, l.String())
			}
			for _, s := range p.Skipped {
				skipped = append(skipped, s.String())
			}
			if !slices.Equal(lookups, tc.wantLookups) || !slices.Equal(skipped, tc.wantSkipped) {
				t.Errorf("look-ups %q, skipped %q\nwant %q, %q", lookups, skipped, tc.wantLookups, tc.wantSkipped)
			}
		})
	}
}

func TestCovers(t *testing.T) {
	p := eventhistory.NewPlan(detect.Default().Rules())
	noRoot := eventhistory.NewPlan(slices.DeleteFunc(detect.Default().Rules(), func(r detect.Rule) bool { return r.ID == "root-activity" }))
	for _, tc := range []struct {
		name         string
		rec          cloudtrail.Record
		want, noRoot bool
	}{
		{"watched", cloudtrail.Record{EventSource: "iam.amazonaws.com", EventName: "CreateAccessKey"}, true, true},
		{"watched name, other service", cloudtrail.Record{EventSource: "iot.amazonaws.com", EventName: "CreatePolicy"}, false, false},
		{"root, unwatched name", cloudtrail.Record{EventSource: "iam.amazonaws.com", EventName: "GetAccountSummary", UserIdentity: cloudtrail.UserIdentity{Type: "Root"}}, true, false},
		{"IAM user named root", cloudtrail.Record{EventSource: "s3.amazonaws.com", EventName: "ListBuckets", UserIdentity: cloudtrail.UserIdentity{Type: "IAMUser", UserName: "root"}}, false, false},
	} {
		if got := p.Covers(&tc.rec); got != tc.want {
			t.Errorf("%s: Covers %v, want %v", tc.name, got, tc.want)
		}
		if got := noRoot.Covers(&tc.rec); got != tc.noRoot {
			t.Errorf("%s, without root-activity: Covers %v, want %v", tc.name, got, tc.noRoot)
		}
	}
}

func TestRegionWarnings(t *testing.T) {
	p := eventhistory.NewPlan(detect.Default().Rules())
	if w := p.RegionWarnings([]string{"eu-west-1", "us-east-1"}); w != nil {
		t.Errorf("with us-east-1 read: %q", w)
	}
	w := p.RegionWarnings([]string{"eu-west-1"})
	if len(w) != 1 || !strings.Contains(w[0], "add cloudtrail://us-east-1 for rules root-console-signin,") ||
		!strings.Contains(w[0], "access-key-created") || strings.Contains(w[0], "security-group-changed") {
		t.Errorf("without us-east-1: %q, want the IAM and sign-in rules named, not EC2's", w)
	}
	ec2Only := eventhistory.NewPlan(slices.DeleteFunc(detect.Default().Rules(), func(r detect.Rule) bool { return r.Source != "ec2.amazonaws.com" }))
	if w := ec2Only.RegionWarnings([]string{"eu-west-1"}); w != nil {
		t.Errorf("EC2 rules only: %q", w)
	}
}

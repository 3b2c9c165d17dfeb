package templatecheck

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
)

// EventBridge detail-types of CloudTrail events.
// Reference: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-event-cloudtrail.html
const (
	apiCallDetailType = "AWS API Call via CloudTrail"
	signInDetailType  = "AWS Console Sign In via CloudTrail"
)

// detailType is the detail-type EventBridge gives a CloudTrail event: console sign-ins are
// delivered under their own.
func detailType(eventName string) string {
	if eventName == "ConsoleLogin" {
		return signInDetailType
	}
	return apiCallDetailType
}

// busSource is the EventBridge source of events with a CloudTrail eventSource:
// iam.amazonaws.com arrives as aws.iam.
func busSource(eventSource string) string {
	label, _, _ := strings.Cut(eventSource, ".")
	return "aws." + label
}

type watchedEvent struct{ source, name string }

// anyAWSSource is the one source pattern that is not a list of names: {"prefix": "aws."}, which
// matches every AWS service and nothing else, since only AWS services may send events whose
// source begins with "aws.". Only the pattern of the AnyEvent rules may use it.
var anyAWSSource = []any{map[string]any{"prefix": "aws."}}

// route is how the events of one AnyEvent rule reach the function: a branch of the $or of the
// pattern whose source is anyAWSSource, and the complement of that branch, which every
// per-source pattern carries in its detail so that no event is delivered by two rules.
type route struct {
	branch    map[string]any
	exclusion map[string]any
}

// anyEventRoutes holds the routes of the AnyEvent rules by rule ID. A new AnyEvent rule needs
// a route here before the template can deliver it.
var anyEventRoutes = map[string]route{
	// A call by the root user, API call or console sign-in.
	"root-activity": {
		branch: map[string]any{
			"detail-type": []any{apiCallDetailType, signInDetailType},
			"detail":      map[string]any{"userIdentity": map[string]any{"type": []any{"Root"}}},
		},
		exclusion: map[string]any{"userIdentity": map[string]any{"type": []any{map[string]any{"anything-but": []any{"Root"}}}}},
	},
	// CIS 4.1's error codes: ending in UnauthorizedOperation or starting with AccessDenied.
	"unauthorized-api-calls": {
		branch: map[string]any{
			"detail-type": []any{apiCallDetailType},
			"detail": map[string]any{"errorCode": []any{
				map[string]any{"suffix": "UnauthorizedOperation"}, map[string]any{"prefix": "AccessDenied"},
			}},
		},
		exclusion: map[string]any{"errorCode": []any{
			map[string]any{"exists": false},
			map[string]any{"anything-but": map[string]any{"wildcard": []any{"*UnauthorizedOperation", "AccessDenied*"}}},
		}},
	},
}

// checkPatterns returns every way the event patterns and the rule table disagree: a
// pattern that does not pin its source, detail-type, eventSource and eventNames; an event
// delivered under a source or detail-type the pattern does not list; an event a pattern
// delivers that no rule watches, or delivers twice; and an event a rule watches that no
// pattern delivers. AnyEvent rules are delivered by the one pattern whose source is
// anyAWSSource, one $or branch each (anyEventRoutes); every other pattern must then carry the
// exclusions of those branches, or the function would run twice for a root or denied call.
func checkPatterns(patterns []Pattern, rules []detect.Rule) []string {
	var problems []string
	watched := map[watchedEvent]bool{}
	exclusions := map[string]any{}
	wantBranches := map[string]string{} // rule ID by branch, as JSON
	for _, r := range rules {
		if r.AnyEvent {
			rt, ok := anyEventRoutes[r.ID]
			if !ok {
				problems = append(problems, fmt.Sprintf("AnyEvent rule %s has no route in anyEventRoutes: the template cannot be checked to deliver it", r.ID))
				continue
			}
			wantBranches[canonical(rt.branch)] = r.ID
			for k, v := range rt.exclusion {
				exclusions[k] = v
			}
			continue
		}
		for _, name := range r.Events {
			watched[watchedEvent{r.Source, name}] = true
		}
	}
	deliveredBy := map[watchedEvent]string{}
	routedBy := map[string]string{} // AnyEvent rule ID → pattern
	if len(patterns) == 0 {
		problems = append(problems, "the template has no EventBridge pattern")
	}
	for _, p := range patterns {
		bad := func(format string, args ...any) {
			problems = append(problems, p.Where+": "+fmt.Sprintf(format, args...))
		}
		if reflect.DeepEqual(p.Body["source"], anyAWSSource) {
			for _, id := range checkAnyEventPattern(p, wantBranches, bad) {
				if routedBy[id] != "" {
					bad("delivers %s, already delivered by %s: the function would run twice", id, routedBy[id])
				}
				routedBy[id] = p.Where
			}
			continue
		}
		sources, ok := Strings(p.Body["source"])
		if !ok || len(sources) == 0 {
			bad("source must be a non-empty list of literal strings (or, for the AnyEvent rules only, [{prefix: aws.}])")
			continue
		}
		for _, s := range sources {
			if !strings.HasPrefix(s, "aws.") {
				bad("source %q is not an AWS service (aws.*)", s)
			}
		}
		detailTypes, ok := Strings(p.Body["detail-type"])
		if !ok || len(detailTypes) == 0 {
			bad("detail-type must be a non-empty list of literal strings")
			continue
		}
		detail, _ := p.Body["detail"].(map[string]any)
		eventSources, okSources := Strings(detail["eventSource"])
		eventNames, okNames := Strings(detail["eventName"])
		if !okSources || len(eventSources) == 0 || !okNames || len(eventNames) == 0 {
			bad("must pin detail.eventSource and detail.eventName to literal lists, never match a whole service")
			continue
		}
		for _, k := range sortedKeys(detail) {
			want, isExclusion := exclusions[k]
			switch {
			case k == "eventSource" || k == "eventName":
			case !isExclusion:
				bad("detail.%s: a per-source pattern pins only eventSource and eventName (and carries the AnyEvent exclusions)", k)
			case !reflect.DeepEqual(detail[k], want):
				bad("detail.%s is %s, want %s, the complement of the AnyEvent route", k, canonical(detail[k]), canonical(want))
			}
		}
		for _, k := range sortedKeys(exclusions) {
			if _, ok := detail[k]; !ok {
				bad("lacks detail.%s %s: the root user's or a denied call would reach the function through this rule and the AnyEvent rule both", k, canonical(exclusions[k]))
			}
		}
		usedSources, usedTypes := map[string]bool{}, map[string]bool{}
		for _, es := range eventSources {
			src := busSource(es)
			usedSources[src] = true
			if !slices.Contains(sources, src) {
				bad("eventSource %s arrives with source %s, which the pattern does not list", es, src)
			}
			for _, name := range eventNames {
				ev := watchedEvent{es, name}
				dt := detailType(name)
				usedTypes[dt] = true
				switch {
				case !watched[ev]:
					bad("matches %s %s, which no rule watches", es, name)
				case !slices.Contains(detailTypes, dt):
					bad("%s %s arrives with detail-type %q, which the pattern does not list", es, name, dt)
				case deliveredBy[ev] != "":
					bad("matches %s %s, already delivered by %s: the function would run twice", es, name, deliveredBy[ev])
				default:
					deliveredBy[ev] = p.Where
				}
			}
		}
		for _, s := range sources {
			if !usedSources[s] {
				bad("source %s matches none of the pattern's eventSources", s)
			}
		}
		for _, dt := range detailTypes {
			if !usedTypes[dt] {
				bad("detail-type %q matches none of the pattern's eventNames", dt)
			}
		}
	}
	var missing []string
	for ev := range watched {
		if deliveredBy[ev] == "" {
			missing = append(missing, fmt.Sprintf("a rule watches %s %s, but no pattern delivers it", ev.source, ev.name))
		}
	}
	for _, id := range wantBranches {
		if routedBy[id] == "" {
			missing = append(missing, fmt.Sprintf("AnyEvent rule %s looks at every event, but no pattern delivers its route", id))
		}
	}
	slices.Sort(missing)
	return append(problems, missing...)
}

// checkAnyEventPattern checks the pattern whose source is anyAWSSource: nothing but source and
// an $or of known routes. It returns the AnyEvent rules whose routes it holds.
func checkAnyEventPattern(p Pattern, wantBranches map[string]string, bad func(string, ...any)) []string {
	for _, k := range sortedKeys(p.Body) {
		if k != "source" && k != "$or" {
			bad("%s: a pattern with source [{prefix: aws.}] holds only $or branches, each the route of an AnyEvent rule", k)
		}
	}
	branches, _ := p.Body["$or"].([]any)
	if len(branches) == 0 {
		bad("source [{prefix: aws.}] without $or branches would deliver every AWS event")
	}
	var ids []string
	for i, b := range branches {
		id, ok := wantBranches[canonical(b)]
		if !ok {
			bad("$or[%d] %s is not the route of any AnyEvent rule", i, canonical(b))
			continue
		}
		if slices.Contains(ids, id) {
			bad("$or[%d] repeats the route of %s", i, id)
		}
		ids = append(ids, id)
	}
	return ids
}

// canonical is v as JSON with sorted keys, for comparing and printing pattern fragments.
func canonical(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestEventPatternsMatchRules holds the template's EventBridge rules to exactly what
// detect.Default() watches: nothing missed, nothing extra, never a catch-all.
func TestEventPatternsMatchRules(t *testing.T) {
	patterns, err := loadTemplate(t).Patterns()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range checkPatterns(patterns, detect.Default().Rules()) {
		t.Error(p)
	}
}

// TestCheckAnyEventPatterns shows that the routes of the AnyEvent rules are checked as
// strictly as the per-source ones: the one prefix source allowed, exactly the known branches,
// and the exclusions that keep a root or denied call from reaching the function twice.
func TestCheckAnyEventPatterns(t *testing.T) {
	rules := []detect.Rule{
		{ID: "key", Source: "iam.amazonaws.com", Events: []string{"CreateAccessKey"}},
		{ID: "root-activity", AnyEvent: true},
		{ID: "unauthorized-api-calls", AnyEvent: true},
	}
	const exclusions = `, userIdentity: {type: [{anything-but: [Root]}]}, errorCode: [{exists: false}, {anything-but: {wildcard: ["*UnauthorizedOperation", "AccessDenied*"]}}]`
	const iam = `{source: [aws.iam], detail-type: [AWS API Call via CloudTrail], detail: {eventSource: [iam.amazonaws.com], eventName: [CreateAccessKey]` + exclusions + `}}`
	const root = `{detail-type: [AWS API Call via CloudTrail, AWS Console Sign In via CloudTrail], detail: {userIdentity: {type: [Root]}}}`
	const denied = `{detail-type: [AWS API Call via CloudTrail], detail: {errorCode: [{suffix: UnauthorizedOperation}, {prefix: AccessDenied}]}}`
	template := func(iamPattern, anyPattern string) string {
		return `
Resources:
  IAM:
    Type: AWS::Events::Rule
    Properties:
      EventPattern: ` + iamPattern + `
  Any:
    Type: AWS::Events::Rule
    Properties:
      EventPattern: ` + anyPattern + `
`
	}
	tests := []struct {
		name, template string
		rules          []detect.Rule
		want           []string
	}{
		{name: "exact", template: template(iam, `{source: [{prefix: aws.}], $or: [`+root+`, `+denied+`]}`)},
		{
			name:     "no exclusions",
			template: template(strings.Replace(iam, exclusions, "", 1), `{source: [{prefix: aws.}], $or: [`+root+`, `+denied+`]}`),
			want:     []string{"IAM: lacks detail.errorCode", "IAM: lacks detail.userIdentity"},
		},
		{
			name:     "a missing route",
			template: template(iam, `{source: [{prefix: aws.}], $or: [`+root+`]}`),
			want:     []string{"AnyEvent rule unauthorized-api-calls looks at every event, but no pattern delivers its route"},
		},
		{
			name:     "an unknown branch",
			template: template(iam, `{source: [{prefix: aws.}], $or: [`+root+`, `+denied+`, {detail: {eventName: [{prefix: Delete}]}}]}`),
			want:     []string{`Any: $or[2] {"detail":{"eventName":[{"prefix":"Delete"}]}} is not the route of any AnyEvent rule`},
		},
		{
			name:     "a catch-all",
			template: template(iam, `{source: [{prefix: aws.}], detail-type: [AWS API Call via CloudTrail], $or: [`+root+`, `+denied+`]}`),
			want:     []string{"Any: detail-type: a pattern with source [{prefix: aws.}] holds only $or branches"},
		},
		{
			name:     "another prefix",
			template: template(iam, `{source: [{prefix: a}], $or: [`+root+`, `+denied+`]}`),
			want:     []string{"Any: source must be a non-empty list of literal strings"},
		},
		{
			name:     "a route for an unknown AnyEvent rule",
			template: template(iam, `{source: [{prefix: aws.}], $or: [`+root+`, `+denied+`]}`),
			rules:    append(slices.Clone(rules), detect.Rule{ID: "everything", AnyEvent: true}),
			want:     []string{"AnyEvent rule everything has no route in anyEventRoutes"},
		},
		{
			name:     "weakened exclusion",
			template: template(strings.Replace(iam, `{anything-but: [Root]}`, `{anything-but: [root]}`, 1), `{source: [{prefix: aws.}], $or: [`+root+`, `+denied+`]}`),
			want:     []string{"IAM: detail.userIdentity is"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tpl, err := Parse([]byte(tt.template))
			if err != nil {
				t.Fatal(err)
			}
			patterns, err := tpl.Patterns()
			if err != nil {
				t.Fatal(err)
			}
			rs := rules
			if tt.rules != nil {
				rs = tt.rules
			}
			got := strings.Join(checkPatterns(patterns, rs), "\n")
			if len(tt.want) == 0 && got != "" {
				t.Errorf("unexpected problems:\n%s", got)
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("problems do not mention %q:\n%s", w, got)
				}
			}
		})
	}
}

// TestCheckPatterns shows that checkPatterns catches each kind of drift, so that
// TestEventPatternsMatchRules passing means something.
func TestCheckPatterns(t *testing.T) {
	rules := []detect.Rule{
		{ID: "key", Source: "iam.amazonaws.com", Events: []string{"CreateAccessKey", "AttachUserPolicy"}},
		{ID: "signin", Source: "signin.amazonaws.com", Events: []string{"ConsoleLogin"}},
	}
	const signin = `
        Signin:
          Type: EventBridgeRule
          Properties:
            Pattern:
              source: [aws.signin]
              detail-type: [AWS Console Sign In via CloudTrail]
              detail: {eventSource: [signin.amazonaws.com], eventName: [ConsoleLogin]}`
	function := func(iamPattern string) string {
		return `
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        IAM:
          Type: EventBridgeRule
          Properties:
            Pattern: ` + iamPattern + signin + `
        Nightly:
          Type: Schedule
          Properties: {Schedule: rate(1 day)}
`
	}
	const exactIAM = `{source: [aws.iam], detail-type: [AWS API Call via CloudTrail], detail: {eventSource: [iam.amazonaws.com], eventName: [CreateAccessKey, AttachUserPolicy]}}`
	tests := []struct {
		name, template string
		want           []string // substrings of problems; none for a clean template
	}{
		{name: "exact", template: function(exactIAM)},
		{name: "events rule with JSON pattern", template: `
Resources:
  IAM:
    Type: AWS::Events::Rule
    Properties:
      EventPattern: '{"source":["aws.iam"],"detail-type":["AWS API Call via CloudTrail"],"detail":{"eventSource":["iam.amazonaws.com"],"eventName":["CreateAccessKey","AttachUserPolicy"]}}'
  Signin:
    Type: AWS::Events::Rule
    Properties:
      EventPattern:
        source: [aws.signin]
        detail-type: [AWS Console Sign In via CloudTrail]
        detail: {eventSource: [signin.amazonaws.com], eventName: [ConsoleLogin]}
  Nightly:
    Type: AWS::Events::Rule
    Properties: {ScheduleExpression: rate(1 day)}
`},
		{
			name:     "catch-all",
			template: function(`{source: [aws.iam]}`),
			want:     []string{"Fn.Events.IAM: detail-type must be", "a rule watches iam.amazonaws.com CreateAccessKey, but no pattern delivers it"},
		},
		{
			name:     "whole service",
			template: function(`{source: [aws.iam], detail-type: [AWS API Call via CloudTrail], detail: {eventSource: [iam.amazonaws.com]}}`),
			want:     []string{"must pin detail.eventSource and detail.eventName"},
		},
		{
			name:     "missing event",
			template: function(`{source: [aws.iam], detail-type: [AWS API Call via CloudTrail], detail: {eventSource: [iam.amazonaws.com], eventName: [CreateAccessKey]}}`),
			want:     []string{"a rule watches iam.amazonaws.com AttachUserPolicy, but no pattern delivers it"},
		},
		{
			name:     "unwatched event",
			template: function(`{source: [aws.iam], detail-type: [AWS API Call via CloudTrail], detail: {eventSource: [iam.amazonaws.com], eventName: [CreateAccessKey, AttachUserPolicy, DeleteUser]}}`),
			want:     []string{"matches iam.amazonaws.com DeleteUser, which no rule watches"},
		},
		{
			name:     "wrong source",
			template: function(`{source: [aws.cloudtrail], detail-type: [AWS API Call via CloudTrail], detail: {eventSource: [iam.amazonaws.com], eventName: [CreateAccessKey, AttachUserPolicy]}}`),
			want:     []string{"eventSource iam.amazonaws.com arrives with source aws.iam", "source aws.cloudtrail matches none"},
		},
		{
			name:     "custom source",
			template: function(`{source: [aws.iam, acme.app], detail-type: [AWS API Call via CloudTrail], detail: {eventSource: [iam.amazonaws.com], eventName: [CreateAccessKey, AttachUserPolicy]}}`),
			want:     []string{`source "acme.app" is not an AWS service`},
		},
		{
			name:     "wrong detail-type",
			template: strings.Replace(function(exactIAM), "[AWS Console Sign In via CloudTrail]", "[AWS API Call via CloudTrail]", 1),
			want:     []string{`signin.amazonaws.com ConsoleLogin arrives with detail-type "AWS Console Sign In via CloudTrail"`},
		},
		{
			name:     "pattern by intrinsic",
			template: function(`!Ref PatternParam`),
			want:     []string{"Fn.Events.IAM: pattern is not a literal mapping"},
		},
		{
			name: "delivered twice",
			template: function(exactIAM) + `
  Again:
    Type: AWS::Events::Rule
    Properties:
      EventPattern: {source: [aws.iam], detail-type: [AWS API Call via CloudTrail], detail: {eventSource: [iam.amazonaws.com], eventName: [CreateAccessKey]}}
`,
			want: []string{"Fn.Events.IAM: matches iam.amazonaws.com CreateAccessKey, already delivered by Again"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tpl, err := Parse([]byte(tt.template))
			if err != nil {
				t.Fatal(err)
			}
			patterns, err := tpl.Patterns()
			problems := checkPatterns(patterns, rules)
			if err != nil {
				problems = append(problems, err.Error())
			}
			got := strings.Join(problems, "\n")
			if len(tt.want) == 0 && got != "" {
				t.Errorf("unexpected problems:\n%s", got)
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("problems do not mention %q:\n%s", w, got)
				}
			}
		})
	}
}

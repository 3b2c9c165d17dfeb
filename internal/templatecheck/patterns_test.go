package templatecheck

import (
	"fmt"
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

// checkPatterns returns every way the event patterns and the rule table disagree: a
// pattern that does not pin its source, detail-type, eventSource and eventNames; an event
// delivered under a source or detail-type the pattern does not list; an event a pattern
// delivers that no rule watches, or delivers twice; and an event a rule watches that no
// pattern delivers.
func checkPatterns(patterns []Pattern, rules []detect.Rule) []string {
	var problems []string
	watched := map[watchedEvent]bool{}
	for _, r := range rules {
		for _, name := range r.Events {
			watched[watchedEvent{r.Source, name}] = true
		}
	}
	deliveredBy := map[watchedEvent]string{}
	if len(patterns) == 0 {
		problems = append(problems, "the template has no EventBridge pattern")
	}
	for _, p := range patterns {
		bad := func(format string, args ...any) {
			problems = append(problems, p.Where+": "+fmt.Sprintf(format, args...))
		}
		sources, ok := Strings(p.Body["source"])
		if !ok || len(sources) == 0 {
			bad("source must be a non-empty list of literal strings")
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
	slices.Sort(missing)
	return append(problems, missing...)
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

package audit

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
)

// pagedEvents serves rule names and rules in pages keyed by the NextToken that asks for them.
type pagedEvents struct {
	names map[string]eventbridge.ListRuleNamesByTargetOutput
	rules map[string]eventbridge.ListRulesOutput
}

func (p pagedEvents) ListRuleNamesByTarget(_ context.Context, in *eventbridge.ListRuleNamesByTargetInput, _ ...func(*eventbridge.Options)) (*eventbridge.ListRuleNamesByTargetOutput, error) {
	out := p.names[aws.ToString(in.NextToken)]
	return &out, nil
}

func (p pagedEvents) ListRules(_ context.Context, in *eventbridge.ListRulesInput, _ ...func(*eventbridge.Options)) (*eventbridge.ListRulesOutput, error) {
	out := p.rules[aws.ToString(in.NextToken)]
	return &out, nil
}

// TestTargetedRulesPages follows NextToken through pages of both listings, and turns a token
// that comes back into an error instead of a loop.
func TestTargetedRulesPages(t *testing.T) {
	rule := func(name string, state ebtypes.RuleState) ebtypes.Rule {
		return ebtypes.Rule{Name: aws.String(name), State: state}
	}
	twoPages := map[string]eventbridge.ListRuleNamesByTargetOutput{
		"":   {RuleNames: []string{"a"}, NextToken: aws.String("p2")},
		"p2": {RuleNames: []string{"b"}},
	}
	for _, tc := range []struct {
		name   string
		api    pagedEvents
		min    int
		want   Status
		detail string
	}{
		{"enabled over pages", pagedEvents{twoPages, map[string]eventbridge.ListRulesOutput{
			"":   {Rules: []ebtypes.Rule{rule("a", ebtypes.RuleStateEnabled)}, NextToken: aws.String("r2")},
			"r2": {Rules: []ebtypes.Rule{rule("b", ebtypes.RuleStateEnabledWithAllCloudtrailManagementEvents)}},
		}}, 2, Pass, "2 rule(s)"},
		{"disabled on the second page", pagedEvents{twoPages, map[string]eventbridge.ListRulesOutput{
			"":   {Rules: []ebtypes.Rule{rule("a", ebtypes.RuleStateEnabled)}, NextToken: aws.String("r2")},
			"r2": {Rules: []ebtypes.Rule{rule("b", ebtypes.RuleStateDisabled)}},
		}}, 1, Fail, "b (DISABLED)"},
		{"targeting rule not listed", pagedEvents{twoPages, map[string]eventbridge.ListRulesOutput{
			"": {Rules: []ebtypes.Rule{rule("a", ebtypes.RuleStateEnabled)}},
		}}, 1, Fail, "b (not listed)"},
		{"too few", pagedEvents{twoPages, nil}, 3, Fail, "2 rule(s) target"},
		{"a token that comes back", pagedEvents{map[string]eventbridge.ListRuleNamesByTargetOutput{
			"":   {RuleNames: []string{"a"}, NextToken: aws.String("p2")},
			"p2": {RuleNames: []string{"b"}, NextToken: aws.String("p2")},
		}, nil}, 1, Error, "NextToken twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, detail := targetedRules(t.Context(), tc.api, functionARN, tc.min)
			if status != tc.want || !strings.Contains(detail, tc.detail) {
				t.Errorf("%s %q, want %s mentioning %q", status, detail, tc.want, tc.detail)
			}
		})
	}
}

var _ EventsAPI = pagedEvents{}

// Package templatecheck reads the SAM template (template.yaml) as CloudFormation sees it
// before intrinsic functions run, so that tests can hold the deployment to the code: event
// patterns to the detector's rule table, IAM statements to least privilege.
package templatecheck

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Template is a decoded CloudFormation template: maps, lists and scalars, with each
// short-form intrinsic in its long form (!Ref X is {"Ref": "X"}, !GetAtt A.B is
// {"Fn::GetAtt": ["A", "B"]}, !Sub s is {"Fn::Sub": "s"}, and so on).
type Template map[string]any

// Load reads and decodes a template file.
func Load(path string) (Template, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	t, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// Parse decodes a template. YAML cannot decode CloudFormation's local tags (!Ref, !Sub …)
// into plain values, so it goes through yaml.Node and treats every such tag alike.
func Parse(data []byte) (Template, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	v, err := value(&doc)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("template is %T, not a mapping", v)
	}
	return Template(m), nil
}

func value(n *yaml.Node) (any, error) {
	var v any
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return value(n.Content[0])
	case yaml.AliasNode:
		return value(n.Alias)
	case yaml.ScalarNode:
		if intrinsic(n.Tag) {
			v = n.Value
		} else if err := n.Decode(&v); err != nil {
			return nil, err
		}
	case yaml.SequenceNode:
		l := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			cv, err := value(c)
			if err != nil {
				return nil, err
			}
			l = append(l, cv)
		}
		v = l
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			cv, err := value(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[n.Content[i].Value] = cv
		}
		v = m
	default:
		return nil, fmt.Errorf("line %d: unexpected YAML node kind %v", n.Line, n.Kind)
	}
	if !intrinsic(n.Tag) {
		return v, nil
	}
	switch name := n.Tag[1:]; name {
	case "Ref", "Condition":
		return map[string]any{name: v}, nil
	case "GetAtt":
		// !GetAtt Resource.Attribute is the short form of [Resource, Attribute].
		if s, ok := v.(string); ok {
			res, attr, _ := strings.Cut(s, ".")
			v = []any{res, attr}
		}
		return map[string]any{"Fn::GetAtt": v}, nil
	default:
		return map[string]any{"Fn::" + name: v}, nil
	}
}

// intrinsic reports whether a node tag is a CloudFormation short form (!Ref), not a YAML
// core tag (!!str).
func intrinsic(tag string) bool {
	return strings.HasPrefix(tag, "!") && !strings.HasPrefix(tag, "!!")
}

// Resources returns the template's resources by logical ID.
func (t Template) Resources() map[string]map[string]any {
	out := map[string]map[string]any{}
	rs, _ := t["Resources"].(map[string]any)
	for id, r := range rs {
		if m, ok := r.(map[string]any); ok {
			out[id] = m
		}
	}
	return out
}

// Pattern is one EventBridge event pattern and where the template declares it.
type Pattern struct {
	Where string // "WatchdogFunction.Events.IAMEvents" or the logical ID of an AWS::Events::Rule
	Body  map[string]any
	// State is the rule's State when the template sets one (ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS
	// delivers read-only management events too).
	State string
}

// Patterns returns every event pattern: those of the EventBridgeRule and CloudWatchEvent
// events of serverless functions, and those of AWS::Events::Rule resources (schedule-only
// rules have none). A pattern that is not a literal mapping (or JSON text) is an error,
// since nothing could check it.
func (t Template) Patterns() ([]Pattern, error) {
	var out []Pattern
	var errs []string
	add := func(where string, p any, state any) {
		if s, ok := p.(string); ok {
			var m map[string]any
			if err := json.Unmarshal([]byte(s), &m); err != nil {
				errs = append(errs, fmt.Sprintf("%s: pattern is not JSON: %v", where, err))
				return
			}
			p = m
		}
		m, ok := p.(map[string]any)
		if !ok || isIntrinsic(m) {
			errs = append(errs, fmt.Sprintf("%s: pattern is not a literal mapping", where))
			return
		}
		st, _ := state.(string)
		out = append(out, Pattern{Where: where, Body: m, State: st})
	}
	rs := t.Resources()
	for _, id := range sortedKeys(rs) {
		r := rs[id]
		props, _ := r["Properties"].(map[string]any)
		switch r["Type"] {
		case "AWS::Serverless::Function":
			events, _ := props["Events"].(map[string]any)
			for _, name := range sortedKeys(events) {
				ev, _ := events[name].(map[string]any)
				if typ := ev["Type"]; typ != "EventBridgeRule" && typ != "CloudWatchEvent" {
					continue
				}
				eprops, _ := ev["Properties"].(map[string]any)
				add(id+".Events."+name, eprops["Pattern"], eprops["State"])
			}
		case "AWS::Events::Rule":
			if p, ok := props["EventPattern"]; ok {
				add(id, p, props["State"])
			}
		}
	}
	if len(errs) > 0 {
		return out, fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	return out, nil
}

// Statement is one IAM policy statement and where the template declares it.
type Statement struct {
	Where string // the logical ID of the resource holding it
	Body  map[string]any
}

// Statements returns every IAM policy statement anywhere in the template's resources:
// role trust and inline policies, managed policies, queue and bucket policies. A statement
// is any mapping with an Effect and an Action or NotAction.
func (t Template) Statements() []Statement {
	var out []Statement
	var walk func(where string, v any)
	walk = func(where string, v any) {
		switch v := v.(type) {
		case map[string]any:
			_, action := v["Action"]
			_, notAction := v["NotAction"]
			if _, ok := v["Effect"]; ok && (action || notAction) {
				out = append(out, Statement{Where: where, Body: v})
				return
			}
			for _, k := range sortedKeys(v) {
				walk(where, v[k])
			}
		case []any:
			for _, e := range v {
				walk(where, e)
			}
		}
	}
	rs := t.Resources()
	for _, id := range sortedKeys(rs) {
		walk(id, rs[id])
	}
	return out
}

// Strings returns v as a list of strings: a string is a list of one. ok is false when v
// holds anything else, an intrinsic function for instance.
func Strings(v any) (out []string, ok bool) {
	switch v := v.(type) {
	case string:
		return []string{v}, true
	case []any:
		for _, e := range v {
			s, isString := e.(string)
			if !isString {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	return nil, false
}

func isIntrinsic(m map[string]any) bool {
	if len(m) != 1 {
		return false
	}
	for k := range m {
		return k == "Ref" || k == "Condition" || strings.HasPrefix(k, "Fn::")
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

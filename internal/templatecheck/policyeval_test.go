package templatecheck

import (
	"encoding/json"
	"path"
	"slices"
	"strings"
	"testing"
)

// request is one call as IAM evaluates it: who, what, on what, and the request's condition
// keys (a key absent from Context is absent from the request).
type request struct {
	Principal string // the caller's ARN (for an assumed role, the role's ARN: aws:PrincipalArn)
	Action    string
	Resource  string
	Context   map[string][]string
}

// evaluation is what a policy says of a request.
type evaluation struct {
	Allowed bool   // an Allow statement matches
	Denied  bool   // a Deny statement matches
	Sid     string // the first matching Deny (or Allow, when none denies)
}

// evaluate applies a policy document (identity, resource, key or service control policy) to
// a request. It knows the condition operators the project's templates use and fails the test
// on any other, so that an operator it cannot evaluate never passes for true or false. It
// does not model grants, sessions policies or permission boundaries: it answers "does this
// document allow or deny this call", which is what the templates' tests ask.
func evaluate(t *testing.T, doc map[string]any, r request) evaluation {
	t.Helper()
	ctx := map[string][]string{}
	for k, v := range r.Context {
		ctx[k] = v
	}
	if _, ok := lookup(ctx, "aws:PrincipalArn"); !ok && r.Principal != "" {
		ctx["aws:PrincipalArn"] = []string{r.Principal}
	}
	r.Context = ctx
	var out evaluation
	stmts, ok := doc["Statement"].([]any)
	if !ok {
		if s, isMap := doc["Statement"].(map[string]any); isMap {
			stmts = []any{s}
		} else {
			t.Fatalf("policy has no Statement list: %v", doc)
		}
	}
	for _, raw := range stmts {
		s, ok := raw.(map[string]any)
		if !ok {
			t.Fatalf("statement is %T, not a mapping: %v", raw, raw)
		}
		if !statementMatches(t, s, r) {
			continue
		}
		sid, _ := s["Sid"].(string)
		switch s["Effect"] {
		case "Deny":
			if !out.Denied {
				out.Denied, out.Sid = true, sid
			}
		case "Allow":
			if !out.Allowed && !out.Denied {
				out.Sid = sid
			}
			out.Allowed = true
		default:
			t.Fatalf("statement %q: Effect %v", sid, s["Effect"])
		}
	}
	return out
}

func statementMatches(t *testing.T, s map[string]any, r request) bool {
	t.Helper()
	if p, ok := s["Principal"]; ok && !principalMatches(t, p, r.Principal) {
		return false
	}
	if !listMatches(t, s, "Action", "NotAction", r.Action, actionMatches) {
		return false
	}
	if !listMatches(t, s, "Resource", "NotResource", r.Resource, arnMatches) {
		return false
	}
	cond, _ := s["Condition"].(map[string]any)
	for op, kv := range cond {
		keys, ok := kv.(map[string]any)
		if !ok {
			t.Fatalf("condition %s is %T", op, kv)
		}
		for key, want := range keys {
			wants, ok := Strings(want)
			if !ok {
				t.Fatalf("condition %s %s: values %v are not strings", op, key, want)
			}
			if !conditionHolds(t, op, wants, r.Context, key) {
				return false
			}
		}
	}
	return true
}

// listMatches applies Action/NotAction (or Resource/NotResource) of a statement.
func listMatches(t *testing.T, s map[string]any, key, notKey, value string, match func(pattern, value string) bool) bool {
	t.Helper()
	pos, hasPos := s[key]
	neg, hasNeg := s[notKey]
	switch {
	case hasPos && hasNeg:
		t.Fatalf("statement has both %s and %s", key, notKey)
	case hasPos:
		pats, ok := Strings(pos)
		if !ok {
			t.Fatalf("%s %v is not a list of strings", key, pos)
		}
		return slices.ContainsFunc(pats, func(p string) bool { return match(p, value) })
	case hasNeg:
		pats, ok := Strings(neg)
		if !ok {
			t.Fatalf("%s %v is not a list of strings", notKey, neg)
		}
		return !slices.ContainsFunc(pats, func(p string) bool { return match(p, value) })
	}
	if key == "Resource" {
		return true // a key or resource policy statement may leave Resource out
	}
	t.Fatalf("statement has neither %s nor %s", key, notKey)
	return false
}

// actionMatches compares an action with a pattern, case-insensitively, * and ? as wildcards.
func actionMatches(pattern, action string) bool {
	ok, err := path.Match(strings.ToLower(pattern), strings.ToLower(action))
	return err == nil && ok
}

// arnMatches compares an ARN with a pattern: * and ? match any run of characters (slashes
// and colons included), as ArnLike and Resource do.
func arnMatches(pattern, arn string) bool { return wildcard(pattern, arn) }

// wildcard is IAM's string matching: * any run of characters, ? any one, the rest literal.
func wildcard(pattern, s string) bool {
	for len(pattern) > 0 {
		switch pattern[0] {
		case '*':
			for i := len(s); i >= 0; i-- {
				if wildcard(pattern[1:], s[i:]) {
					return true
				}
			}
			return false
		case '?':
			if s == "" {
				return false
			}
		default:
			if s == "" || s[0] != pattern[0] {
				return false
			}
		}
		pattern, s = pattern[1:], s[1:]
	}
	return s == ""
}

func principalMatches(t *testing.T, p any, caller string) bool {
	t.Helper()
	if p == "*" {
		return true
	}
	m, ok := p.(map[string]any)
	if !ok {
		t.Fatalf("Principal %v is neither * nor a mapping", p)
	}
	for kind, v := range m {
		vals, ok := Strings(v)
		if !ok {
			t.Fatalf("Principal %s %v is not a list of strings", kind, v)
		}
		for _, want := range vals {
			switch {
			case kind == "AWS" && want == "*":
				return true
			case kind == "AWS" && strings.HasSuffix(want, ":root"):
				// An account principal: any principal of that account (IAM decides the rest).
				if accountOf(want) == accountOf(caller) {
					return true
				}
			case want == caller:
				return true
			}
		}
	}
	return false
}

// accountOf is the account field of an ARN ("" for anything else).
func accountOf(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return ""
	}
	return parts[4]
}

// conditionHolds evaluates one condition key of one operator, with IAM's rules for absent
// keys and the ForAnyValue/ForAllValues set operators.
func conditionHolds(t *testing.T, op string, wants []string, ctx map[string][]string, key string) bool {
	t.Helper()
	got, present := lookup(ctx, key)
	set, base, isSet := strings.Cut(op, ":")
	if !isSet {
		base, set = op, ""
	}
	ifExists := strings.HasSuffix(base, "IfExists")
	base = strings.TrimSuffix(base, "IfExists")
	if base == "Null" {
		if len(wants) != 1 || (wants[0] != "true" && wants[0] != "false") {
			t.Fatalf("Null %s: %v, want true or false", key, wants)
		}
		return (wants[0] == "true") == !present
	}
	if !present {
		// An absent key: only ...IfExists holds, and ForAllValues holds over the empty set.
		return ifExists || set == "ForAllValues"
	}
	one := func(v string) bool {
		switch base {
		case "StringEquals", "ArnEquals":
			return slices.Contains(wants, v)
		case "StringNotEquals", "ArnNotEquals":
			return !slices.Contains(wants, v)
		case "StringLike", "ArnLike":
			return slices.ContainsFunc(wants, func(w string) bool { return wildcard(w, v) })
		case "StringNotLike", "ArnNotLike":
			return !slices.ContainsFunc(wants, func(w string) bool { return wildcard(w, v) })
		case "Bool":
			return slices.Contains(wants, v)
		}
		t.Fatalf("condition operator %s is not one this evaluator knows; add it", op)
		return false
	}
	switch set {
	case "ForAnyValue":
		return slices.ContainsFunc(got, one)
	case "ForAllValues":
		return !slices.ContainsFunc(got, func(v string) bool { return !one(v) })
	case "":
		if len(got) != 1 {
			t.Fatalf("condition %s on multi-valued key %s needs ForAnyValue or ForAllValues", op, key)
		}
		return one(got[0])
	}
	t.Fatalf("condition set operator %s is unknown", set)
	return false
}

// lookup finds a condition key case-insensitively (IAM's keys are), its tag part excepted.
func lookup(ctx map[string][]string, key string) ([]string, bool) {
	for k, v := range ctx {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}

// decodePolicy reads a policy document given as JSON text or as a decoded object.
func decodePolicy(t *testing.T, v any) map[string]any {
	t.Helper()
	switch v := v.(type) {
	case map[string]any:
		return v
	case string:
		var m map[string]any
		if err := json.Unmarshal([]byte(v), &m); err != nil {
			t.Fatalf("policy is not JSON: %v\n%s", err, v)
		}
		return m
	}
	t.Fatalf("policy is %T", v)
	return nil
}

// TestEvaluate shows the evaluator's rules on the shapes the templates use.
func TestEvaluate(t *testing.T) {
	doc := decodePolicy(t, `{"Statement": [
	  {"Sid": "ReadOnlyElseDenyTagged", "Effect": "Deny", "NotAction": ["lambda:Get*", "lambda:List*"], "Resource": "*",
	   "Condition": {"Null": {"aws:ResourceTag/app": "false"}}},
	  {"Sid": "Named", "Effect": "Deny", "NotAction": ["lambda:Get*"], "Resource": "arn:aws:lambda:*:111122223333:function:app*"},
	  {"Sid": "OnlyRolesWrite", "Effect": "Deny", "Principal": "*", "Action": "dynamodb:PutItem", "Resource": "*",
	   "Condition": {"ArnNotLike": {"aws:PrincipalArn": ["arn:aws:iam::111122223333:role/app/*", "arn:aws:iam::111122223333:role/undo-*"]}}},
	  {"Sid": "UndoKeys", "Effect": "Deny", "Principal": "*", "Action": "dynamodb:PutItem", "Resource": "*",
	   "Condition": {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::111122223333:role/undo-*"}, "ForAnyValue:StringNotLike": {"dynamodb:LeadingKeys": "undo#*"}}},
	  {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:DescribeKey", "Resource": "*"}
	]}`)
	const fn = "arn:aws:lambda:us-east-1:111122223333:function:"
	tagged := map[string][]string{"aws:ResourceTag/app": {"x"}}
	for _, c := range []struct {
		name         string
		r            request
		denied       bool
		allowed      bool
		deniedBySids string
	}{
		{"tagged function invoked", request{Action: "lambda:InvokeFunction", Resource: fn + "other", Context: tagged}, true, false, "ReadOnlyElseDenyTagged"},
		{"tagged function read", request{Action: "lambda:GetFunction", Resource: fn + "other", Context: tagged}, false, false, ""},
		{"untagged function invoked", request{Action: "lambda:InvokeFunction", Resource: fn + "other"}, false, false, ""},
		{"named function, any case of the action", request{Action: "Lambda:invokefunction", Resource: fn + "app-x"}, true, false, "Named"},
		{"function role writes", request{Principal: "arn:aws:iam::111122223333:role/app/fn", Action: "dynamodb:PutItem", Resource: "t", Context: map[string][]string{"dynamodb:LeadingKeys": {"evt#1"}}}, false, false, ""},
		{"stranger writes", request{Principal: "arn:aws:iam::111122223333:user/dev", Action: "dynamodb:PutItem", Resource: "t", Context: map[string][]string{"dynamodb:LeadingKeys": {"undo#1"}}}, true, false, "OnlyRolesWrite"},
		{"undo principal writes an undo record", request{Principal: "arn:aws:iam::111122223333:role/undo-ann", Action: "dynamodb:PutItem", Resource: "t", Context: map[string][]string{"dynamodb:LeadingKeys": {"undo#1"}}}, false, false, ""},
		{"undo principal writes another record", request{Principal: "arn:aws:iam::111122223333:role/undo-ann", Action: "dynamodb:PutItem", Resource: "t", Context: map[string][]string{"dynamodb:LeadingKeys": {"evt#1"}}}, true, false, "UndoKeys"},
		{"account principal", request{Principal: "arn:aws:iam::111122223333:role/x", Action: "kms:DescribeKey", Resource: "k"}, false, true, ""},
		{"other account", request{Principal: "arn:aws:iam::999999999999:role/x", Action: "kms:DescribeKey", Resource: "k"}, false, false, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.r.Principal == "" {
				c.r.Principal = "arn:aws:iam::111122223333:user/dev"
			}
			got := evaluate(t, doc, c.r)
			if got.Denied != c.denied || got.Allowed != c.allowed || (c.denied && got.Sid != c.deniedBySids) {
				t.Errorf("evaluate = %+v, want denied %t (by %q), allowed %t", got, c.denied, c.deniedBySids, c.allowed)
			}
		})
	}
	for pattern, want := range map[string]bool{"a*c": true, "a?c": true, "a*": true, "*c": true, "abd": false, "": false, "a*b*c": true} {
		if got := wildcard(pattern, "abc"); got != want {
			t.Errorf("wildcard(%q, abc) = %t, want %t", pattern, got, want)
		}
	}
}

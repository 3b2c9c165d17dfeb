package audit

import (
	"encoding/json"
	"fmt"
)

// GrantsFullAdmin reports whether a policy document has a statement that allows every action
// on every resource: "Effect": "Allow", "Action": "*" (or "*:*"), "Resource": "*", the shape
// CIS 1.16 looks for. Conditions do not exempt a statement, as CIS does not; NotAction and
// NotResource statements are not this shape and are left to other checks. A document that is
// not a policy is an error, never a pass. Remediation never puts such a document back from a
// snapshot (pkg/auditstore).
func GrantsFullAdmin(doc string) (bool, error) {
	var p struct {
		Statement json.RawMessage `json:"Statement"`
	}
	if err := json.Unmarshal([]byte(doc), &p); err != nil {
		return false, fmt.Errorf("policy document is not JSON: %w", err)
	}
	var stmts []adminStatement
	if err := json.Unmarshal(p.Statement, &stmts); err != nil {
		// A single statement may stand without a list.
		var one adminStatement
		if err := json.Unmarshal(p.Statement, &one); err != nil {
			return false, fmt.Errorf("policy document's Statement is neither a statement nor a list of them")
		}
		stmts = []adminStatement{one}
	}
	for _, s := range stmts {
		if s.Effect != "Allow" {
			continue
		}
		actions, err := stringOrList(s.Action)
		if err != nil {
			return false, fmt.Errorf("Action: %w", err)
		}
		resources, err := stringOrList(s.Resource)
		if err != nil {
			return false, fmt.Errorf("Resource: %w", err)
		}
		if containsAny(actions, "*", "*:*") && containsAny(resources, "*") {
			return true, nil
		}
	}
	return false, nil
}

// adminStatement is the part of a statement GrantsFullAdmin reads.
type adminStatement struct {
	Effect   string          `json:"Effect"`
	Action   json.RawMessage `json:"Action"`
	Resource json.RawMessage `json:"Resource"`
}

// stringOrList reads a policy element that is a string or a list of strings; absent is empty.
func stringOrList(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		return []string{one}, nil
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("neither a string nor a list of strings")
	}
	return list, nil
}

func containsAny(list []string, want ...string) bool {
	for _, v := range list {
		for _, w := range want {
			if v == w {
				return true
			}
		}
	}
	return false
}

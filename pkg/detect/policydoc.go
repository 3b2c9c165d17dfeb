package detect

import (
	"encoding/json"
	"net/url"
	"strings"
)

// AWS managed policies that grant administrator access or the means to get it.
var adminManagedPolicies = map[string]bool{
	"AdministratorAccess": true,
	"IAMFullAccess":       true,
}

// adminManagedPolicy reports whether arn is an AWS managed policy that is admin-equivalent.
func adminManagedPolicy(arn string) bool {
	i := strings.Index(arn, ":iam::aws:policy/")
	if i < 0 {
		return false
	}
	return adminManagedPolicies[arn[strings.LastIndexByte(arn, '/')+1:]]
}

// adminDocument reports whether a policy document allows everything, all of IAM, or
// everything but a list (Allow with NotAction). CloudTrail may record the document
// URL-encoded, as IAM receives it.
func adminDocument(doc string) bool {
	doc = strings.TrimSpace(doc)
	if !strings.HasPrefix(doc, "{") {
		if dec, err := url.QueryUnescape(doc); err == nil {
			doc = dec
		}
	}
	var pd struct {
		Statement json.RawMessage `json:"Statement"`
	}
	if json.Unmarshal([]byte(doc), &pd) != nil {
		return false
	}
	type statement struct {
		Effect    string          `json:"Effect"`
		Action    json.RawMessage `json:"Action"`
		NotAction json.RawMessage `json:"NotAction"`
	}
	var stmts []statement
	if json.Unmarshal(pd.Statement, &stmts) != nil {
		var one statement
		if json.Unmarshal(pd.Statement, &one) != nil {
			return false
		}
		stmts = []statement{one}
	}
	for _, s := range stmts {
		if s.Effect != "Allow" {
			continue
		}
		if len(s.NotAction) > 0 {
			return true
		}
		for _, a := range stringOrList(s.Action) {
			if a == "*" || strings.EqualFold(a, "iam:*") {
				return true
			}
		}
	}
	return false
}

// stringOrList reads a policy element that may be one string or a list of strings.
func stringOrList(raw json.RawMessage) []string {
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		return list
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}
	}
	return nil
}

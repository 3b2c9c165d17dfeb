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

// escalationActions let whoever holds them on every resource grant themselves anything: an
// Allow of any of them on "*" is as good as administrator access.
var escalationActions = map[string]bool{
	"iam:attachuserpolicy": true, "iam:putuserpolicy": true, "iam:attachgrouppolicy": true,
	"iam:putgrouppolicy": true, "iam:attachrolepolicy": true, "iam:putrolepolicy": true,
	"iam:createpolicyversion": true, "iam:setdefaultpolicyversion": true, "iam:addusertogroup": true,
	"iam:createaccesskey": true, "iam:createloginprofile": true, "iam:updateloginprofile": true,
	"iam:updateassumerolepolicy": true,
}

// adminDocument reports whether a policy document is admin-equivalent: it allows everything,
// all of IAM, or an action that escalates privilege, on every resource; or it allows
// everything but a list (Allow with NotAction).
func adminDocument(doc string) bool {
	for _, s := range statements(doc) {
		if s.Effect != "Allow" {
			continue
		}
		if len(s.NotAction) > 0 {
			return true
		}
		everywhere := len(s.NotResource) > 0
		for _, r := range stringOrList(s.Resource) {
			everywhere = everywhere || r == "*"
		}
		if !everywhere {
			continue
		}
		for _, a := range stringOrList(s.Action) {
			a = strings.ToLower(a)
			if a == "*" || a == "iam:*" || escalationActions[a] {
				return true
			}
		}
	}
	return false
}

// statement is one statement of a policy document, its elements left raw.
type statement struct {
	Effect      string          `json:"Effect"`
	Principal   json.RawMessage `json:"Principal"`
	Action      json.RawMessage `json:"Action"`
	NotAction   json.RawMessage `json:"NotAction"`
	Resource    json.RawMessage `json:"Resource"`
	NotResource json.RawMessage `json:"NotResource"`
	Condition   json.RawMessage `json:"Condition"`
}

// statements parses a policy document given as JSON text, URL-encoded or not (CloudTrail may
// record it as IAM receives it), whose Statement is a list or a single object. A document that
// cannot be read has no statements.
func statements(doc string) []statement {
	doc = strings.TrimSpace(doc)
	if !strings.HasPrefix(doc, "{") {
		if dec, err := url.QueryUnescape(doc); err == nil {
			doc = dec
		}
	}
	return documentStatements([]byte(doc))
}

// documentStatements parses a policy document held as JSON.
func documentStatements(doc []byte) []statement {
	var pd struct {
		Statement json.RawMessage `json:"Statement"`
	}
	if json.Unmarshal(doc, &pd) != nil {
		return nil
	}
	return oneOrMany[statement](pd.Statement)
}

// stringOrList reads a policy element that may be one string or a list of strings.
func stringOrList(raw json.RawMessage) []string { return oneOrMany[string](raw) }

// oneOrMany reads an element that may be one value or a list of them, as policy documents and
// S3's XML-turned-JSON elements are; nil when it is neither.
func oneOrMany[T any](raw json.RawMessage) []T {
	var list []T
	if json.Unmarshal(raw, &list) == nil {
		return list
	}
	var one T
	if json.Unmarshal(raw, &one) == nil {
		return []T{one}
	}
	return nil
}

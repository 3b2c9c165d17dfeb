package audit

import (
	"maps"
	"slices"
	"time"
)

// Snapshot is one account's users' policies as an audit found them: the last known good that
// remediation reverts to. It is plain data and round-trips through JSON.
type Snapshot struct {
	Account string                  `json:"account"`
	TakenAt time.Time               `json:"taken_at"`
	Users   map[string]UserPolicies `json:"users"` // by user name
}

// UserPolicies are one user's own policies (not its groups').
type UserPolicies struct {
	ARN      string            `json:"arn"`
	Attached []string          `json:"attached"` // managed policy ARNs, sorted
	Inline   map[string]string `json:"inline"`   // inline policy name → document (JSON, decoded)
}

func newSnapshot(account string, takenAt time.Time, inv *inventory) Snapshot {
	s := Snapshot{Account: account, TakenAt: takenAt.UTC(), Users: make(map[string]UserPolicies, len(inv.Users))}
	for _, u := range inv.Users {
		s.Users[u.Name] = UserPolicies{ARN: u.ARN, Attached: slices.Clone(u.Attached), Inline: maps.Clone(u.Inline)}
	}
	return s
}

// WasAttached reports whether the snapshot shows policyARN attached to user. known is false when
// the snapshot has no such user (created after it was taken): the prior state is unknown.
func (s Snapshot) WasAttached(user, policyARN string) (attached, known bool) {
	u, ok := s.Users[user]
	if !ok {
		return false, false
	}
	return slices.Contains(u.Attached, policyARN), true
}

// InlineDocument returns the document user's inline policy name had in the snapshot. existed is
// false when the user had no such inline policy; known is false when the snapshot has no such
// user.
func (s Snapshot) InlineDocument(user, name string) (doc string, existed, known bool) {
	u, ok := s.Users[user]
	if !ok {
		return "", false, false
	}
	doc, existed = u.Inline[name]
	return doc, existed, true
}

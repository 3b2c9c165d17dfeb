package remediate

import (
	"strings"
	"testing"
)

// IAM attaches only a policy of the user's own account: a user in a member account gets that
// account's copy of the quarantine policy, never the home account's.
func TestQuarantinePolicyPerAccount(t *testing.T) {
	home := "arn:aws:iam::123456789012:policy/iam-watchdog-DenyUnlessMFA"
	for _, tt := range []struct {
		name, account, member, want, err string
	}{
		{"home account", "123456789012", "", home, ""},
		{"account unknown", "", "", home, ""},
		{"member account", "111111111111", "iam-watchdog-quarantine", "arn:aws:iam::111111111111:policy/iam-watchdog-quarantine", ""},
		{"member account without a member policy", "111111111111", "", "", "no member-account policy name"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := &Remediator{QuarantinePolicyARN: home, MemberQuarantinePolicyName: tt.member}
			got, err := r.quarantinePolicy(tt.account)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one saying %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("quarantinePolicy(%q) = %q, %v; want %q", tt.account, got, err, tt.want)
			}
		})
	}
}

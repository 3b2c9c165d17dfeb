package policy

import (
	"testing"

	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
)

// The watchdog's session in a member account is its own call; another session of the same
// role, or a role with a similar name, is not.
func TestIsSelfMemberRole(t *testing.T) {
	c := Config{MemberRoleName: "iam-watchdog-member"}
	for _, tt := range []struct {
		name string
		a    detect.Actor
		want bool
	}{
		{"watchdog session", detect.Actor{ARN: "arn:aws:sts::111111111111:assumed-role/iam-watchdog-member/iam-watchdog", IssuerARN: "arn:aws:iam::111111111111:role/iam-watchdog-member"}, true},
		{"other session of the role", detect.Actor{ARN: "arn:aws:sts::111111111111:assumed-role/iam-watchdog-member/mallory", IssuerARN: "arn:aws:iam::111111111111:role/iam-watchdog-member"}, false},
		{"lookalike role", detect.Actor{ARN: "arn:aws:sts::111111111111:assumed-role/x-iam-watchdog-member/iam-watchdog", IssuerARN: "arn:aws:iam::111111111111:role/x-iam-watchdog-member"}, false},
		{"user", detect.Actor{ARN: "arn:aws:iam::111111111111:user/iam-watchdog"}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.IsSelf(tt.a); got != tt.want {
				t.Errorf("IsSelf = %v, want %v", got, tt.want)
			}
		})
	}
	if (&Config{}).IsSelf(detect.Actor{ARN: "arn:aws:sts::1:assumed-role/iam-watchdog-member/iam-watchdog", IssuerARN: "arn:aws:iam::1:role/iam-watchdog-member"}) {
		t.Error("without a member role name nothing in other accounts is the watchdog")
	}
}

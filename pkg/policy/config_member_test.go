package policy

import (
	"testing"

	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
)

// The watchdog's own calls are known by exact ARNs only (issue 13, point 2): its function roles,
// and its member role's session named iam-watchdog in accounts other than the home account. A
// role merely named like the member role in the home account, or any role's session named
// iam-watchdog, is someone else posing as the watchdog.
func TestIsSelfMemberRole(t *testing.T) {
	const (
		home      = "123456789012"
		member    = "111111111111"
		homeRole  = "arn:aws:iam::" + home + ":role/iam-watchdog-WatchdogFunctionRole-Q1W2E3R4T5Y6"
		slackRole = "arn:aws:iam::" + home + ":role/iam-watchdog-SlackActionsRole-A1B2C3D4"
	)
	session := func(account, path, role, name string) detect.Actor {
		return detect.Actor{
			ARN:       "arn:aws:sts::" + account + ":assumed-role/" + role + "/" + name,
			IssuerARN: "arn:aws:iam::" + account + ":role/" + path + role,
			Type:      "AssumedRole",
		}
	}
	deployed := Config{MemberRoleName: "iam-watchdog-member", SelfRoleARNs: []string{homeRole, slackRole}}
	for _, tt := range []struct {
		name string
		c    Config
		a    detect.Actor
		want bool
	}{
		{"watchdog session in a member account", deployed, session(member, "", "iam-watchdog-member", "iam-watchdog"), true},
		{"function role session", deployed, session(home, "", "iam-watchdog-WatchdogFunctionRole-Q1W2E3R4T5Y6", "iam-watchdog-WatchdogFunction-A1S2"), true},
		{"second function role (SELF_ROLE_ARNS)", deployed, session(home, "", "iam-watchdog-SlackActionsRole-A1B2C3D4", "slack-actions"), true},
		{"function role itself", deployed, detect.Actor{ARN: homeRole}, true},
		// The attack: a role of the member role's name, in the home account, session iam-watchdog.
		{"member-named role in the home account", deployed, session(home, "", "iam-watchdog-member", "iam-watchdog"), false},
		{"other session of the member role", deployed, session(member, "", "iam-watchdog-member", "mallory"), false},
		{"session iam-watchdog of another role", deployed, session(member, "", "admin", "iam-watchdog"), false},
		{"lookalike role", deployed, session(member, "", "x-iam-watchdog-member", "iam-watchdog"), false},
		{"member name in another case", deployed, session(member, "", "IAM-Watchdog-Member", "iam-watchdog"), false},
		{"member role under a path it was not configured with", deployed, session(member, "evil/", "iam-watchdog-member", "iam-watchdog"), false},
		{"session ARN of another account than its issuer", deployed, detect.Actor{
			ARN: "arn:aws:sts::222222222222:assumed-role/iam-watchdog-member/iam-watchdog", IssuerARN: "arn:aws:iam::" + member + ":role/iam-watchdog-member",
		}, false},
		{"user named like the member role", deployed, detect.Actor{ARN: "arn:aws:iam::" + member + ":user/iam-watchdog"}, false},
		{"member role with a configured path", Config{MemberRoleName: "security/iam-watchdog-member", SelfRoleARNs: []string{homeRole}},
			session(member, "security/", "iam-watchdog-member", "iam-watchdog"), true},
		{"configured path, role without it", Config{MemberRoleName: "security/iam-watchdog-member", SelfRoleARNs: []string{homeRole}},
			session(member, "", "iam-watchdog-member", "iam-watchdog"), false},
		{"other partition", deployed, detect.Actor{
			ARN: "arn:aws-us-gov:sts::" + member + ":assumed-role/iam-watchdog-member/iam-watchdog", IssuerARN: "arn:aws-us-gov:iam::" + member + ":role/iam-watchdog-member",
		}, true},
		// Without self role ARNs there is no home account to tell apart: nothing is the member role.
		{"no home account", Config{MemberRoleName: "iam-watchdog-member"}, session(member, "", "iam-watchdog-member", "iam-watchdog"), false},
		{"no member role name", Config{SelfRoleARNs: []string{homeRole}}, session(member, "", "iam-watchdog-member", "iam-watchdog"), false},
		{"empty actor", deployed, detect.Actor{}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.c.IsSelf(tt.a); got != tt.want {
				t.Errorf("IsSelf(%+v) = %v, want %v", tt.a, got, tt.want)
			}
		})
	}
}

package detect

import (
	"fmt"

	"github.com/iam-watchdog/iam-watchdog/pkg/cloudtrail"
)

// iamUserCreated reports a new IAM user at low: the practice here is one IAM user per person, in
// a group that carries its permissions, with MFA before first use, so the alert says what to
// check. A CreateUser that failed created nothing and is left to the denied-call and root rules.
// Reference: https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateUser.html
func iamUserCreated(rec *cloudtrail.Record, f *Finding) bool {
	if rec.Failed() {
		return false
	}
	var req struct {
		UserName string `json:"userName"`
	}
	var resp struct {
		User struct {
			UserName string `json:"userName"`
		} `json:"user"`
	}
	_ = rec.Param(&req)
	_ = rec.Response(&resp)
	user := req.UserName
	if user == "" {
		user = resp.User.UserName
	}
	if user != "" {
		f.Target = userARN(rec, user) // path-less, as every rule names users
	}
	who := "they are"
	if user != "" {
		who = user + " is"
	}
	f.Severity = grade(Low, rec)
	f.Why = fmt.Sprintf("%s created %s%s; check that %s one person who needs an IAM user, gets permissions only through a group, and enrols an MFA device before first use.",
		f.Actor.Name, named("IAM user", user), byService(rec), who)
	if rec.IsRoot() {
		f.Manual = rootManual
	}
	return true
}

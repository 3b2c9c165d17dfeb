// Package alerttest holds alerts for tests of what renders and delivers them: built from
// findings directly rather than through the rules, so that a change to a rule's wording does
// not fail those tests, with every value an attacker controls made hostile in one of them.
package alerttest

import (
	"time"

	"github.com/iam-watchdog/iam-watchdog/pkg/alert"
	"github.com/iam-watchdog/iam-watchdog/pkg/cloudtrail"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/remediate"
)

const account = "123456789012"

// EventTime is when the alerts' events happened.
var EventTime = time.Date(2024, 5, 1, 12, 30, 45, 0, time.UTC)

// ClickTime is when a person pressed a button on the alerts with a thread.
var ClickTime = time.Date(2024, 5, 1, 12, 34, 56, 0, time.UTC)

// Planned is the dry run of deactivating a key someone made for another user.
func Planned() alert.Alert {
	return alert.Alert{
		Finding: detect.Finding{
			Rule:     "access-key-created",
			Category: "access_key_created",
			Severity: detect.High,
			Title:    "Access key created for another user",
			Actor: detect.Actor{
				ARN:       "arn:aws:iam::123456789012:user/alice",
				Type:      "IAMUser",
				Name:      "alice",
				SourceIP:  "203.0.113.7",
				UserAgent: "aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64",
			},
			Target:    "arn:aws:iam::123456789012:user/bob",
			Account:   account,
			Region:    "us-east-1",
			EventID:   "6f1c4a2e-8d3b-4c5e-9a7f-0b1d2e3f4a5b",
			EventName: "CreateAccessKey",
			// Not UTC on purpose: output must be.
			EventTime: EventTime.In(time.FixedZone("CEST", 2*60*60)),
			Why:       "alice created access key AKIAEXAMPLEKEY000001 for user bob; a key made by someone else is a shared credential, and every person should create and hold their own.",
			Action:    detect.Action{Kind: detect.DeactivateAccessKey, UserName: "bob", AccessKeyID: "AKIAEXAMPLEKEY000001"},
			Record:    &cloudtrail.Record{Pos: cloudtrail.Position{Name: "events-testdata/create-access-key.json", Index: -1}},
		},
		Remediation: &remediate.Outcome{Action: detect.DeactivateAccessKey, Status: remediate.Planned, Reason: "mode is dry-run"},
	}
}

// Done is an admin policy attached through CloudFormation by an assumed role, detached.
func Done() alert.Alert {
	return alert.Alert{
		Finding: detect.Finding{
			Rule:     "user-managed-policy-attached",
			Category: "user_policy_attached",
			Severity: detect.Critical,
			Title:    "Managed policy attached directly to a user",
			Actor: detect.Actor{
				ARN:       "arn:aws:sts::123456789012:assumed-role/Deployer/ci-run-42",
				IssuerARN: "arn:aws:iam::123456789012:role/Deployer",
				Type:      "AssumedRole",
				Name:      "Deployer/ci-run-42",
				SourceIP:  "cloudformation.amazonaws.com",
				UserAgent: "cloudformation.amazonaws.com",
				InvokedBy: "cloudformation.amazonaws.com",
			},
			Target:    "arn:aws:iam::123456789012:user/carol",
			Account:   account,
			Region:    "eu-west-1",
			EventID:   "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
			EventName: "AttachUserPolicy",
			EventTime: EventTime,
			Why:       "Deployer/ci-run-42 attached the admin-equivalent policy arn:aws:iam::aws:policy/AdministratorAccess directly to user carol; permissions belong on groups, never straight on users.",
			Action:    detect.Action{Kind: detect.DetachUserPolicy, UserName: "carol", PolicyARN: "arn:aws:iam::aws:policy/AdministratorAccess"},
			Record:    &cloudtrail.Record{Pos: cloudtrail.Position{Name: "s3://trail-bucket/AWSLogs/x.json.gz", Index: 3}},
		},
		Remediation: &remediate.Outcome{
			Action: detect.DetachUserPolicy, Status: remediate.Done,
			Undo: "watchdog undo 0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
		},
	}
}

// Failed is a quarantine refused by IAM.
func Failed() alert.Alert {
	return alert.Alert{
		Finding: detect.Finding{
			Rule:     "mfa-deactivated",
			Category: "mfa_deactivated",
			Severity: detect.Medium,
			Title:    "MFA device deactivated",
			Actor: detect.Actor{
				ARN: "arn:aws:iam::123456789012:user/dave", Type: "IAMUser", Name: "dave",
				SourceIP: "198.51.100.23", UserAgent: "console.amazonaws.com",
			},
			Target:    "arn:aws:iam::123456789012:user/dave",
			Account:   account,
			Region:    "us-east-1",
			EventID:   "11111111-2222-4333-8444-555555555555",
			EventName: "DeactivateMFADevice",
			EventTime: EventTime,
			Why:       "dave deactivated their own MFA device; every person signing in must use MFA.",
			Action:    detect.Action{Kind: detect.QuarantineUser, UserName: "dave"},
			Record:    &cloudtrail.Record{Pos: cloudtrail.Position{Name: "-", Line: 7, Index: -1}},
		},
		Remediation: &remediate.Outcome{
			Action: detect.QuarantineUser, Status: remediate.Failed,
			Reason: "AccessDenied: User: arn:aws:sts::123456789012:assumed-role/watchdog/fn is not authorized to perform: iam:AttachUserPolicy",
		},
	}
}

// Root is the root user signing in: nothing an API can undo, so Manual steps and no
// Remediation. No region and no Record, as from a hand-built finding.
func Root() alert.Alert {
	return alert.Alert{
		Finding: detect.Finding{
			Rule:      "root-console-signin",
			Category:  "root_signin",
			Severity:  detect.Critical,
			Title:     "Root user signed in to the console",
			Actor:     detect.Actor{ARN: "arn:aws:iam::123456789012:root", Type: "Root", Name: "root", SourceIP: "192.0.2.10", UserAgent: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)"},
			Target:    "arn:aws:iam::123456789012:root",
			Account:   account,
			EventID:   "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee",
			EventName: "ConsoleLogin",
			EventTime: EventTime,
			Why:       "The root user signed in to the console without MFA from 192.0.2.10; lock the root user away and use individual IAM users or roles for daily work.",
			Manual:    "No API can undo what the root user does. If this was not you: sign in as root, change the password, enable MFA and review CloudTrail.",
		},
	}
}

// Strings an attacker controls, aimed at Slack's markup, at a reader, and at a terminal.
const (
	EvilUserAgent = "<!channel> <https://evil.example/login|Open AWS console> & `rm -rf /` \x1b[2J\n*Reverted:* all good"
	EvilUserName  = "mallory<@U0ADMIN>&co"
)

// Malicious is an alert in which every value the caller controls is hostile, including an
// event ID and a region that try to escape the console link.
func Malicious() alert.Alert {
	return alert.Alert{
		Finding: detect.Finding{
			Rule:     "access-key-created",
			Category: "access_key_created",
			Severity: detect.Low,
			Title:    "Access key created for " + EvilUserName,
			Actor: detect.Actor{
				ARN: "arn:aws:iam::123456789012:user/" + EvilUserName, Type: "IAMUser", Name: EvilUserName,
				SourceIP: "10.0.0.1 <b>", UserAgent: EvilUserAgent,
			},
			Target:    "arn:aws:iam::123456789012:user/" + EvilUserName,
			Account:   account,
			Region:    "evil.example/x?",
			EventID:   "abc>|<https://evil.example",
			EventName: "CreateAccessKey",
			EventTime: EventTime,
			Why:       EvilUserName + " created an access key for themselves \u202egnp.exe\u202c; long-term keys leak.",
			Action:    detect.Action{Kind: detect.DeactivateAccessKey, UserName: EvilUserName, AccessKeyID: "AKIA`EVIL`"},
		},
		Remediation: &remediate.Outcome{Action: detect.DeactivateAccessKey, Status: remediate.Skipped, Reason: "actor <@U0ADMIN> is allowlisted & trusted"},
	}
}

// All names every alert above, for tests that run over all of them.
func All() map[string]alert.Alert {
	return map[string]alert.Alert{
		"planned":   Planned(),
		"done":      Done(),
		"failed":    Failed(),
		"root":      Root(),
		"malicious": Malicious(),
	}
}

// Pending is Planned in approve mode, posted and waiting for Revert now.
func Pending() alert.Alert {
	a := Planned()
	a.Remediation = &remediate.Outcome{Action: a.Finding.Action.Kind, Status: remediate.Pending, Reason: "waiting for approval"}
	a.Thread = &alert.Thread{Key: alert.Key(a.Finding.EventID, a.Finding.Rule), Status: alert.Pending, By: "watchdog"}
	return a
}

// Burst is the message of a burst of 50 keys made by one actor, reverted automatically, one of
// them in vain.
func Burst() alert.Alert {
	a := Planned()
	a.Remediation = &remediate.Outcome{Action: a.Finding.Action.Kind, Status: remediate.Done, Reason: "deactivated", Undo: remediate.UndoCommand(a.Finding.EventID)}
	g := alert.NewGroup(a.Finding, "done", nil, 0, "")
	for i := range 49 {
		target := "arn:aws:iam::123456789012:user/bob"
		if i < 14 {
			target = "arn:aws:iam::123456789012:user/u" + string(rune('a'+i))
		}
		outcome := "done"
		if i == 0 {
			outcome = "failed"
		}
		id := "ev-" + string(rune('a'+i))
		g.Join(id+"#access-key-created", target, outcome)
		f := a.Finding
		f.EventID, f.Target, f.EventTime = id, target, f.EventTime.Add(time.Duration(i+1)*time.Second)
		g.List(alert.NewMember(f))
	}
	a.Thread = &alert.Thread{Key: alert.Key(a.Finding.EventID, a.Finding.Rule), Status: alert.Reverted, By: "watchdog", Since: ClickTime, Group: g, Window: 10 * time.Minute}
	return a
}

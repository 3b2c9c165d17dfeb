package detect_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/iam-watchdog/iam-watchdog/pkg/cloudtrail"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
)

// malformed are the marks of a sentence built around an identifier the record did not give:
// "changed VPC  (CreateVpc)", "replaced the AWS Config delivery channel ;", "policy ”".
var malformed = []string{"  ", " ;", " ,", " .", " :", "''", `""`, "()", "( ", " )", "%!", "\n"}

// TestNoEmptyIdentifiers runs every rule over every event it watches with the identifying
// parameters missing (no requestParameters, empty ones, and no responseElements), by a user, a
// role session and root, succeeded and denied, and holds issue 16's promise: a finding's why,
// title and manual steps never show an empty identifier, and its target is an identifier or
// nothing, never an ARN cut short.
func TestNoEmptyIdentifiers(t *testing.T) {
	d := detect.DefaultWith(detect.Settings{AdminGroups: []string{"ops"}, SelfRoleARNs: []string{watchdogRole}, MemberRoleName: memberRole, TrailBuckets: []string{"audit"}})
	session := cloudtrail.UserIdentity{Type: "AssumedRole", ARN: "arn:aws:sts::123456789012:assumed-role/ops/kim", AccountID: account,
		SessionContext: &cloudtrail.SessionContext{}}
	session.SessionContext.SessionIssuer.ARN, session.SessionContext.SessionIssuer.UserName = "arn:aws:iam::123456789012:role/ops", "ops"
	checked := map[string]int{}
	for _, r := range d.Rules() {
		source, events := r.Source, r.Events
		if r.AnyEvent {
			source, events = "ec2.amazonaws.com", []string{"RunInstances", "DescribeInstances"}
		}
		for _, event := range events {
			for _, params := range []string{"", "{}", `{"name":"","userName":"","bucketName":"","roleName":"","groupName":""}`} {
				for _, who := range []cloudtrail.UserIdentity{iamUser("alice"), session, rootUser()} {
					for _, failed := range []bool{false, true} {
						rec := synthetic(source, event, who, params, "")
						if source == "signin.amazonaws.com" {
							rec.EventType = "AwsConsoleSignIn"
							rec.ResponseElements = json.RawMessage(`{"ConsoleLogin":"Success"}`)
						}
						if failed {
							denied(rec)
						}
						for _, f := range d.Detect(rec) {
							checked[f.Rule]++
							for field, text := range map[string]string{"why": f.Why, "title": f.Title, "manual": f.Manual} {
								for _, bad := range malformed {
									if strings.Contains(text, bad) {
										t.Errorf("%s %s (params %s, %s, failed %v): %s has %q: %q", f.Rule, event, params, who.Type, failed, field, bad, text)
									}
								}
							}
							if tg := f.Target; tg != "" && (strings.HasSuffix(tg, "/") || strings.HasSuffix(tg, ":") || strings.HasSuffix(tg, " ") || strings.Contains(tg, "//")) {
								t.Errorf("%s %s (params %s): target %q is cut short", f.Rule, event, params, tg)
							}
						}
					}
				}
			}
		}
	}
	// Rules that need a name to report anything (a user for a policy on a user, a role of the
	// watchdog's, a trail bucket) rightly report nothing here; every other rule must have been
	// exercised.
	for _, r := range d.Rules() {
		switch r.ID {
		case "user-managed-policy-attached", "user-inline-policy-put", "admin-group-membership", "watchdog-role-changed",
			"cloudtrail-logs-expiring":
			continue
		}
		if checked[r.ID] == 0 {
			t.Errorf("rule %s reported nothing on records without identifiers: the test did not exercise it", r.ID)
		}
	}
}

// TestNamedSaysWhatIsKnown: when a record misses a name, the sentence says what is known.
func TestNamedSaysWhatIsKnown(t *testing.T) {
	rec := synthetic("ec2.amazonaws.com", "CreateVpc", iamUser("alice"), "{}", "")
	f := detect.Default().Detect(rec)[0]
	if !strings.Contains(f.Why, "changed a VPC the record does not name (CreateVpc)") {
		t.Errorf("why %q", f.Why)
	}
	rec = synthetic("config.amazonaws.com", "PutDeliveryChannel", iamUser("alice"), "{}", "")
	f = detect.Default().Detect(rec)[0]
	if !strings.Contains(f.Why, "replaced an AWS Config delivery channel the record does not name;") || f.Target != "" {
		t.Errorf("why %q, target %q", f.Why, f.Target)
	}
}

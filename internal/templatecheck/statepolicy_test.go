package templatecheck

import (
	"encoding/json"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// checkStateTablePolicy evaluates the state table's resource policy, resolved by moto (moto
// accepts AWS::DynamoDB::Table's ResourcePolicy but keeps none, so the probe output is what
// CloudFormation would attach): nobody but the function roles writes items; undo
// principals put and update undo records only; reads are untouched.
func checkStateTablePolicy(t *testing.T, d *deployment) {
	for _, c := range appConfigs {
		s := d.apps[c.name]
		var rp struct {
			PolicyDocument map[string]any
		}
		if err := json.Unmarshal([]byte(s.Outputs["ProbeTablePolicy"]), &rp); err != nil || rp.PolicyDocument == nil {
			t.Fatalf("%s: table resource policy: %v\n%s", c.name, err, s.Outputs["ProbeTablePolicy"])
		}
		table := s.arn(t, "StateTable")
		wd, sa, au := s.arn(t, "WatchdogRole"), s.arn(t, "SlackActionsRole"), s.arn(t, "AuditRole")
		hasUndo := c.params["UndoPrincipalArns"] != ""
		key := func(k string) map[string][]string { return map[string][]string{"dynamodb:LeadingKeys": {k}} }
		for _, tc := range []struct {
			what      string
			principal string
			action    string
			ctx       map[string][]string
			deny      bool
		}{
			{"the watchdog records an event", wd, "dynamodb:PutItem", key("evt#1"), false},
			{"the Slack function records a click", sa, "dynamodb:UpdateItem", key("evt#1"), false},
			{"the audit keeps a snapshot", au, "dynamodb:PutItem", key("audit#snapshot#123456789012"), false},
			{"an undo principal writes an undo record", undoRole, "dynamodb:PutItem", key("undo#evt#1"), !hasUndo},
			{"an undo principal (Identity Center pattern) updates one", undoSSOInstance, "dynamodb:UpdateItem", key("undo#evt#1"), !hasUndo},
			{"an undo principal rewrites a plan", undoRole, "dynamodb:PutItem", key("evt#1"), true},
			{"an undo principal writes with no key to check", undoRole, "dynamodb:UpdateItem", nil, true},
			{"an undo principal deletes an undo record", undoRole, "dynamodb:DeleteItem", key("undo#evt#1"), true},
			{"an undo principal batch-writes", undoRole, "dynamodb:BatchWriteItem", key("undo#evt#1"), true},
			{"an undo principal writes through PartiQL", undoRole, "dynamodb:PartiQLUpdate", key("undo#evt#1"), true},
			{"a developer writes an undo record", developerUser, "dynamodb:PutItem", key("undo#evt#1"), true},
			{"an administrator rewrites a plan", administrator, "dynamodb:UpdateItem", key("evt#1"), true},
			{"an administrator deletes records", administrator, "dynamodb:DeleteItem", key("evt#1"), true},
			{"the account's root user writes", "arn:aws:iam::123456789012:root", "dynamodb:PutItem", key("evt#1"), true},
			{"replication writes", administrator, "dynamodb:WriteDataForReplication", key("evt#1"), true},
			{"an administrator reads", administrator, "dynamodb:GetItem", key("evt#1"), false},
			{"a developer scans", developerUser, "dynamodb:Scan", nil, false},
		} {
			t.Run(c.name+"/"+tc.what, func(t *testing.T) {
				got := evaluate(t, rp.PolicyDocument, request{Principal: tc.principal, Action: tc.action, Resource: table, Context: tc.ctx})
				if got.Denied != tc.deny {
					t.Errorf("%s %s: denied %t (by %q), want %t", tc.principal, tc.action, got.Denied, got.Sid, tc.deny)
				}
				if got.Allowed {
					t.Errorf("the table policy allows %s %s (%s); it must only deny", tc.principal, tc.action, got.Sid)
				}
			})
		}
	}
}

// checkStateKey reads the state key's policy back from moto (moto ignores KeySpec and KeyUsage
// in CloudFormation; the probes hold what CloudFormation is given): only the function roles
// make MACs, undo principals verify, administrators administer and nothing more.
func checkStateKey(t *testing.T, d *deployment) {
	for _, c := range appConfigs {
		s := d.apps[c.name]
		if s.Outputs["ProbeKeySpec"] != `"HMAC_256"` || s.Outputs["ProbeKeyUsage"] != `"GENERATE_VERIFY_MAC"` {
			t.Errorf("%s: StateKey is %s / %s, want an HMAC_256 key for GENERATE_VERIFY_MAC", c.name, s.Outputs["ProbeKeySpec"], s.Outputs["ProbeKeyUsage"])
		}
		doc := d.m.keyPolicy(t, s.Resources["StateKey"])
		key := s.arn(t, "StateKey")
		wd, sa, au := s.arn(t, "WatchdogRole"), s.arn(t, "SlackActionsRole"), s.arn(t, "AuditRole")
		hasUndo := c.params["UndoPrincipalArns"] != ""
		for _, tc := range []struct {
			what            string
			principal       string
			action          string
			allowed, denied bool
		}{
			{"the watchdog makes a MAC", wd, "kms:GenerateMac", true, false},
			{"the Slack function verifies one", sa, "kms:VerifyMac", true, false},
			{"the audit seals a snapshot", au, "kms:GenerateMac", true, false},
			{"the audit verifies one", au, "kms:VerifyMac", true, false},
			{"an undo principal verifies", undoRole, "kms:VerifyMac", hasUndo, false},
			{"an undo principal (Identity Center pattern) verifies", undoSSOInstance, "kms:VerifyMac", hasUndo, false},
			{"an undo principal makes a MAC", undoRole, "kms:GenerateMac", false, true},
			{"an administrator makes a MAC", administrator, "kms:GenerateMac", false, true},
			{"an administrator verifies", administrator, "kms:VerifyMac", false, false},
			{"an administrator administers the key", administrator, "kms:DescribeKey", true, false},
			{"an administrator could rewrite the policy (recorded)", administrator, "kms:PutKeyPolicy", true, false},
			{"another account", "arn:aws:iam::999999999999:role/x", "kms:VerifyMac", false, false},
		} {
			t.Run(c.name+"/"+tc.what, func(t *testing.T) {
				got := evaluate(t, doc, request{Principal: tc.principal, Action: tc.action, Resource: key})
				if got.Allowed != tc.allowed || got.Denied != tc.denied {
					t.Errorf("%s %s: allowed %t, denied %t (%s); want allowed %t, denied %t", tc.principal, tc.action, got.Allowed, got.Denied, got.Sid, tc.allowed, tc.denied)
				}
			})
		}
	}
}

// keyPolicy reads a KMS key's policy back from moto.
func (m *motoAccount) keyPolicy(t *testing.T, keyID string) map[string]any {
	t.Helper()
	out, err := kms.NewFromConfig(m.cfg).GetKeyPolicy(t.Context(), &kms.GetKeyPolicyInput{KeyId: aws.String(keyID), PolicyName: aws.String("default")})
	if err != nil {
		t.Fatalf("get the policy of key %s: %v", keyID, err)
	}
	return decodePolicy(t, aws.ToString(out.Policy))
}

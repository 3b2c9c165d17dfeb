package templatecheck

import (
	"reflect"
	"slices"
	"testing"
)

// TestFunctionContract checks the wiring the function relies on at run time: the
// environment it reads, that WATCHDOG_ROLE_ARN is the role it runs as and SELF_ROLE_ARNS
// the functions' roles (so it recognises the watchdog's own calls), that STATE_KEY_ARN is
// the stack's HMAC key, and the state table's key and TTL attribute.
func TestFunctionContract(t *testing.T) {
	tpl := loadTemplate(t)
	rs := tpl.Resources()
	fn := rs["WatchdogFunction"]
	if fn["Type"] != "AWS::Serverless::Function" {
		t.Fatalf("WatchdogFunction is %v, not an AWS::Serverless::Function", fn["Type"])
	}
	props, _ := fn["Properties"].(map[string]any)
	env, _ := props["Environment"].(map[string]any)
	vars, _ := env["Variables"].(map[string]any)
	for _, name := range []string{
		"SLACK_SECRET_ARN", "SLACK_CHANNEL", "SLACK_API_URL", "REMEDIATION_MODE",
		"STATE_TABLE", "QUARANTINE_POLICY_ARN", "WATCHDOG_ROLE_ARN", "LOG_LEVEL", "MEMBER_ROLE_NAME",
		"SELF_ROLE_ARNS", "STATE_KEY_ARN", "RESTORE_INLINE_POLICIES",
	} {
		if _, ok := vars[name]; !ok {
			t.Errorf("the function's environment lacks %s", name)
		}
	}
	if !reflect.DeepEqual(vars["WATCHDOG_ROLE_ARN"], props["Role"]) {
		t.Errorf("WATCHDOG_ROLE_ARN is %v but the function runs as %v", vars["WATCHDOG_ROLE_ARN"], props["Role"])
	}

	if !reflect.DeepEqual(vars["SELF_ROLE_ARNS"], wantSelfRoles) {
		t.Errorf("SELF_ROLE_ARNS is %v, want the functions' roles", vars["SELF_ROLE_ARNS"])
	}
	if !reflect.DeepEqual(vars["STATE_KEY_ARN"], map[string]any{"Fn::GetAtt": []any{"StateKey", "Arn"}}) {
		t.Errorf("STATE_KEY_ARN is %v, want the stack's StateKey", vars["STATE_KEY_ARN"])
	}
	key, _ := rs["StateKey"]["Properties"].(map[string]any)
	if rs["StateKey"]["Type"] != "AWS::KMS::Key" || key["KeySpec"] != "HMAC_256" || key["KeyUsage"] != "GENERATE_VERIFY_MAC" {
		t.Errorf("StateKey is %v %v/%v, want an AWS::KMS::Key HMAC_256 for GENERATE_VERIFY_MAC", rs["StateKey"]["Type"], key["KeySpec"], key["KeyUsage"])
	}

	refType := func(v any) any {
		ref, _ := v.(map[string]any)["Ref"].(string)
		return rs[ref]["Type"]
	}
	if typ := refType(vars["QUARANTINE_POLICY_ARN"]); typ != "AWS::IAM::ManagedPolicy" {
		t.Errorf("QUARANTINE_POLICY_ARN refers to a %v, not a stack-owned AWS::IAM::ManagedPolicy", typ)
	}
	if typ := refType(vars["STATE_TABLE"]); typ != "AWS::DynamoDB::Table" {
		t.Fatalf("STATE_TABLE refers to a %v, not an AWS::DynamoDB::Table", typ)
	}
	table, _ := rs[vars["STATE_TABLE"].(map[string]any)["Ref"].(string)]["Properties"].(map[string]any)
	wantKey := []any{map[string]any{"AttributeName": "pk", "KeyType": "HASH"}}
	if !reflect.DeepEqual(table["KeySchema"], wantKey) {
		t.Errorf("state table key schema is %v, want partition key pk only", table["KeySchema"])
	}
	if attrs, _ := table["AttributeDefinitions"].([]any); !slices.ContainsFunc(attrs, func(a any) bool {
		return reflect.DeepEqual(a, map[string]any{"AttributeName": "pk", "AttributeType": "S"})
	}) {
		t.Errorf("state table does not define pk as a string: %v", attrs)
	}
	wantTTL := map[string]any{"AttributeName": "expires_at", "Enabled": true}
	if !reflect.DeepEqual(table["TimeToLiveSpecification"], wantTTL) {
		t.Errorf("state table TTL is %v, want %v", table["TimeToLiveSpecification"], wantTTL)
	}
}

// wantSelfRoles is SELF_ROLE_ARNS in every function: the three functions' roles, whose calls are
// the watchdog's own.
var wantSelfRoles = map[string]any{"Fn::Join": []any{",", []any{
	map[string]any{"Fn::GetAtt": []any{"WatchdogRole", "Arn"}},
	map[string]any{"Fn::GetAtt": []any{"SlackActionsRole", "Arn"}},
	map[string]any{"Fn::GetAtt": []any{"AuditRole", "Arn"}},
}}}

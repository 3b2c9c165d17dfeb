package templatecheck

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

// checkAlarms: an alarm on dead letters, and on errors and throttles of each function, each
// watching the stack's own queue or function (dimensions resolved by moto, which creates no
// alarms), all to the encrypted alarm topic, which only this stack's alarms may publish to,
// over TLS, with the optional e-mail subscription.
func checkAlarms(t *testing.T, d *deployment) {
	for _, c := range appConfigs {
		s := d.apps[c.name]
		rs := s.Template.Resources()
		topic := s.arn(t, "AlarmTopic")
		for _, a := range []struct {
			id, namespace, metric, dimension, value string
		}{
			{"DeadLetterQueueAlarm", "AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", queueName(s.Resources["DeadLetterQueue"])},
			{"WatchdogErrorsAlarm", "AWS/Lambda", "Errors", "FunctionName", s.Resources["WatchdogFunction"]},
			{"WatchdogThrottlesAlarm", "AWS/Lambda", "Throttles", "FunctionName", s.Resources["WatchdogFunction"]},
			{"SlackActionsErrorsAlarm", "AWS/Lambda", "Errors", "FunctionName", s.Resources["SlackActionsFunction"]},
			{"SlackActionsThrottlesAlarm", "AWS/Lambda", "Throttles", "FunctionName", s.Resources["SlackActionsFunction"]},
			{"AuditErrorsAlarm", "AWS/Lambda", "Errors", "FunctionName", s.Resources["AuditFunction"]},
			{"AuditThrottlesAlarm", "AWS/Lambda", "Throttles", "FunctionName", s.Resources["AuditFunction"]},
		} {
			props, _ := rs[a.id]["Properties"].(map[string]any)
			if props == nil {
				t.Errorf("%s: no alarm %s", c.name, a.id)
				continue
			}
			if props["Namespace"] != a.namespace || props["MetricName"] != a.metric || props["ComparisonOperator"] != "GreaterThanThreshold" ||
				fmt.Sprint(props["Threshold"]) != "0" || props["TreatMissingData"] != "notBreaching" {
				t.Errorf("%s: %s watches %v %v %v %v (missing data %v); want %s %s above 0, missing data not breaching",
					c.name, a.id, props["Namespace"], props["MetricName"], props["ComparisonOperator"], props["Threshold"], props["TreatMissingData"], a.namespace, a.metric)
			}
			want := fmt.Sprintf(`[{"Name":%q,"Value":%q}]`, a.dimension, a.value)
			if got := s.Outputs["Probe"+a.id]; canonicalJSON(t, got) != canonicalJSON(t, want) {
				t.Errorf("%s: %s dimensions %s, want %s", c.name, a.id, got, want)
			}
			for _, key := range []string{"AlarmActions", "OKActions"} {
				if !reflect.DeepEqual(props[key], []any{map[string]any{"Ref": "AlarmTopic"}}) {
					t.Errorf("%s: %s %s = %v, want the alarm topic", c.name, a.id, key, props[key])
				}
			}
		}
		if got := s.Outputs["ProbeAlarmActions"]; canonicalJSON(t, got) != canonicalJSON(t, fmt.Sprintf("[%q]", topic)) {
			t.Errorf("%s: alarm actions resolve to %s, want [%s]", c.name, got, topic)
		}

		topicProps, _ := rs["AlarmTopic"]["Properties"].(map[string]any)
		if !reflect.DeepEqual(topicProps["KmsMasterKeyId"], map[string]any{"Ref": "AlarmKey"}) {
			t.Errorf("%s: the alarm topic is encrypted with %v, want the stack's AlarmKey", c.name, topicProps["KmsMasterKeyId"])
		}
		sub := rs["AlarmEmailSubscription"]
		subProps, _ := sub["Properties"].(map[string]any)
		if sub["Condition"] != "HasAlarmEmail" || subProps["Protocol"] != "email" ||
			!reflect.DeepEqual(subProps["Endpoint"], map[string]any{"Ref": "AlarmEmail"}) || !reflect.DeepEqual(subProps["TopicArn"], map[string]any{"Ref": "AlarmTopic"}) {
			t.Errorf("%s: AlarmEmailSubscription %v, want AlarmEmail subscribed to the topic when given", c.name, sub)
		}
		if want := c.params["AlarmEmail"] != ""; s.Conds["HasAlarmEmail"] != want {
			t.Errorf("%s: HasAlarmEmail %t, want %t", c.name, s.Conds["HasAlarmEmail"], want)
		}

		policy := decodePolicy(t, s.Outputs["ProbeTopicPolicy"])
		keyPolicy := d.m.keyPolicy(t, s.Resources["AlarmKey"])
		own := "arn:aws:cloudwatch:us-east-1:123456789012:alarm:" + c.name + "-dead-letters"
		for _, tc := range []struct {
			what     string
			ctx      map[string][]string
			may, key bool
		}{
			{"this stack's alarm", map[string][]string{"aws:SourceArn": {own}, "aws:SourceAccount": {"123456789012"}, "aws:SecureTransport": {"true"}}, true, true},
			{"another alarm of the account", map[string][]string{"aws:SourceArn": {"arn:aws:cloudwatch:us-east-1:123456789012:alarm:billing"}, "aws:SourceAccount": {"123456789012"}, "aws:SecureTransport": {"true"}}, false, false},
			{"another account's alarm", map[string][]string{"aws:SourceArn": {"arn:aws:cloudwatch:us-east-1:999999999999:alarm:" + c.name + "-dead-letters"}, "aws:SourceAccount": {"999999999999"}, "aws:SecureTransport": {"true"}}, false, false},
			{"this stack's alarm without TLS", map[string][]string{"aws:SourceArn": {own}, "aws:SourceAccount": {"123456789012"}, "aws:SecureTransport": {"false"}}, false, true},
		} {
			got := evaluate(t, policy, request{Principal: "cloudwatch.amazonaws.com", Action: "sns:Publish", Resource: topic, Context: tc.ctx})
			if (got.Allowed && !got.Denied) != tc.may {
				t.Errorf("%s: CloudWatch publishing for %s: %+v, want allowed %t", c.name, tc.what, got, tc.may)
			}
			k := evaluate(t, keyPolicy, request{Principal: "cloudwatch.amazonaws.com", Action: "kms:GenerateDataKey", Resource: "*", Context: tc.ctx})
			if k.Allowed != tc.key {
				t.Errorf("%s: CloudWatch using the alarm key for %s: %+v, want %t", c.name, tc.what, k, tc.key)
			}
		}
	}
}

// checkFunctions reads each function back from moto: it runs as its own role, and its
// environment resolves WATCHDOG_ROLE_ARN to that role, SELF_ROLE_ARNS to the functions' roles,
// STATE_KEY_ARN to the stack's HMAC key, and MEMBER_ROLE_NAME only where its role may assume
// the member role.
func checkFunctions(t *testing.T, d *deployment) {
	client := lambda.NewFromConfig(d.m.cfg)
	for _, c := range appConfigs {
		s := d.apps[c.name]
		wd, sa, au := s.arn(t, "WatchdogRole"), s.arn(t, "SlackActionsRole"), s.arn(t, "AuditRole")
		for fn, role := range map[string]string{"WatchdogFunction": wd, "SlackActionsFunction": sa, "AuditFunction": au} {
			out, err := client.GetFunctionConfiguration(t.Context(), &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(s.Resources[fn])})
			if err != nil {
				t.Fatalf("%s: %s: %v", c.name, fn, err)
			}
			if aws.ToString(out.Role) != role {
				t.Errorf("%s: %s runs as %s, want %s", c.name, fn, aws.ToString(out.Role), role)
			}
			member := c.params["MemberRoleName"]
			if fn == "SlackActionsFunction" && c.params["SlackActsInMemberAccounts"] != "true" {
				member = ""
			}
			var env map[string]string
			if out.Environment != nil {
				env = out.Environment.Variables
			}
			for k, want := range map[string]string{
				"WATCHDOG_ROLE_ARN": role,
				"SELF_ROLE_ARNS":    wd + "," + sa + "," + au,
				"STATE_KEY_ARN":     s.arn(t, "StateKey"),
				"STATE_TABLE":       s.Resources["StateTable"],
				"MEMBER_ROLE_NAME":  member,
			} {
				if env[k] != want {
					t.Errorf("%s: %s: %s = %q, want %q", c.name, fn, k, env[k], want)
				}
			}
		}
	}
	checkConcurrency(t, d, client)
}

// checkConcurrency reads each function's reserved concurrency back from moto.
func checkConcurrency(t *testing.T, d *deployment, client *lambda.Client) {
	for _, c := range appConfigs {
		s := d.apps[c.name]
		for fn, param := range map[string]string{"WatchdogFunction": "WatchdogReservedConcurrency", "SlackActionsFunction": "SlackActionsReservedConcurrency", "AuditFunction": "AuditReservedConcurrency"} {
			want := c.params[param]
			if want == "" {
				p, _ := loadTemplate(t)["Parameters"].(map[string]any)[param].(map[string]any)
				want = fmt.Sprint(p["Default"])
			}
			out, err := client.GetFunctionConcurrency(t.Context(), &lambda.GetFunctionConcurrencyInput{FunctionName: aws.String(s.Resources[fn])})
			if err != nil {
				t.Fatalf("%s: concurrency of %s: %v", c.name, fn, err)
			}
			got := "-1"
			if out.ReservedConcurrentExecutions != nil {
				got = fmt.Sprint(*out.ReservedConcurrentExecutions)
			}
			if got != want {
				t.Errorf("%s: %s reserves %s, want %s (%s)", c.name, fn, got, want, param)
			}
		}
		for param, min := range map[string]int{"WatchdogReservedConcurrency": 1, "SlackActionsReservedConcurrency": 1, "AuditReservedConcurrency": 1} {
			p, _ := loadTemplate(t)["Parameters"].(map[string]any)[param].(map[string]any)
			if def, _ := p["Default"].(int); def < min {
				t.Errorf("%s defaults to %v; a function must reserve at least %d by default", param, p["Default"], min)
			}
		}
	}
}

// checkOrgBus evaluates the home bus policy, resolved by moto (which creates no bus policies):
// forwarder roles of the organisation's accounts may put events; nobody else of the
// organisation, nor anyone outside it.
func checkOrgBus(t *testing.T, d *deployment) {
	var stmt map[string]any
	if err := json.Unmarshal([]byte(d.infra["org-bus.yaml"].Outputs["ProbeBusPolicy"]), &stmt); err != nil {
		t.Fatalf("bus policy: %v", err)
	}
	doc := map[string]any{"Statement": []any{stmt}}
	bus := "arn:aws:events:us-east-1:123456789012:event-bus/default"
	in := map[string][]string{"aws:PrincipalOrgID": {orgID}}
	for _, tc := range []struct {
		who   string
		ctx   map[string][]string
		allow bool
	}{
		{"arn:aws:iam::222222222222:role/iam-watchdog/forwarder/StackSet-fwd-ForwarderRole-X", in, true},
		{"arn:aws:iam::222222222222:role/deploy-bot", in, false},
		{"arn:aws:iam::222222222222:user/dev", in, false},
		{"arn:aws:iam::999999999999:role/iam-watchdog/forwarder/x", map[string][]string{"aws:PrincipalOrgID": {"o-zzzzzzzzzz"}}, false},
	} {
		got := evaluate(t, doc, request{Principal: tc.who, Action: "events:PutEvents", Resource: bus, Context: tc.ctx})
		if got.Allowed != tc.allow {
			t.Errorf("%s putting events on the home bus: allowed %t, want %t", tc.who, got.Allowed, tc.allow)
		}
	}
}

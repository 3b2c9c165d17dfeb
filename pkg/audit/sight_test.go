package audit

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/iam-watchdog/iam-watchdog/internal/slackserver"
)

const functionARN = "arn:aws:lambda:us-east-1:123456789012:function:iam-watchdog-WatchdogFunction-AbC123"

// trailSpec is a trail a case creates in moto.
type trailSpec struct {
	multiRegion, validation, logging bool
	selectors                        []cttypes.EventSelector
	advanced                         []cttypes.AdvancedEventSelector
}

func createTrail(t *testing.T, cfg aws.Config, name string, spec trailSpec) {
	t.Helper()
	ctx := t.Context()
	bucket := "trail-" + name
	if _, err := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	ct := cloudtrail.NewFromConfig(cfg)
	if _, err := ct.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String(name), S3BucketName: aws.String(bucket), IsMultiRegionTrail: aws.Bool(spec.multiRegion), EnableLogFileValidation: aws.Bool(spec.validation)}); err != nil {
		t.Fatal(err)
	}
	if spec.logging {
		// By name: moto answers StartLogging by ARN with a 500.
		if _, err := ct.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String(name)}); err != nil {
			t.Fatal(err)
		}
	}
	if spec.selectors != nil || spec.advanced != nil {
		if _, err := ct.PutEventSelectors(ctx, &cloudtrail.PutEventSelectorsInput{TrailName: aws.String(name), EventSelectors: spec.selectors, AdvancedEventSelectors: spec.advanced}); err != nil {
			t.Fatal(err)
		}
	}
}

var allManagement = []cttypes.EventSelector{{IncludeManagementEvents: aws.Bool(true), ReadWriteType: cttypes.ReadWriteTypeAll}}

func TestTrailCheckMoto(t *testing.T) {
	srv := startMoto(t)
	good := trailSpec{multiRegion: true, validation: true, logging: true, selectors: allManagement}
	for _, tc := range []struct {
		name   string
		trails map[string]trailSpec
		want   Status
		detail string
	}{
		{"no trail", nil, Fail, "no trail"},
		{"a qualifying trail", map[string]trailSpec{"org": good}, Pass, "trail arn:aws:cloudtrail:us-east-1:123456789012:trail/org"},
		{"single-Region", map[string]trailSpec{"local": {validation: true, logging: true, selectors: allManagement}}, Fail, "not multi-Region"},
		{"validation off", map[string]trailSpec{"main": {multiRegion: true, logging: true, selectors: allManagement}}, Fail, "log file validation off"},
		{"stopped", map[string]trailSpec{"main": {multiRegion: true, validation: true, selectors: allManagement}}, Fail, "not logging"},
		{"write-only", map[string]trailSpec{"main": {multiRegion: true, validation: true, logging: true, selectors: []cttypes.EventSelector{{IncludeManagementEvents: aws.Bool(true), ReadWriteType: cttypes.ReadWriteTypeWriteOnly}}}}, Fail, "write management events only"},
		{"data events only", map[string]trailSpec{"main": {multiRegion: true, validation: true, logging: true, selectors: []cttypes.EventSelector{{IncludeManagementEvents: aws.Bool(false), ReadWriteType: cttypes.ReadWriteTypeAll}}}}, Fail, "no management events"},
		{"advanced selectors", map[string]trailSpec{"main": {multiRegion: true, validation: true, logging: true, advanced: []cttypes.AdvancedEventSelector{{Name: aws.String("management"), FieldSelectors: []cttypes.AdvancedFieldSelector{{Field: aws.String("eventCategory"), Equals: []string{"Management"}}}}}}}, Pass, "trail"},
		{"one bad, one good", map[string]trailSpec{"a-bad": {multiRegion: true}, "b-good": good}, Pass, "trail/b-good"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv.Reset(t)
			cfg := srv.Config(t)
			for name, spec := range tc.trails {
				createTrail(t, cfg, name, spec)
			}
			report := mustAuditor(t, fastOptions(time.Now())).Account(t.Context(), NewClients(cfg))
			r := find(t, report.Results, "watchdog-trail", ":root")
			if r.Status != tc.want || !strings.Contains(r.Detail, tc.detail) {
				t.Errorf("%s %q, want %s mentioning %q", r.Status, r.Detail, tc.want, tc.detail)
			}
		})
	}
}

func TestManagementEvents(t *testing.T) {
	field := func(name string, equals ...string) cttypes.AdvancedFieldSelector {
		return cttypes.AdvancedFieldSelector{Field: aws.String(name), Equals: equals}
	}
	for _, tc := range []struct {
		name        string
		out         cloudtrail.GetEventSelectorsOutput
		read, write bool
	}{
		{"none", cloudtrail.GetEventSelectorsOutput{}, false, false},
		{"basic, no type", cloudtrail.GetEventSelectorsOutput{EventSelectors: []cttypes.EventSelector{{IncludeManagementEvents: aws.Bool(true)}}}, true, true},
		{"basic read-only", cloudtrail.GetEventSelectorsOutput{EventSelectors: []cttypes.EventSelector{{IncludeManagementEvents: aws.Bool(true), ReadWriteType: cttypes.ReadWriteTypeReadOnly}}}, true, false},
		{"basic read-only and write-only", cloudtrail.GetEventSelectorsOutput{EventSelectors: []cttypes.EventSelector{{ReadWriteType: cttypes.ReadWriteTypeReadOnly}, {ReadWriteType: cttypes.ReadWriteTypeWriteOnly}}}, true, true},
		{"advanced write-only", cloudtrail.GetEventSelectorsOutput{AdvancedEventSelectors: []cttypes.AdvancedEventSelector{{FieldSelectors: []cttypes.AdvancedFieldSelector{field("eventCategory", "Management"), field("readOnly", "false")}}}}, false, true},
		{"advanced data only", cloudtrail.GetEventSelectorsOutput{AdvancedEventSelectors: []cttypes.AdvancedEventSelector{{FieldSelectors: []cttypes.AdvancedFieldSelector{field("eventCategory", "Data"), field("resources.type", "AWS::S3::Object")}}}}, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if read, write := managementEvents(&tc.out); read != tc.read || write != tc.write {
				t.Errorf("read %v write %v, want %v %v", read, write, tc.read, tc.write)
			}
		})
	}
}

func putRule(t *testing.T, cfg aws.Config, region, name string, enabled bool, target string) {
	t.Helper()
	ev := eventbridge.NewFromConfig(cfg, func(o *eventbridge.Options) { o.Region = region })
	state := ebtypes.RuleStateEnabled
	if !enabled {
		state = ebtypes.RuleStateDisabled
	}
	if _, err := ev.PutRule(t.Context(), &eventbridge.PutRuleInput{Name: aws.String(name), State: state, EventPattern: aws.String(`{"source":["aws.iam"]}`)}); err != nil {
		t.Fatal(err)
	}
	out, err := ev.PutTargets(t.Context(), &eventbridge.PutTargetsInput{Rule: aws.String(name), Targets: []ebtypes.Target{{Id: aws.String("t1"), Arn: aws.String(target)}}})
	if err != nil || out.FailedEntryCount != 0 {
		t.Fatalf("put target of %s: %v %+v", name, err, out)
	}
}

func TestRulesAndForwardingMoto(t *testing.T) {
	srv := startMoto(t)
	homeBus := "arn:aws:events:us-east-1:123456789012:event-bus/default"
	for _, tc := range []struct {
		name     string
		setup    func(cfg aws.Config)
		sight    Sight
		want     []expect
		contains string
	}{
		{
			name:  "not configured",
			sight: Sight{},
			want:  []expect{{"watchdog-rules", ":event-bus/default", NotApplicable}, {"watchdog-forwarding", ":root", NotApplicable}},
		},
		{
			name: "rules enabled, forwarding where expected",
			setup: func(cfg aws.Config) {
				putRule(t, cfg, "us-east-1", "watchdog-iam", true, functionARN)
				putRule(t, cfg, "us-east-1", "watchdog-signin", true, functionARN)
				putRule(t, cfg, "us-east-1", "unrelated", false, "arn:aws:sqs:us-east-1:123456789012:other")
				putRule(t, cfg, "eu-west-1", "forward-signin", true, homeBus)
			},
			sight: Sight{FunctionARN: functionARN, MinRules: 2, ForwardRegions: []string{"us-east-1", "eu-west-1"}},
			want: []expect{
				{"watchdog-rules", "us-east-1:123456789012:event-bus/default", Pass},
				{"watchdog-forwarding", "eu-west-1:123456789012:event-bus/default", Pass},
			},
		},
		{
			name: "a rule disabled, a Region not forwarding",
			setup: func(cfg aws.Config) {
				putRule(t, cfg, "us-east-1", "watchdog-iam", true, functionARN)
				putRule(t, cfg, "us-east-1", "watchdog-signin", false, functionARN)
				putRule(t, cfg, "eu-west-1", "forward-signin", true, homeBus)
			},
			sight: Sight{FunctionARN: functionARN, ForwardRegions: []string{"eu-west-1", "ap-southeast-2"}},
			want: []expect{
				{"watchdog-rules", "us-east-1:123456789012:event-bus/default", Fail},
				{"watchdog-forwarding", "eu-west-1:123456789012:event-bus/default", Pass},
				{"watchdog-forwarding", "ap-southeast-2:123456789012:event-bus/default", Fail},
			},
			contains: "watchdog-signin (DISABLED)",
		},
		{
			name: "fewer rules than the stack has",
			setup: func(cfg aws.Config) {
				putRule(t, cfg, "us-east-1", "watchdog-iam", true, functionARN)
			},
			sight: Sight{FunctionARN: functionARN, MinRules: 10},
			want:  []expect{{"watchdog-rules", ":event-bus/default", Fail}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv.Reset(t)
			cfg := srv.Config(t)
			if tc.setup != nil {
				tc.setup(cfg)
			}
			opts := fastOptions(time.Now())
			opts.Sight = tc.sight
			report := mustAuditor(t, opts).Account(t.Context(), NewClients(cfg))
			for _, w := range tc.want {
				r := find(t, report.Results, w.check, w.suffix)
				if r.Status != w.status {
					t.Errorf("%s on *%s: %s (%s), want %s", w.check, w.suffix, r.Status, r.Detail, w.status)
				}
			}
			if tc.contains != "" && !strings.Contains(find(t, report.Results, "watchdog-rules", ":event-bus/default").Detail, tc.contains) {
				t.Errorf("watchdog-rules does not say %q", tc.contains)
			}
			for _, r := range ofCheck(report.Results, "watchdog-forwarding") {
				if strings.Contains(r.Resource, ":us-east-1:") {
					t.Errorf("the home account's home Region was checked for forwarding: %+v", r)
				}
			}
		})
	}
}

func TestDeadLetterQueueMoto(t *testing.T) {
	srv := startMoto(t)
	cfg := srv.Config(t)
	q := sqs.NewFromConfig(cfg)
	out, err := q.CreateQueue(t.Context(), &sqs.CreateQueueInput{QueueName: aws.String("iam-watchdog-DeadLetterQueue-X1")})
	if err != nil {
		t.Fatal(err)
	}
	opts := fastOptions(time.Now())
	opts.Sight.DeadLetterQueueURL = aws.ToString(out.QueueUrl)
	au := mustAuditor(t, opts)
	const arn = "arn:aws:sqs:us-east-1:123456789012:iam-watchdog-DeadLetterQueue-X1"

	if r := find(t, au.Account(t.Context(), NewClients(cfg)).Results, "watchdog-dead-letters", arn); r.Status != Pass {
		t.Errorf("empty queue: %s (%s)", r.Status, r.Detail)
	}
	for range 2 {
		if _, err := q.SendMessage(t.Context(), &sqs.SendMessageInput{QueueUrl: out.QueueUrl, MessageBody: aws.String(`{"failed":"invoke"}`)}); err != nil {
			t.Fatal(err)
		}
	}
	if r := find(t, au.Account(t.Context(), NewClients(cfg)).Results, "watchdog-dead-letters", arn); r.Status != Fail || !strings.Contains(r.Detail, "about 2 message") {
		t.Errorf("two messages: %s (%s)", r.Status, r.Detail)
	}

	opts.Sight.DeadLetterQueueURL = "https://sqs.eu-west-1.amazonaws.com/123456789012/gone"
	r := find(t, mustAuditor(t, opts).Account(t.Context(), NewClients(cfg)).Results, "watchdog-dead-letters", ":gone")
	if r.Status != Error || r.Resource != "arn:aws:sqs:eu-west-1:123456789012:gone" {
		t.Errorf("missing queue: %+v", r)
	}
}

func TestSlackCheck(t *testing.T) {
	srv := startMoto(t)
	cfg := srv.Config(t)
	const secretARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:iam-watchdog/slack-AbCdEf"
	const token = "xoxb-0000-good"
	local := slackserver.Start(t)
	local.Revoke("xoxb-0000-revoked")
	tokenIs := func(tok string, err error) func(context.Context) (string, error) {
		return func(context.Context) (string, error) { return tok, err }
	}
	for _, tc := range []struct {
		name   string
		slack  SlackChecker
		want   Status
		detail string
	}{
		{"not configured", nil, NotApplicable, "not configured"},
		{"secret unreadable", Slack{ReadToken: tokenIs("", errors.New("read Slack secret: AccessDeniedException"))}, Fail, "cannot be read: read Slack secret: AccessDeniedException"},
		{"no reader", Slack{}, Fail, "cannot be read"},
		{"webhook only", Slack{ReadToken: tokenIs("", nil)}, Pass, "incoming webhook"},
		{"token accepted", Slack{ReadToken: tokenIs(token, nil), APIURL: local.APIURL()}, Pass, "auth.test accepts"},
		{"token revoked", Slack{ReadToken: tokenIs("xoxb-0000-revoked", nil), APIURL: local.APIURL()}, Fail, "invalid_auth"},
		{"not Slack's Web API", Slack{ReadToken: tokenIs(token, nil), APIURL: local.URL + "/elsewhere/"}, Fail, "unknown_method"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := fastOptions(time.Now())
			opts.Sight.Slack, opts.Sight.SlackSecretARN = tc.slack, secretARN
			report := mustAuditor(t, opts).Account(t.Context(), NewClients(cfg))
			r := find(t, report.Results, "watchdog-slack", secretARN)
			if r.Status != tc.want || !strings.Contains(r.Detail, tc.detail) {
				t.Errorf("%s %q, want %s mentioning %q", r.Status, r.Detail, tc.want, tc.detail)
			}
		})
	}
}

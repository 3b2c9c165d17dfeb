package audit

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

func evalAccountAccess(_ context.Context, a *accountAudit, c *Check) []Result {
	return []Result{a.result(c, Pass, a.rootARN(), "read as "+a.identity)}
}

// evalTrail looks for one trail that makes the watchdog see: multi-Region, log file validation
// on, logging, and logging read and write management events. Shadow trails (multi-Region
// trails homed elsewhere, organisation trails) count; their status is asked for by ARN, as
// CloudTrail requires:
//
//	https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_GetTrailStatus.html
func evalTrail(ctx context.Context, a *accountAudit, c *Check) []Result {
	if a.c.CloudTrail == nil {
		return a.errorResult(c, errors.New("no CloudTrail client"))
	}
	out, err := a.c.CloudTrail.DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{IncludeShadowTrails: aws.Bool(true)})
	if err != nil {
		return a.errorResult(c, fmt.Errorf("describe trails: %w", err))
	}
	if len(out.TrailList) == 0 {
		return []Result{a.result(c, Fail, a.rootARN(), "no trail: EventBridge receives no CloudTrail API events")}
	}
	var problems []string
	var callErrs []error
	for _, t := range out.TrailList {
		arn := aws.ToString(t.TrailARN)
		miss, err := a.trailGaps(ctx, t)
		if err != nil {
			callErrs = append(callErrs, err)
			continue
		}
		if len(miss) == 0 {
			return []Result{a.result(c, Pass, a.rootARN(), "trail "+arn+" is multi-Region, validated, logging all management events")}
		}
		problems = append(problems, fmt.Sprintf("%s: %s", arn, strings.Join(miss, ", ")))
	}
	if len(callErrs) > 0 {
		// A trail that could not be read might be the good one.
		return a.errorResult(c, fmt.Errorf("%w (other trails: %s)", errors.Join(callErrs...), orNone(problems)))
	}
	return []Result{a.result(c, Fail, a.rootARN(), "no trail qualifies: "+strings.Join(problems, "; "))}
}

// trailGaps lists what keeps a trail from qualifying; the status and selectors are read only for
// a trail whose settings already do.
func (a *accountAudit) trailGaps(ctx context.Context, t cttypes.Trail) ([]string, error) {
	arn := aws.ToString(t.TrailARN)
	var miss []string
	if !aws.ToBool(t.IsMultiRegionTrail) {
		miss = append(miss, "not multi-Region")
	}
	if !aws.ToBool(t.LogFileValidationEnabled) {
		miss = append(miss, "log file validation off")
	}
	if len(miss) > 0 {
		return miss, nil
	}
	status, err := a.c.CloudTrail.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String(arn)})
	if err != nil {
		return nil, fmt.Errorf("get status of trail %s: %w", arn, err)
	}
	if !aws.ToBool(status.IsLogging) {
		miss = append(miss, "not logging")
	}
	sel, err := a.c.CloudTrail.GetEventSelectors(ctx, &cloudtrail.GetEventSelectorsInput{TrailName: aws.String(arn)})
	if err != nil {
		return nil, fmt.Errorf("get event selectors of trail %s: %w", arn, err)
	}
	switch read, write := managementEvents(sel); {
	case !read && !write:
		miss = append(miss, "logs no management events")
	case !read:
		miss = append(miss, "logs write management events only (read-only calls such as AssumeRoot go unseen)")
	case !write:
		miss = append(miss, "logs read-only management events only")
	}
	return miss, nil
}

// managementEvents reports whether a trail's selectors, basic or advanced, log read-only and
// write management events. A basic selector without a ReadWriteType logs both; an advanced one
// selects management events with eventCategory = Management and both unless it pins readOnly:
//
//	https://docs.aws.amazon.com/awscloudtrail/latest/userguide/logging-management-events-with-cloudtrail.html
func managementEvents(out *cloudtrail.GetEventSelectorsOutput) (read, write bool) {
	for _, s := range out.EventSelectors {
		if s.IncludeManagementEvents != nil && !*s.IncludeManagementEvents {
			continue
		}
		switch s.ReadWriteType {
		case cttypes.ReadWriteTypeReadOnly:
			read = true
		case cttypes.ReadWriteTypeWriteOnly:
			write = true
		default:
			read, write = true, true
		}
	}
	for _, s := range out.AdvancedEventSelectors {
		management, readOnly := false, []string(nil)
		for _, f := range s.FieldSelectors {
			switch aws.ToString(f.Field) {
			case "eventCategory":
				management = slices.Contains(f.Equals, "Management")
			case "readOnly":
				readOnly = f.Equals
			}
		}
		if !management {
			continue
		}
		switch {
		case len(readOnly) == 0:
			read, write = true, true
		default:
			read = read || slices.Contains(readOnly, "true")
			write = write || slices.Contains(readOnly, "false")
		}
	}
	return read, write
}

func orNone(list []string) string {
	if len(list) == 0 {
		return "none"
	}
	return strings.Join(list, "; ")
}

// busARN is the ARN of an event bus.
func (a *accountAudit) busARN(region, name string) string {
	return fmt.Sprintf("arn:%s:events:%s:%s:event-bus/%s", a.partition, region, a.account, name)
}

// evalRules checks that the rules targeting the watchdog function, on the home Region's default
// bus, are there (MinRules of them, at least one) and enabled.
func evalRules(ctx context.Context, a *accountAudit, c *Check) []Result {
	bus := a.busARN(a.c.Region, "default")
	if a.opts.Sight.FunctionARN == "" {
		return []Result{a.result(c, NotApplicable, bus, "not configured: the watchdog function's ARN was not given")}
	}
	if a.c.Events == nil {
		return []Result{a.result(c, Error, bus, "no EventBridge client")}
	}
	status, detail := targetedRules(ctx, a.c.Events(a.c.Region), a.opts.Sight.FunctionARN, max(1, a.opts.Sight.MinRules))
	return []Result{a.result(c, status, bus, detail)}
}

// evalForwarding checks, in each Region that should forward, that rules targeting the home bus
// exist and are enabled. The home account's home Region forwards nothing: its events are on the
// home bus already.
func evalForwarding(ctx context.Context, a *accountAudit, c *Check) []Result {
	regions := a.opts.Sight.ForwardRegions
	if len(regions) == 0 {
		return []Result{a.result(c, NotApplicable, a.rootARN(), "not configured: no forwarding Regions were given")}
	}
	var out []Result
	for _, region := range regions {
		bus := a.busARN(region, "default")
		if a.home && region == a.c.Region {
			continue
		}
		if a.c.Events == nil {
			out = append(out, a.result(c, Error, bus, "no EventBridge client"))
			continue
		}
		status, detail := targetedRules(ctx, a.c.Events(region), a.homeBus, 1)
		out = append(out, a.result(c, status, bus, region+": "+detail))
	}
	if len(out) == 0 {
		out = append(out, a.result(c, NotApplicable, a.rootARN(), "the only forwarding Region given is the home Region, which needs none"))
	}
	return out
}

// targetedRules finds the default bus's rules whose targets include target, and says whether
// at least min of them exist and all are enabled. ListRuleNamesByTarget and ListRules have no
// SDK paginators (EventBridge's model marks none), so their NextToken is followed here, and a
// token seen before ends the listing as an error rather than a loop.
func targetedRules(ctx context.Context, api EventsAPI, target string, min int) (Status, string) {
	var names []string
	seen := map[string]bool{}
	for token := ""; ; {
		out, err := api.ListRuleNamesByTarget(ctx, &eventbridge.ListRuleNamesByTargetInput{TargetArn: aws.String(target), NextToken: optional(token)})
		if err != nil {
			return Error, fmt.Sprintf("list rules targeting %s: %v", target, err)
		}
		names = append(names, out.RuleNames...)
		next := aws.ToString(out.NextToken)
		if next == "" {
			break
		}
		if seen[next] {
			return Error, fmt.Sprintf("list rules targeting %s: EventBridge returned a NextToken twice", target)
		}
		seen[next], token = true, next
	}
	if len(names) < min {
		return Fail, fmt.Sprintf("%d rule(s) target %s, want at least %d", len(names), target, min)
	}
	state := map[string]ebtypes.RuleState{}
	clear(seen)
	for token := ""; ; {
		out, err := api.ListRules(ctx, &eventbridge.ListRulesInput{NextToken: optional(token)})
		if err != nil {
			return Error, fmt.Sprintf("list rules: %v", err)
		}
		for _, r := range out.Rules {
			state[aws.ToString(r.Name)] = r.State
		}
		next := aws.ToString(out.NextToken)
		if next == "" {
			break
		}
		if seen[next] {
			return Error, "list rules: EventBridge returned a NextToken twice"
		}
		seen[next], token = true, next
	}
	slices.Sort(names)
	var off []string
	for _, n := range names {
		switch s, ok := state[n]; {
		case !ok:
			off = append(off, n+" (not listed)")
		case s == ebtypes.RuleStateDisabled:
			off = append(off, n+" (DISABLED)")
		}
	}
	if len(off) > 0 {
		return Fail, fmt.Sprintf("%d of %d rule(s) targeting %s are not enabled: %s", len(off), len(names), target, strings.Join(off, ", "))
	}
	return Pass, fmt.Sprintf("%d rule(s) target %s, all enabled", len(names), target)
}

// optional is nil for "", so that a first page asks for no token.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func evalSlack(ctx context.Context, a *accountAudit, c *Check) []Result {
	resource := a.opts.Sight.SlackSecretARN
	if resource == "" {
		resource = a.rootARN()
	}
	s := a.opts.Sight.Slack
	if s == nil {
		return []Result{a.result(c, NotApplicable, resource, "not configured: no Slack secret was given")}
	}
	token, err := s.SlackToken(ctx)
	if err != nil {
		return []Result{a.result(c, Fail, resource, "the Slack secret cannot be read: "+err.Error())}
	}
	if token == "" {
		return []Result{a.result(c, Pass, resource, "the Slack secret holds an incoming webhook; auth.test needs a bot token, so only the secret was checked")}
	}
	if err := s.AuthTest(ctx, token); err != nil {
		return []Result{a.result(c, Fail, resource, "Slack refused the bot token: "+err.Error())}
	}
	return []Result{a.result(c, Pass, resource, "the secret is readable and auth.test accepts its bot token")}
}

func evalDeadLetters(ctx context.Context, a *accountAudit, c *Check) []Result {
	queueURL := a.opts.Sight.DeadLetterQueueURL
	if queueURL == "" {
		return []Result{a.result(c, NotApplicable, a.rootARN(), "not configured: no dead-letter queue URL was given")}
	}
	resource := a.queueARN(queueURL)
	if a.c.SQS == nil {
		return []Result{a.result(c, Error, resource, "no SQS client")}
	}
	out, err := a.c.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(queueURL),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages},
	})
	if err != nil {
		return []Result{a.result(c, Error, resource, fmt.Sprintf("get attributes of queue %s: %v", queueURL, err))}
	}
	raw, ok := out.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessages)]
	n, err := strconv.Atoi(raw)
	if !ok || err != nil || n < 0 {
		return []Result{a.result(c, Error, resource, fmt.Sprintf("queue %s: ApproximateNumberOfMessages is %q, not a count", queueURL, raw))}
	}
	if n > 0 {
		return []Result{a.result(c, Fail, resource, fmt.Sprintf("about %d message(s) wait in the dead-letter queue", n))}
	}
	return []Result{a.result(c, Pass, resource, "the dead-letter queue is empty")}
}

// queueARN derives a queue's ARN from its URL (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME),
// so that the result names the same resource whether or not the queue could be read. A URL of
// another shape (a local endpoint) takes the home Region.
func (a *accountAudit) queueARN(queueURL string) string {
	u, err := url.Parse(queueURL)
	if err != nil {
		return a.rootARN()
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) != 2 {
		return a.rootARN()
	}
	region := a.c.Region
	if host := strings.Split(u.Hostname(), "."); len(host) >= 3 && host[0] == "sqs" {
		region = host[1]
	}
	return fmt.Sprintf("arn:%s:sqs:%s:%s:%s", a.partition, region, parts[0], parts[1])
}

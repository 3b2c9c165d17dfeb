package eventhandler

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/iam-watchdog/iam-watchdog/pkg/cloudtrail"
)

// errUnreadable marks a refusal because the event could not be read at all, as opposed to an
// event that was read and is not one EventBridge delivers from CloudTrail.
var errUnreadable = errors.New("unreadable event")

// accept is the function's entry-point rule (issue 13, point 1): it takes only what EventBridge
// delivers from CloudTrail, an event whose source is an AWS service (aws.*: PutEvents refuses
// such a source to anyone but AWS), whose detail-type is one CloudTrail sends (pkg/cloudtrail
// checks both again), and whose account is the record's recipientAccountId. A bare CloudTrail
// record, a log file ({"Records": […]}), lookup-events output, a JSON array, or an event failing
// any check is refused with the reason: anyone allowed lambda:InvokeFunction could hand the
// function such a payload, naming any user in any account. The CLI's replay reads every form; the rule is the function's.
// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-event-cloudtrail.html
func accept(event []byte) ([]*cloudtrail.Record, error) {
	event = bytes.TrimSpace(event)
	if len(event) == 0 || event[0] != '{' {
		what := "not a JSON object"
		if len(event) > 0 && event[0] == '[' {
			what = "a JSON array"
		}
		return nil, fmt.Errorf("%w: %s; EventBridge delivers one event object per invocation", errUnreadable, what)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(event, &fields); err != nil {
		return nil, fmt.Errorf("%w: %v", errUnreadable, err)
	}
	if _, ok := fields["Records"]; ok {
		return nil, errors.New(`a CloudTrail log file ({"Records": […]}), not an EventBridge event: only the CLI replays log files`)
	}
	if _, ok := fields["Events"]; ok {
		return nil, errors.New(`lookup-events output ({"Events": […]}), not an EventBridge event: only the CLI replays it`)
	}
	source, err := stringField(fields, "source")
	if err != nil {
		if _, ok := fields["eventName"]; ok {
			return nil, errors.New("a bare CloudTrail record, not an EventBridge event: only the CLI replays records")
		}
		return nil, err
	}
	if !strings.HasPrefix(source, "aws.") || len(source) == len("aws.") {
		return nil, fmt.Errorf("EventBridge event source %q is not an AWS service (aws.*)", source)
	}
	if _, err := stringField(fields, "detail-type"); err != nil {
		return nil, err
	}
	account, err := stringField(fields, "account")
	if err != nil {
		return nil, err
	}
	recs, errs := cloudtrail.Decode("event", event)
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w: %w", errUnreadable, errors.Join(errs...))
	}
	for _, rec := range recs {
		switch {
		case rec.DetailType == "":
			// pkg/cloudtrail read it as something other than an EventBridge event.
			return nil, errors.New("not read as an EventBridge event")
		case rec.RecipientAccountID != account:
			return nil, fmt.Errorf("event account %q is not the record's recipientAccountId %q: EventBridge delivers CloudTrail records to the account that received them", account, rec.RecipientAccountID)
		}
	}
	return recs, nil
}

// stringField is the string value of a top-level field that must be there.
func stringField(fields map[string]json.RawMessage, name string) (string, error) {
	raw, ok := fields[name]
	if !ok {
		return "", fmt.Errorf("no %q: not an EventBridge event", name)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil || s == "" {
		return "", fmt.Errorf("%q is not a non-empty string: not an EventBridge event", name)
	}
	return s, nil
}

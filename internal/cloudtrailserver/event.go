package cloudtrailserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Event is one event of the account's Event history, with the fields LookupEvents returns and
// filters on.
// Reference: https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_Event.html
type Event struct {
	EventID     string
	EventName   string
	EventSource string
	EventTime   time.Time
	Username    string
	AccessKeyID string
	ReadOnly    string // "true" or "false"
	Resources   []Resource
	// CloudTrailEvent is the record as JSON text, returned as it is: a test may store a broken
	// one.
	CloudTrailEvent string
}

// Resource is one resource an event names.
type Resource struct {
	Type string // e.g. AWS::IAM::AccessKey
	Name string
}

// RootUsername is the user name Event history shows for the root user, as in the LookupEvents
// reference's own example of a Username look-up ("an AttributeKey of 'Username' with a value of
// 'root'", under NextToken).
// Reference: https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupEvents.html
const RootUsername = "root"

// EventFromRecord builds the Event history entry of one CloudTrail record, deriving the fields
// Event history adds beside the record as CloudTrail does: Username is the IAM user's name,
// "root" for the root user, the session name for an assumed role.
func EventFromRecord(raw []byte) (Event, error) {
	var rec struct {
		EventID      string    `json:"eventID"`
		EventName    string    `json:"eventName"`
		EventSource  string    `json:"eventSource"`
		EventTime    time.Time `json:"eventTime"`
		ReadOnly     *bool     `json:"readOnly"`
		UserIdentity struct {
			Type        string `json:"type"`
			ARN         string `json:"arn"`
			UserName    string `json:"userName"`
			AccessKeyID string `json:"accessKeyId"`
		} `json:"userIdentity"`
	}
	if err := json.Unmarshal(raw, &rec); err != nil {
		return Event{}, fmt.Errorf("record: %w", err)
	}
	if rec.EventID == "" || rec.EventName == "" || rec.EventSource == "" || rec.EventTime.IsZero() {
		return Event{}, errors.New("record lacks eventID, eventName, eventSource or eventTime")
	}
	ev := Event{
		EventID: rec.EventID, EventName: rec.EventName, EventSource: rec.EventSource, EventTime: rec.EventTime,
		AccessKeyID: rec.UserIdentity.AccessKeyID, CloudTrailEvent: string(raw),
	}
	if rec.ReadOnly != nil {
		ev.ReadOnly = strconv.FormatBool(*rec.ReadOnly)
	}
	switch id := rec.UserIdentity; id.Type {
	case "Root":
		ev.Username = RootUsername
	case "AssumedRole":
		ev.Username = id.ARN[strings.LastIndexByte(id.ARN, '/')+1:]
	default:
		ev.Username = id.UserName
	}
	return ev, nil
}

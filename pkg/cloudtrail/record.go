// Package cloudtrail turns CloudTrail input of every shape the watchdog meets into typed Records:
// EventBridge events whose detail is a CloudTrail record, bare records, CloudTrail S3 log files
// ({"Records":[…]}), the output of aws cloudtrail lookup-events ({"Events":[…]}, each Event's
// CloudTrailEvent a record as JSON text), arrays of records or events, and JSON Lines of any of
// these, each optionally gzip-compressed. docs/replay.md lists the forms; docs/skimmer.md is the
// contract of the Scanner's fast path.
//
// The fields the rules read are typed; the record's own bytes are kept in Raw as evidence.
// Reference: https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html
package cloudtrail

import (
	"encoding/json"
	"strings"
	"time"
)

// Record is one CloudTrail event record.
type Record struct {
	EventVersion        string          `json:"eventVersion"`
	EventID             string          `json:"eventID"`
	EventTime           time.Time       `json:"eventTime"`
	EventSource         string          `json:"eventSource"`
	EventName           string          `json:"eventName"`
	EventType           string          `json:"eventType"`
	AWSRegion           string          `json:"awsRegion"`
	SourceIPAddress     string          `json:"sourceIPAddress"`
	UserAgent           string          `json:"userAgent"`
	ErrorCode           string          `json:"errorCode"`
	ErrorMessage        string          `json:"errorMessage"`
	ReadOnly            *bool           `json:"readOnly"`
	RecipientAccountID  string          `json:"recipientAccountId"`
	UserIdentity        UserIdentity    `json:"userIdentity"`
	RequestParameters   json.RawMessage `json:"requestParameters"`
	ResponseElements    json.RawMessage `json:"responseElements"`
	AdditionalEventData json.RawMessage `json:"additionalEventData"`

	// Raw is the record exactly as it was read: the evidence attached to findings.
	Raw json.RawMessage `json:"-"`
	// Pos says where the record was read from.
	Pos Position `json:"-"`
	// DetailType is the EventBridge detail-type when the record arrived in an EventBridge
	// envelope, and empty for records read from logs.
	DetailType string `json:"-"`
}

// UserIdentity is the record's userIdentity element.
// Reference: https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-user-identity.html
type UserIdentity struct {
	Type           string          `json:"type"`
	PrincipalID    string          `json:"principalId"`
	ARN            string          `json:"arn"`
	AccountID      string          `json:"accountId"`
	AccessKeyID    string          `json:"accessKeyId"`
	UserName       string          `json:"userName"`
	InvokedBy      string          `json:"invokedBy"`
	SessionContext *SessionContext `json:"sessionContext"`
}

// SessionContext describes temporary credentials.
type SessionContext struct {
	SessionIssuer struct {
		Type      string `json:"type"`
		ARN       string `json:"arn"`
		AccountID string `json:"accountId"`
		UserName  string `json:"userName"`
	} `json:"sessionIssuer"`
	Attributes struct {
		MFAAuthenticated string `json:"mfaAuthenticated"`
		CreationDate     string `json:"creationDate"`
	} `json:"attributes"`
}

// IsRoot reports whether the root user made the call.
func (r *Record) IsRoot() bool { return r.UserIdentity.Type == "Root" }

// Failed reports whether the call was refused or failed (errorCode set).
func (r *Record) Failed() bool { return r.ErrorCode != "" }

// Account is the account the event happened in: recipientAccountId, else the actor's account.
func (r *Record) Account() string {
	if r.RecipientAccountID != "" {
		return r.RecipientAccountID
	}
	return r.UserIdentity.AccountID
}

// ActorARN is the principal that made the call. For an assumed-role session it is the session
// ARN; IssuerARN gives the role behind it.
func (r *Record) ActorARN() string {
	if r.UserIdentity.ARN != "" {
		return r.UserIdentity.ARN
	}
	if r.UserIdentity.Type == "Root" && r.UserIdentity.AccountID != "" {
		return "arn:aws:iam::" + r.UserIdentity.AccountID + ":root"
	}
	if r.UserIdentity.InvokedBy != "" {
		return r.UserIdentity.InvokedBy
	}
	return r.UserIdentity.PrincipalID
}

// IssuerARN is the role or user that issued a session's credentials, or "" for long-term ones.
func (r *Record) IssuerARN() string {
	if r.UserIdentity.SessionContext == nil {
		return ""
	}
	return r.UserIdentity.SessionContext.SessionIssuer.ARN
}

// Partition is the ARN partition of the actor ("aws", "aws-cn", "aws-us-gov"), "aws" by default.
func (r *Record) Partition() string {
	if parts := strings.SplitN(r.ActorARN(), ":", 3); len(parts) == 3 && parts[0] == "arn" && parts[1] != "" {
		return parts[1]
	}
	return "aws"
}

// Param decodes requestParameters into v. A record without parameters leaves v untouched.
func (r *Record) Param(v any) error { return decodeOptional(r.RequestParameters, v) }

// Response decodes responseElements into v. A record without a response leaves v untouched.
func (r *Record) Response(v any) error { return decodeOptional(r.ResponseElements, v) }

// Additional decodes additionalEventData into v.
func (r *Record) Additional(v any) error { return decodeOptional(r.AdditionalEventData, v) }

func decodeOptional(raw json.RawMessage, v any) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	return json.Unmarshal(raw, v)
}

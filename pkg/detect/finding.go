// Package detect classifies CloudTrail records against the watchdog's rule table and produces
// Findings: who did what to whom, how bad it is, and which remediation would undo it.
package detect

import (
	"fmt"
	"time"

	"github.com/iam-watchdog/iam-watchdog/pkg/cloudtrail"
)

// Severity ranks a finding. It is computed from the event, never fixed per rule.
type Severity int

// Severities, lowest first.
const (
	Info Severity = iota
	Low
	Medium
	High
	Critical
)

var severityNames = [...]string{"info", "low", "medium", "high", "critical"}

func (s Severity) String() string {
	if s < Info || s > Critical {
		return fmt.Sprintf("severity(%d)", int(s))
	}
	return severityNames[s]
}

// MarshalText writes the stable lower-case name.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a lower-case name.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	*s = v
	return err
}

// ParseSeverity reads one of info, low, medium, high, critical.
func ParseSeverity(name string) (Severity, error) {
	for i, n := range severityNames {
		if n == name {
			return Severity(i), nil
		}
	}
	return Info, fmt.Errorf("unknown severity %q (want info, low, medium, high or critical)", name)
}

func clamp(s Severity) Severity { return max(Info, min(Critical, s)) }

// Remediation actions. The names are stable: they appear in config, output and undo records.
const (
	DeactivateAccessKey = "deactivate_access_key"
	DetachUserPolicy    = "detach_user_policy"
	DeleteUserPolicy    = "delete_user_policy"
	QuarantineUser      = "quarantine_user"
	RestartLogging      = "restart_logging"
)

// Action is the remediation a finding proposes, with exactly what it would act on.
// A zero Kind means no API can undo the change (for example anything the root user did).
type Action struct {
	Kind        string `json:"action"`
	UserName    string `json:"user_name,omitempty"`
	AccessKeyID string `json:"access_key_id,omitempty"`
	PolicyARN   string `json:"policy_arn,omitempty"`
	PolicyName  string `json:"policy_name,omitempty"`
	Trail       string `json:"trail,omitempty"`
	Region      string `json:"region,omitempty"`
	Account     string `json:"account,omitempty"`
}

// Actor is who made the call.
type Actor struct {
	ARN       string // principal ARN (assumed-role session ARN for roles)
	IssuerARN string // the role or user behind a session, "" for long-term credentials
	Type      string // userIdentity.type: Root, IAMUser, AssumedRole, …
	Name      string // a short readable name
	SourceIP  string
	UserAgent string
	InvokedBy string // the AWS service that made the call on the actor's behalf, if any
}

// Finding is one risky change.
type Finding struct {
	Rule      string
	Category  string
	Severity  Severity
	Title     string
	Actor     Actor
	Target    string // ARN (or name) of what was changed
	Account   string
	Region    string
	EventID   string
	EventName string
	EventTime time.Time
	// Why is one sentence: who did what to whom and which best practice it breaks.
	Why string
	// Manual gives the steps a person must take when no API can undo the change.
	Manual string
	Action Action
	Record *cloudtrail.Record
}

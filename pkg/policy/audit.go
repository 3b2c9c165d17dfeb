package policy

import (
	"fmt"
	"regexp"
	"slices"
	"time"
)

// AuditConfig configures `watchdog audit` and the scheduled audit (the config's audit: keys).
// Unset keys take pkg/audit's defaults; the thresholds are pointers so that an explicit 0 is
// an error rather than the default in disguise.
type AuditConfig struct {
	// Groups are the baseline groups every human user must be in one of; unset means the
	// baseline's Administrators, Developers and Business, as far as they exist.
	Groups []string `yaml:"groups"`
	// UnusedDays (CIS 1.12, 45), RotationDays (CIS 1.14, 90) and RootUseDays (CIS 1.7, 90) are
	// the checks' thresholds in days.
	UnusedDays   *int `yaml:"unused_days"`
	RotationDays *int `yaml:"rotation_days"`
	RootUseDays  *int `yaml:"root_use_days"`
	// Concurrency bounds the accounts audited at once (`--org`, Accounts); unset means 4.
	Concurrency *int `yaml:"concurrency"`
	// Accounts are the accounts audited when neither --account nor --org says otherwise, and by
	// the scheduled audit; each other than the home account is entered through member_role_name.
	Accounts []string `yaml:"accounts"`
	// Organization audits every active account of the organisation instead (the home account
	// must be the management account or a delegated administrator).
	Organization bool `yaml:"organization"`
	// ForwardRegions are the Regions where infra/forwarder.yaml forwards events to the home bus,
	// checked in every audited account (watchdog-forwarding).
	ForwardRegions []string `yaml:"forward_regions"`
	// HomeBusARN is the bus the forwarders target; unset means the home account's default bus.
	HomeBusARN string `yaml:"home_bus_arn"`
	// DigestAlways posts the scheduled audit's Slack digest even when nothing changed.
	DigestAlways bool `yaml:"digest_always"`
	// Every spaces the scheduled audits: a run of the schedule sooner than this after the last
	// audit does not audit. Unset or 0: every run of the schedule audits.
	Every *time.Duration `yaml:"every"`
}

// Bounds of the audit keys.
const (
	maxAuditDays        = 3650
	maxAuditConcurrency = 64
	maxAuditEvery       = 31 * 24 * time.Hour
)

var (
	// awsRegion is a Region name: us-east-1, eu-central-2, us-gov-west-1, eusc-de-east-1.
	awsRegion = regexp.MustCompile(`^[a-z]{2,4}(-[a-z]+)+-[0-9]+$`)
	// eventBusARN is an EventBridge event bus ARN.
	eventBusARN = regexp.MustCompile(`^arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:event-bus/[A-Za-z0-9._/-]+$`)
)

func (a AuditConfig) validate() []*ConfigError {
	var errs []*ConfigError
	if a.Groups != nil && len(a.Groups) == 0 {
		errs = append(errs, fieldError("audit.groups", "an empty list; name at least one group, or leave the key out for the baseline's groups"))
	}
	for i, g := range a.Groups {
		if !iamGroupName.MatchString(g) {
			errs = append(errs, fieldError(fmt.Sprintf("audit.groups[%d]", i), "%q is not an IAM group name (1-128 of letters, digits and +=,.@_-)", g))
		}
	}
	for _, d := range []struct {
		key string
		v   *int
		max int
	}{
		{"audit.unused_days", a.UnusedDays, maxAuditDays},
		{"audit.rotation_days", a.RotationDays, maxAuditDays},
		{"audit.root_use_days", a.RootUseDays, maxAuditDays},
		{"audit.concurrency", a.Concurrency, maxAuditConcurrency},
	} {
		if d.v != nil && (*d.v < 1 || *d.v > d.max) {
			errs = append(errs, fieldError(d.key, "%d is outside 1 to %d", *d.v, d.max))
		}
	}
	for i, acct := range a.Accounts {
		switch {
		case !accountID.MatchString(acct):
			errs = append(errs, fieldError(fmt.Sprintf("audit.accounts[%d]", i), "%q is not a 12-digit account ID", acct))
		case slices.Index(a.Accounts, acct) < i:
			errs = append(errs, fieldError(fmt.Sprintf("audit.accounts[%d]", i), "%s is listed twice", acct))
		}
	}
	if a.Organization && len(a.Accounts) > 0 {
		errs = append(errs, fieldError("audit.organization", "true audits every account of the organisation; audit.accounts lists some: set one of them"))
	}
	for i, r := range a.ForwardRegions {
		if !awsRegion.MatchString(r) {
			errs = append(errs, fieldError(fmt.Sprintf("audit.forward_regions[%d]", i), "%q is not a Region name (such as eu-west-1)", r))
		}
	}
	if b := a.HomeBusARN; b != "" && !eventBusARN.MatchString(b) {
		errs = append(errs, fieldError("audit.home_bus_arn", "%q is not an event bus ARN (arn:aws:events:REGION:ACCOUNT:event-bus/NAME)", b))
	}
	if e := a.Every; e != nil && (*e < 0 || *e > maxAuditEvery) {
		errs = append(errs, fieldError("audit.every", "%s is outside 0 (every run of the schedule) to %s", *e, maxAuditEvery))
	}
	return errs
}

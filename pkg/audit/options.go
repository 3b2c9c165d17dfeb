package audit

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Defaults of the thresholds (config keys audit.unused_days, audit.rotation_days,
// audit.root_use_days).
const (
	// DefaultUnusedDays is CIS 1.12's: credentials unused for 45 days or more are disabled.
	DefaultUnusedDays = 45
	// DefaultRotationDays is CIS 1.14's: access keys rotated every 90 days or less.
	DefaultRotationDays = 90
	// DefaultRootUseDays is the window of CIS 1.7. CIS leaves it to the reader of the report;
	// 90 days matches the rotation window and common CIS v3.0 tooling (Steampipe's 1.7 control):
	// a root sign-in or key use within the last 90 days fails.
	DefaultRootUseDays = 90
	// DefaultConcurrency is how many accounts `--org` audits at once: enough to overlap the
	// credential reports' generation, few enough to stay clear of IAM's account-wide rate limits.
	DefaultConcurrency = 4
	// DefaultReportWait bounds the wait for a credential report; AWS makes one in seconds.
	DefaultReportWait = 2 * time.Minute
	// DefaultReportPoll is the pause between GenerateCredentialReport calls while one is made.
	DefaultReportPoll = 2 * time.Second
)

// DefaultGroups are the baseline groups infra/baseline.yaml creates (its default names). With
// Options.Groups unset, the baseline-groups check uses those of them that exist.
var DefaultGroups = []string{"Administrators", "Developers", "Business"}

// Options configure an audit. The zero value is valid: every threshold takes its default, and the
// watchdog's own sight is checked only as far as Sight says where to look.
type Options struct {
	UnusedDays   int // 0 means DefaultUnusedDays
	RotationDays int // 0 means DefaultRotationDays
	RootUseDays  int // 0 means DefaultRootUseDays
	// Groups are the baseline groups every human user (one with a console password) must be in
	// at least one of. nil means DefaultGroups, as far as they exist; an explicit list is used
	// as given, and a listed group that does not exist is reported.
	Groups []string
	// Concurrency bounds the accounts audited at once (0 means DefaultConcurrency).
	Concurrency int
	// ReportWait and ReportPoll bound the wait for the credential report (0 means the defaults).
	ReportWait, ReportPoll time.Duration
	// Now is the audit's clock (nil means time.Now): ages are measured from it.
	Now func() time.Time
	// Sight says where the watchdog's own parts are, for the home account's sight checks.
	Sight Sight
}

// Sight locates the watchdog's own parts. An empty field makes its check not_applicable
// ("not configured"), not a failure: a laptop audit has no stack to look at.
type Sight struct {
	// FunctionARN is the watchdog function's ARN: the rules that target it must be enabled.
	FunctionARN string
	// MinRules is how many rules must target the function (template.yaml has one per event
	// source); 0 means at least one.
	MinRules int
	// ForwardRegions are the Regions where infra/forwarder.yaml should forward events to the home
	// bus, in every audited account. Empty: forwarding is not checked.
	ForwardRegions []string
	// HomeBusARN is the bus the forwarders target; "" means the default bus of the home account
	// in the home Region.
	HomeBusARN string
	// DeadLetterQueueURL is the dead-letter queue (the stack's DeadLetterQueueUrl output).
	DeadLetterQueueURL string
	// Slack checks the Slack secret and auth.test; SlackSecretARN names the secret in results.
	Slack          SlackChecker
	SlackSecretARN string
}

// Validate reports every option that is out of range.
func (o Options) Validate() error {
	var errs []error
	for _, v := range []struct {
		name string
		n    int
	}{{"unused_days", o.UnusedDays}, {"rotation_days", o.RotationDays}, {"root_use_days", o.RootUseDays}, {"concurrency", o.Concurrency}, {"sight min_rules", o.Sight.MinRules}} {
		if v.n < 0 {
			errs = append(errs, fmt.Errorf("audit %s is %d, want 0 (the default) or more", v.name, v.n))
		}
	}
	if o.ReportWait < 0 || o.ReportPoll < 0 {
		errs = append(errs, errors.New("audit report wait and poll must not be negative"))
	}
	for _, g := range o.Groups {
		if strings.TrimSpace(g) == "" {
			errs = append(errs, errors.New("audit groups: a group name is empty"))
		}
	}
	if o.Sight.FunctionARN != "" && !strings.HasPrefix(o.Sight.FunctionARN, "arn:") {
		errs = append(errs, fmt.Errorf("audit function ARN %q is not an ARN", o.Sight.FunctionARN))
	}
	if o.Sight.HomeBusARN != "" && !strings.HasPrefix(o.Sight.HomeBusARN, "arn:") {
		errs = append(errs, fmt.Errorf("audit home bus ARN %q is not an ARN", o.Sight.HomeBusARN))
	}
	if slices.Contains(o.Sight.ForwardRegions, "") {
		errs = append(errs, errors.New("audit forward regions: a Region is empty"))
	}
	return errors.Join(errs...)
}

// withDefaults fills in every zero threshold.
func (o Options) withDefaults() Options {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&o.UnusedDays, DefaultUnusedDays)
	def(&o.RotationDays, DefaultRotationDays)
	def(&o.RootUseDays, DefaultRootUseDays)
	def(&o.Concurrency, DefaultConcurrency)
	if o.ReportWait == 0 {
		o.ReportWait = DefaultReportWait
	}
	if o.ReportPoll == 0 {
		o.ReportPoll = DefaultReportPoll
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

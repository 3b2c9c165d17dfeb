package audit

import (
	"fmt"

	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
)

// Exit codes of `watchdog audit`. ExitUsage is the CLI's, for bad flags; the others come from
// ExitCode.
const (
	ExitOK       = 0 // the audit ran (whatever it found, without --fail-on)
	ExitErrored  = 1 // some check could not run
	ExitUsage    = 2
	ExitFailedOn = 3 // a failure at or above --fail-on's severity
)

// ExitCode decides the exit code of an audit: ExitFailedOn when failOn is given and some check
// failed at that severity or above (a finding beats an incomplete audit, for CI that gates on
// it), else ExitErrored when some check could not run, else ExitOK.
func ExitCode(results []Result, failOn *detect.Severity) int {
	errored := false
	for _, r := range results {
		if failOn != nil && r.Status == Fail && r.Severity >= *failOn {
			return ExitFailedOn
		}
		errored = errored || r.Status == Error
	}
	if errored {
		return ExitErrored
	}
	return ExitOK
}

// Errors are the results that could not run, one error each, for standard error beside
// ExitErrored.
func Errors(results []Result) []error {
	var errs []error
	for _, r := range results {
		if r.Status == Error {
			errs = append(errs, fmt.Errorf("check %s could not run on %s (account %s): %s", r.Check, r.Resource, r.Account, r.Detail))
		}
	}
	return errs
}

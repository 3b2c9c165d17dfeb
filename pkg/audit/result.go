package audit

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
)

// Status is a result's outcome. The names are a contract (`--output jsonl`).
type Status string

// Statuses.
const (
	Pass          Status = "pass"
	Fail          Status = "fail"
	Error         Status = "error"          // the check could not run; Detail says why
	NotApplicable Status = "not_applicable" // nothing to check (no console password, no organisation)
)

// UnmarshalText accepts the four statuses only, so that a stored result read back is one of them.
func (s *Status) UnmarshalText(b []byte) error {
	switch v := Status(b); v {
	case Pass, Fail, Error, NotApplicable:
		*s = v
		return nil
	}
	return fmt.Errorf("unknown audit status %q (want pass, fail, error or not_applicable)", b)
}

// Result is one check's verdict on one resource of one account. Its JSON field names are the
// `--output jsonl` contract.
type Result struct {
	Check    string          `json:"check"`    // stable check ID, e.g. root-access-key
	CIS      string          `json:"cis"`      // CIS AWS Foundations v3.0 ID, e.g. "1.4", or ""
	Status   Status          `json:"status"`   // pass, fail, error or not_applicable
	Severity detect.Severity `json:"severity"` // the severity of a failure of this check
	Account  string          `json:"account"`
	Resource string          `json:"resource"` // an ARN, or arn:<partition>:iam::<account>:root
	Title    string          `json:"title"`
	Detail   string          `json:"detail"` // what was seen on this resource, or why the check could not run
	Why      string          `json:"why"`    // why the check matters
	Fix      string          `json:"fix"`    // steps or an AWS CLI command
}

// Key identifies what a result is about across runs: check, account and resource. Diff pairs
// the results of two runs by it, and the digest's state keeps it.
func (r Result) Key() string { return r.Check + "|" + r.Account + "|" + r.Resource }

// statusRank orders statuses worst first: a failure, then a check that could not run (it may
// hide one), then the rest.
var statusRank = map[Status]int{Fail: 0, Error: 1, Pass: 2, NotApplicable: 3}

// compareWorstFirst orders results by status, then severity (highest first), then check,
// account and resource, so that any list of results has one order.
func compareWorstFirst(a, b Result) int {
	return cmp.Or(
		cmp.Compare(statusRank[a.Status], statusRank[b.Status]),
		cmp.Compare(b.Severity, a.Severity),
		cmp.Compare(a.Check, b.Check),
		cmp.Compare(a.Account, b.Account),
		cmp.Compare(a.Resource, b.Resource),
	)
}

// SortWorstFirst sorts results in place: failures by severity, then errors, passes and
// not-applicable results.
func SortWorstFirst(results []Result) { slices.SortStableFunc(results, compareWorstFirst) }

package replay

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/remediate"
)

// ErrSomeInputs says that a replay could not read some input or some record, or the pipeline
// failed on some finding: each was reported as it came, and everything else was read.
var ErrSomeInputs = errors.New("some input could not be read")

// ErrRemediationFailed says that every input was read but some remediation failed: each failure
// is in its finding's output, and the summary counts them.
var ErrRemediationFailed = errors.New("some remediation failed")

// remediationStatuses are the statuses the summary counts, in the order it prints them.
var remediationStatuses = []remediate.Status{remediate.Planned, remediate.Done, remediate.Skipped, remediate.Failed, remediate.Pending}

// Summary counts what a replay saw.
type Summary struct {
	// Inputs were read to their end (in part, for the unreadable ones among them).
	Inputs int
	// Findings were alerted on (or were before, by an earlier replay).
	Findings int
	// Unreadable inputs could not be listed, opened or read in full; UnreadableNames names them.
	Unreadable      int
	UnreadableNames []string
	// WithErrors inputs were read to their end with some of their records bad (each told to
	// Problems); WithErrorsNames says which, with how many.
	WithErrors      int
	WithErrorsNames []string
	// OtherTimeForm counts the records whose eventTime was not in CloudTrail's own form
	// (2006-01-02T15:04:05Z): an export's, read as UTC, fractional seconds, or an offset.
	OtherTimeForm int64
	// Failed counts records on which the pipeline failed (the store or the output).
	Failed int
	// Empty counts the directories that held no log file to read (NoLogFilesError): not
	// inputs; a replay that read nothing else fails.
	Empty int
	// Records were read, Decoded of them for the rules; Input bytes as stored, Bytes of JSON.
	Records, Decoded, Input, Bytes int64
	// ByCategory, ByRule and ByActor count the findings.
	ByCategory, ByRule, ByActor map[string]int
	// Remediations counts the findings' remediation outcomes by status (findings whose rule has
	// no remediation are not counted).
	Remediations map[remediate.Status]int
	// FailedReasons counts the failed remediations by reason: one cause of many failures (no
	// credentials) is said once, after each finding said it.
	FailedReasons map[string]int
	Jobs          int
	Took          time.Duration
}

// Err is ErrSomeInputs when some input or record was unreadable or the pipeline failed on some
// record, or nothing at all was read (every directory held no log file), else
// ErrRemediationFailed when some remediation failed, else nil.
func (s *Summary) Err() error {
	switch {
	case s.Unreadable > 0 || s.WithErrors > 0 || s.Failed > 0, s.Empty > 0 && s.Inputs == 0:
		return ErrSomeInputs
	case s.Remediations[remediate.Failed] > 0:
		return ErrRemediationFailed
	}
	return nil
}

func newSummary(jobs int) *Summary {
	return &Summary{ByCategory: map[string]int{}, ByRule: map[string]int{}, ByActor: map[string]int{},
		Remediations: map[remediate.Status]int{}, FailedReasons: map[string]int{}, Jobs: jobs}
}

// inputRead counts an input read to its end; its findings were counted one by one.
func (s *Summary) inputRead(rep InputReport) {
	s.Inputs++
	st := rep.Read
	s.Records += st.Records
	s.Decoded += st.Decoded
	s.Input += st.Input
	s.Bytes += st.Bytes
	s.OtherTimeForm += st.OtherTimeForm
	s.Failed += rep.Failed
	switch {
	case rep.Unreadable:
		s.unreadableInput(rep.Name)
	case st.RecordErrors > 0:
		s.WithErrors++
		s.WithErrorsNames = append(s.WithErrorsNames, fmt.Sprintf("%s (%d bad %s)", rep.Name, st.RecordErrors, plural(st.RecordErrors, "record", "records")))
	}
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func (s *Summary) finding(f detect.Finding, o *remediate.Outcome) {
	if o != nil {
		s.Remediations[o.Status]++
		if o.Status == remediate.Failed {
			s.FailedReasons[o.Reason]++
		}
	}
	s.Findings++
	s.ByCategory[f.Category]++
	s.ByRule[f.Rule]++
	actor := f.Actor.ARN
	if actor == "" {
		actor = f.Actor.Name
	}
	s.ByActor[actor]++
}

// listed counts what came of listing a source instead of an input: a directory with no log
// files, or an input that could not be listed (an input, unreadable).
func (s *Summary) listed(name string, err error) {
	if _, ok := errors.AsType[*NoLogFilesError](err); ok {
		s.Empty++
		return
	}
	s.Inputs++
	s.unreadableInput(name)
}

func (s *Summary) unreadableInput(name string) {
	s.Unreadable++
	s.UnreadableNames = append(s.UnreadableNames, name)
}

// Lists in the summary stop after this many entries.
const (
	topActors      = 5
	failedReasons  = 3
	listUnreadable = 10
)

// Print writes the summary, each line starting "watchdog: ". Its first line is the contract
// scripts read; with details, lines follow on throughput, rules, actors and unreadable inputs.
func (s *Summary) Print(w io.Writer, details bool) {
	fmt.Fprintf(w, "watchdog: %d inputs, %d records, %d findings", s.Inputs, s.Records, s.Findings)
	if len(s.ByCategory) > 0 {
		fmt.Fprintf(w, " (%s)", counts(s.ByCategory, 0, func(a, b string) int { return strings.Compare(a, b) }))
	}
	fmt.Fprintf(w, "; %d unreadable\n", s.Unreadable)
	if n := sumValues(s.Remediations); n > 0 {
		parts := make([]string, len(remediationStatuses))
		for i, st := range remediationStatuses {
			parts[i] = fmt.Sprintf("%d %s", s.Remediations[st], st)
		}
		fmt.Fprintf(w, "watchdog: remediations: %s\n", strings.Join(parts, ", "))
	}
	for _, why := range topKeys(s.FailedReasons, failedReasons, nil) {
		fmt.Fprintf(w, "watchdog: %d failed: %s\n", s.FailedReasons[why], why)
	}
	if !details {
		return
	}
	secs := max(s.Took.Seconds(), 1e-9)
	fmt.Fprintf(w, "watchdog: read %s of JSON (%s as stored) in %s with %d jobs: %.0f MB/s, %.0f records/s; %d records decoded for the rules\n",
		Megabytes(s.Bytes), Megabytes(s.Input), s.Took.Round(time.Millisecond), s.Jobs, float64(s.Bytes)/1e6/secs, float64(s.Records)/secs, s.Decoded)
	if len(s.ByRule) > 0 {
		fmt.Fprintf(w, "watchdog: findings by rule: %s\n", counts(s.ByRule, 0, nil))
		fmt.Fprintf(w, "watchdog: top actors: %s\n", counts(s.ByActor, topActors, nil))
	}
	if len(s.UnreadableNames) > 0 {
		fmt.Fprintf(w, "watchdog: could not read: %s\n", listed(s.UnreadableNames))
	}
	if len(s.WithErrorsNames) > 0 {
		fmt.Fprintf(w, "watchdog: read with errors: %s\n", listed(s.WithErrorsNames))
	}
	if s.OtherTimeForm > 0 {
		fmt.Fprintf(w, "watchdog: %d %s an eventTime not in CloudTrail's form (2006-01-02T15:04:05Z); read as UTC where it had no zone\n",
			s.OtherTimeForm, plural(s.OtherTimeForm, "record had", "records had"))
	}
}

// listed joins the first listUnreadable names, saying how many more there are.
func listed(names []string) string {
	n := len(names)
	list := strings.Join(names[:min(n, listUnreadable)], ", ")
	if n > listUnreadable {
		list += fmt.Sprintf(" and %d more", n-listUnreadable)
	}
	return list
}

func sumValues(m map[remediate.Status]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// topKeys are m's keys by order, else most first (then by name), the first limit (0: all).
func topKeys(m map[string]int, limit int, order func(a, b string) int) []string {
	names := slices.Collect(maps.Keys(m))
	if order == nil {
		order = func(a, b string) int { return cmp.Or(m[b]-m[a], strings.Compare(a, b)) }
	}
	slices.SortFunc(names, order)
	if limit > 0 && len(names) > limit {
		names = names[:limit]
	}
	return names
}

// counts formats "name n, name n" of topKeys.
func counts(m map[string]int, limit int, order func(a, b string) int) string {
	names := topKeys(m, limit, order)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s %d", n, m[n])
	}
	return strings.Join(parts, ", ")
}

// Megabytes formats a byte count for people: "0.2 MB", "10.4 GB".
func Megabytes(n int64) string {
	if n >= 10e9 {
		return fmt.Sprintf("%.1f GB", float64(n)/1e9)
	}
	return fmt.Sprintf("%.1f MB", float64(n)/1e6)
}

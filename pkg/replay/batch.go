package replay

import (
	"fmt"
	"time"

	"github.com/iam-watchdog/iam-watchdog/pkg/cloudtrail"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/policy"
	"github.com/iam-watchdog/iam-watchdog/pkg/remediate"
)

// A replay fanned out over AWS Lambda (`watchdog replay --lambda`, pkg/fanout) sends the replay
// function (functions/replay) one batch of S3 objects at a time: a BatchRequest. The function
// runs them through this package's pipeline (RunBatch), writes what it found to S3 as JSON
// Lines (batch rows: the findings and problems of each input in input order, each input closed
// by its share of the summary, and the batch closed by its totals), and answers with a
// BatchResponse. The CLI reads the rows back (Merger) into the output, order and summary a
// local replay of the same objects gives. docs/replay.md describes the format.

// BatchVersion is the version of the batch request, response and rows; the function refuses
// any other, so that a CLI and a function built from different code never mix their results.
const BatchVersion = 1

// MaxBatchKeys bounds the keys of one batch: their names must fit Lambda's 6 MB request.
const MaxBatchKeys = 20000

// BatchRequest asks the replay function to replay one batch of S3 objects.
type BatchRequest struct {
	Version int `json:"version"`
	// Batch names the batch in the function's log and answer.
	Batch  string   `json:"batch"`
	Bucket string   `json:"bucket"`
	Keys   []string `json:"keys"`
	// Results is the s3://bucket/key.jsonl the rows are written to.
	Results string     `json:"results"`
	Scope   BatchScope `json:"scope"`
	// Config is the CLI's configuration, with its flags applied; the function lowers every
	// mode to dry-run at most whatever it says.
	Config policy.Config `json:"config"`
}

// BatchScope is a Scope as a request carries it: times in RFC 3339, empty for open.
type BatchScope struct {
	Since   string `json:"since,omitempty"`
	Until   string `json:"until,omitempty"`
	Account string `json:"account,omitempty"`
	Region  string `json:"region,omitempty"`
}

// Batch is the scope as a request carries it.
func (s Scope) Batch() BatchScope {
	b := BatchScope{Account: s.Account, Region: s.Region}
	if !s.Since.IsZero() {
		b.Since = s.Since.UTC().Format(time.RFC3339Nano)
	}
	if !s.Until.IsZero() {
		b.Until = s.Until.UTC().Format(time.RFC3339Nano)
	}
	return b
}

// Scope reads a request's scope, with the checks of the CLI's flags.
func (b BatchScope) Scope() (Scope, error) {
	s, err := ParseScope(b.Since, b.Until, b.Account, b.Region)
	if err != nil {
		return s, fmt.Errorf("scope: %w", err)
	}
	return s, nil
}

// BatchResponse is the replay function's answer to a BatchRequest.
type BatchResponse struct {
	Version int    `json:"version"`
	Batch   string `json:"batch"`
	// Refused says why the request was refused: nothing was read, and sending it again cannot
	// help.
	Refused string `json:"refused,omitempty"`
	// Results is where the rows were written.
	Results string `json:"results,omitempty"`
	// Done is how many of the request's keys, the first ones, were read to their end.
	// Remaining were not reached before the function's time ran short: they are to be sent
	// again.
	Done      int      `json:"done"`
	Remaining []string `json:"remaining,omitempty"`
	// Totals count what the done keys gave; Problems lists the keys that gave problems.
	Totals   BatchTotals   `json:"totals"`
	Problems []KeyProblems `json:"problems,omitempty"`
	// Duration is how long the function worked on the batch, in milliseconds.
	DurationMS int64 `json:"duration_ms"`
}

// BatchTotals count what a batch gave.
type BatchTotals struct {
	Inputs     int   `json:"inputs"`
	Unreadable int   `json:"unreadable"`
	Records    int64 `json:"records"`
	Decoded    int64 `json:"decoded"`
	Input      int64 `json:"input_bytes"`
	Bytes      int64 `json:"json_bytes"`
	Findings   int   `json:"findings"`
	Problems   int   `json:"problems"`
	Failed     int   `json:"failed"`
}

// add counts one input's report and its problems.
func (t *BatchTotals) add(rep InputReport, problems int) {
	t.Inputs++
	if rep.Unreadable {
		t.Unreadable++
	}
	t.Records += rep.Read.Records
	t.Decoded += rep.Read.Decoded
	t.Input += rep.Read.Input
	t.Bytes += rep.Read.Bytes
	t.Findings += rep.Findings
	t.Problems += problems
	t.Failed += rep.Failed
}

// KeyProblems are the first problems one key gave (the rows hold them all), and how many more.
type KeyProblems struct {
	Name     string   `json:"name"` // the object, as ObjectName names it
	Problems []string `json:"problems"`
	More     int      `json:"more,omitempty"`
}

// keyProblemsShown bounds the problems per key in a response, which must stay small.
const keyProblemsShown = 3

// batchRow is one line of a batch's results: exactly one of its fields is set.
type batchRow struct {
	Finding *findingRow  `json:"finding,omitempty"`
	Problem *string      `json:"problem,omitempty"`
	Input   *inputRow    `json:"input,omitempty"`
	End     *BatchTotals `json:"end,omitempty"`
}

// findingRow is an alert as the output needs it again: the finding, where it was read (its
// CloudTrail record is left out) and what remediation would do.
type findingRow struct {
	Finding     detect.Finding       `json:"finding"`
	Pos         *cloudtrail.Position `json:"pos,omitempty"`
	Remediation *remediate.Outcome   `json:"remediation,omitempty"`
}

// inputRow closes the rows of one input with its share of the summary.
type inputRow struct {
	Name       string `json:"name"`
	Records    int64  `json:"records"`
	Decoded    int64  `json:"decoded"`
	Input      int64  `json:"input_bytes"`
	Bytes      int64  `json:"json_bytes"`
	Findings   int    `json:"findings"`
	Failed     int    `json:"failed,omitempty"`
	Unreadable bool   `json:"unreadable,omitempty"`
}

func newInputRow(rep InputReport) *inputRow {
	return &inputRow{Name: rep.Name, Records: rep.Read.Records, Decoded: rep.Read.Decoded, Input: rep.Read.Input,
		Bytes: rep.Read.Bytes, Findings: rep.Findings, Failed: rep.Failed, Unreadable: rep.Unreadable}
}

func (r *inputRow) report() InputReport {
	return InputReport{Name: r.Name, Read: cloudtrail.ScanStats{Records: r.Records, Decoded: r.Decoded, Input: r.Input, Bytes: r.Bytes},
		Findings: r.Findings, Failed: r.Failed, Unreadable: r.Unreadable}
}

// ObjectName is how replay names an S3 object in its output, its problems and its summary.
func ObjectName(bucket, key string) string { return "s3://" + bucket + "/" + key }

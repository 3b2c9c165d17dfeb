package replay

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/iam-watchdog/iam-watchdog/pkg/alert"
	"github.com/iam-watchdog/iam-watchdog/pkg/cloudtrail"
	"github.com/iam-watchdog/iam-watchdog/pkg/notify"
)

// Merger puts the rows of batches together into one replay's output, problems and summary.
// Given the batches in input order, it gives what a local replay of the same inputs gives: the
// findings in the same order, the same problems, the same counts.
type Merger struct {
	Output notify.Sink
	// Problems is told of each problem, as Options.Problems; nil ignores them.
	Problems func(error)
	Summary  *Summary
}

// NewMerger merges into out and problems; jobs is what the summary reports as the jobs.
func NewMerger(out notify.Sink, problems func(error), jobs int) *Merger {
	if problems == nil {
		problems = func(error) {}
	}
	return &Merger{Output: out, Problems: problems, Summary: newSummary(jobs)}
}

// maxRow bounds one row of a batch's results: a finding is a few kilobytes.
const maxRow = 16 << 20

// CheckRows reads a batch's rows through without merging them, and returns their totals. It
// fails unless they are whole and consistent: every row well formed, the inputs named exactly
// want (the names of the keys the batch says it did, in order), each input's findings
// before it as it counts them, and the totals last, equal to the rows'. Rows that pass are
// safe to merge: Rows cannot fail half-way on them.
func CheckRows(r io.Reader, want []string) (BatchTotals, error) {
	return readRows(r, want, nil)
}

// Rows merges a batch's rows, checked with CheckRows first.
func (m *Merger) Rows(ctx context.Context, r io.Reader) error {
	_, err := readRows(r, nil, func(row batchRow) error {
		switch {
		case row.Finding != nil:
			a := alert.Alert{Finding: row.Finding.Finding, Remediation: row.Finding.Remediation}
			if pos := row.Finding.Pos; pos != nil {
				a.Finding.Record = &cloudtrail.Record{Pos: *pos}
			}
			m.Summary.finding(a.Finding, a.Remediation)
			if _, err := m.Output.Notify(ctx, a); err != nil {
				return fmt.Errorf("write output: %w", err)
			}
		case row.Problem != nil:
			m.Problems(errors.New(*row.Problem))
		case row.Input != nil:
			m.Summary.inputRead(row.Input.report())
		}
		return nil
	})
	return err
}

// Unread counts an input that no batch could read, as a local replay counts one it could not
// open, and tells why.
func (m *Merger) Unread(name string, err error) {
	m.Problems(err)
	m.Summary.inputRead(InputReport{Name: name, Unreadable: true})
}

// Unlisted counts a source that could not be listed, as a local replay does.
func (m *Merger) Unlisted(name string, err error) {
	m.Problems(err)
	m.Summary.unreadableInput(name)
}

// inputRead counts an input read to its end; its findings were counted one by one.
func (s *Summary) inputRead(rep InputReport) {
	s.Inputs++
	s.add(rep.Read)
	s.Failed += rep.Failed
	if rep.Unreadable {
		s.unreadableInput(rep.Name)
	}
}

// readRows reads rows, checking them as CheckRows says (the names only when want is not nil),
// and hands each to emit when it is not nil.
func readRows(r io.Reader, want []string, emit func(batchRow) error) (BatchTotals, error) {
	var got BatchTotals
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxRow)
	line, findings, problems := 0, 0, 0
	var end *BatchTotals
	for sc.Scan() {
		line++
		if end != nil {
			return got, fmt.Errorf("line %d: rows after the totals", line)
		}
		var row batchRow
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&row); err != nil {
			return got, fmt.Errorf("line %d: %w", line, err)
		}
		if n := fieldsSet(row); n != 1 {
			return got, fmt.Errorf("line %d: a row holds one of finding, problem, input or end; this one holds %d", line, n)
		}
		switch {
		case row.Finding != nil:
			findings++
		case row.Problem != nil:
			problems++
		case row.Input != nil:
			in := row.Input
			if want != nil && (got.Inputs >= len(want) || in.Name != want[got.Inputs]) {
				return got, fmt.Errorf("line %d: input %q is not the batch's next key", line, in.Name)
			}
			if in.Findings != findings {
				return got, fmt.Errorf("line %d: input %s counts %d findings, %d rows precede it", line, in.Name, in.Findings, findings)
			}
			got.add(in.report(), problems)
			findings, problems = 0, 0
		case row.End != nil:
			end = row.End
		}
		if emit != nil {
			if err := emit(row); err != nil {
				return got, err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return got, fmt.Errorf("line %d: %w", line+1, err)
	}
	switch {
	case end == nil:
		return got, errors.New("no totals at the end: the rows are cut short")
	case findings > 0 || problems > 0:
		return got, errors.New("rows after the last input")
	case *end != got:
		return got, fmt.Errorf("the totals (%+v) are not the rows' (%+v)", *end, got)
	case want != nil && got.Inputs != len(want):
		return got, fmt.Errorf("%d inputs, want %d", got.Inputs, len(want))
	}
	return got, nil
}

func fieldsSet(row batchRow) int {
	n := 0
	for _, set := range []bool{row.Finding != nil, row.Problem != nil, row.Input != nil, row.End != nil} {
		if set {
			n++
		}
	}
	return n
}

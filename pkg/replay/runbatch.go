package replay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/iam-watchdog/iam-watchdog/pkg/alert"
	"github.com/iam-watchdog/iam-watchdog/pkg/watchdog"
)

// BatchOptions shape the replay of one batch.
type BatchOptions struct {
	// Pipeline handles each record, as Options.Pipeline.
	Pipeline *watchdog.Pipeline
	S3       S3Getter
	Bucket   string
	Keys     []string
	Scope    Scope
	// Jobs is how many objects are read at once; Prefetch how many GETs are started ahead of
	// the reading.
	Jobs, Prefetch int
	// Stop is when to stop reading: the objects not read to their end by then are left for
	// another batch (BatchResponse.Remaining). Zero reads them all.
	Stop time.Time
	// Rows gets the batch's rows.
	Rows io.Writer
}

// RunBatch replays the objects of one batch, in order, with Run, and writes what it found to
// o.Rows: each input's findings and problems, in the order a local replay gives them, closed by
// the input's share of the summary, and, last, the batch's totals. An input cut short at Stop
// leaves no rows. The response says how many keys were done, which remain, what they gave and
// which gave problems; its Batch, Results and Duration are the caller's to fill.
//
// RunBatch returns an error when it had to stop otherwise: ctx ended, or the rows could not be
// written.
func RunBatch(ctx context.Context, o BatchOptions) (BatchResponse, error) {
	resp := BatchResponse{Version: BatchVersion}
	readCtx := ctx
	if !o.Stop.IsZero() {
		var cancel context.CancelFunc
		readCtx, cancel = context.WithDeadline(ctx, o.Stop)
		defer cancel()
	}
	w := &rowWriter{enc: json.NewEncoder(o.Rows)}
	w.enc.SetEscapeHTML(false) // as the JSON Lines output: ARNs and user agents as written
	src := newPrefetched(readCtx, o.S3, o.Bucket, o.Keys, o.Prefetch)
	_, err := Run(readCtx, Options{
		Pipeline:  o.Pipeline,
		Output:    w,
		Sources:   []Source{src},
		Jobs:      o.Jobs,
		Scope:     o.Scope,
		Problems:  w.problem,
		InputDone: func(rep InputReport) { w.inputDone(rep, &resp) },
	})
	src.close()
	switch {
	case w.err != nil:
		return resp, w.err
	case err != nil && ctx.Err() != nil:
		return resp, err
	case err != nil && !errors.Is(err, context.DeadlineExceeded):
		return resp, err
	}
	resp.Remaining = o.Keys[resp.Done:]
	if err := w.enc.Encode(batchRow{End: &resp.Totals}); err != nil {
		return resp, fmt.Errorf("write results: %w", err)
	}
	return resp, nil
}

// rowWriter holds the current input's rows until it is done, then writes them.
type rowWriter struct {
	enc     *json.Encoder
	mu      sync.Mutex
	pending []batchRow
	msgs    []string // the current input's problems
	err     error
}

// Notify implements notify.Sink.
func (w *rowWriter) Notify(_ context.Context, a alert.Alert) (alert.Delivery, error) {
	row := &findingRow{Finding: a.Finding, Remediation: a.Remediation}
	if rec := a.Finding.Record; rec != nil {
		pos := rec.Pos
		row.Pos = &pos
	}
	row.Finding.Record = nil
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pending = append(w.pending, batchRow{Finding: row})
	return alert.Delivery{}, nil
}

func (w *rowWriter) problem(err error) {
	msg := err.Error()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pending = append(w.pending, batchRow{Problem: &msg})
	w.msgs = append(w.msgs, msg)
}

// inputDone writes the input's rows and counts it into resp.
func (w *rowWriter) inputDone(rep InputReport, resp *BatchResponse) {
	w.mu.Lock()
	defer w.mu.Unlock()
	rows := append(w.pending, batchRow{Input: newInputRow(rep)})
	for _, row := range rows {
		if w.err == nil {
			if err := w.enc.Encode(row); err != nil {
				w.err = fmt.Errorf("write results: %w", err)
			}
		}
	}
	resp.Done++
	resp.Totals.add(rep, len(w.msgs))
	if n := len(w.msgs); n > 0 {
		resp.Problems = append(resp.Problems, KeyProblems{Name: rep.Name, Problems: w.msgs[:min(n, keyProblemsShown)], More: max(0, n-keyProblemsShown)})
	}
	w.pending, w.msgs = nil, nil
}

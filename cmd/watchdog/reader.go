package main

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/iam-watchdog/iam-watchdog/pkg/cloudtrail"
	"github.com/iam-watchdog/iam-watchdog/pkg/notify"
	"github.com/iam-watchdog/iam-watchdog/pkg/watchdog"
)

// replayOptions shape a replay.
type replayOptions struct {
	jobs    int
	scope   scope
	details bool // print the full summary, not only its first line
	// sizes, when set, is walked a second time beside the reading to size the progress bar.
	sizes func(yield func(input, error) bool)
}

// Records per input that may wait for the pipeline: they are the few the pre-filter wants, so
// this bounds memory without slowing the workers.
const pendingRecords = 16

// A task is one input on its way: a worker reads it into out, which the pipeline drains in
// input order.
type task struct {
	in  input
	err error // from listing the inputs: nothing to read
	out chan item
}

// An item is one thing a worker found in an input: a wanted record, an error, or, last, what it
// read.
type item struct {
	rec     *cloudtrail.Record
	err     error
	openErr error
	read    *cloudtrail.ScanStats
}

// replayInputs reads inputs on o.jobs workers and runs the records they yield through the
// pipeline in input order, so that the output is the same for any number of jobs. Each worker
// skims its input with a cloudtrail.Scanner whose pre-filter is the detector's own (Wants) and
// the scope: only the records a rule could report are decoded.
//
// Memory is bounded by the job count, not by the archive: at most o.jobs inputs are read at a
// time, at most o.jobs more wait, each with at most pendingRecords records, and each worker
// holds one line (one log file) at a time.
func replayInputs(ctx context.Context, p *watchdog.Pipeline, inputs func(func(input, error) bool), out notify.Sink, stderr io.Writer, o replayOptions) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := max(1, o.jobs)
	want := func(rec *cloudtrail.Record) bool { return o.scope.keeps(rec) && p.Detector.Wants(rec) }

	tasks := make(chan *task, jobs)
	order := make(chan *task, jobs)
	go func() {
		defer close(order)
		defer close(tasks)
		for in, err := range inputs {
			t := &task{in: in, err: err, out: make(chan item, pendingRecords)}
			select {
			case order <- t:
			case <-ctx.Done():
				return
			}
			if err != nil {
				close(t.out)
				continue
			}
			select {
			case tasks <- t:
			case <-ctx.Done():
				close(t.out)
				return
			}
		}
	}()

	scanners := make([]*cloudtrail.Scanner, jobs)
	var wg sync.WaitGroup
	for w := range scanners {
		sc := &cloudtrail.Scanner{Want: want}
		scanners[w] = sc
		wg.Go(func() {
			for t := range tasks {
				readTask(ctx, sc, t)
			}
		})
	}
	defer func() {
		cancel() // a worker waiting to hand over a record gives up
		wg.Wait()
	}()

	s := newSummary(jobs)
	bar := newProgress(stderr, "", 0)
	stop := func() {}
	if bar.active() {
		stop = sync.OnceFunc(watchProgress(ctx, bar, s, scanners, o.sizes))
		defer stop()
	}
	for t := range order {
		if err := s.take(ctx, p, t, out, stderr); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	stop()
	bar.finish()
	s.print(stderr, o.details)
	if s.unreadable > 0 || s.failed > 0 {
		return errSomeInputs
	}
	return nil
}

// readTask reads one input into t.out and closes it.
func readTask(ctx context.Context, sc *cloudtrail.Scanner, t *task) {
	defer close(t.out)
	send := func(it item) bool {
		select {
		case t.out <- it:
			return true
		case <-ctx.Done():
			return false
		}
	}
	rc, err := t.in.open()
	if err != nil {
		send(item{openErr: err})
		return
	}
	defer rc.Close()
	before := sc.Stats()
	for rec, err := range sc.Records(t.in.name, rc) {
		if !send(item{rec: rec, err: err}) {
			return
		}
	}
	after := sc.Stats()
	send(item{read: &cloudtrail.ScanStats{Records: after.Records - before.Records, Decoded: after.Decoded - before.Decoded,
		Input: after.Input - before.Input, Bytes: after.Bytes - before.Bytes}})
}

// take runs one input's records through the pipeline and counts what came of it.
func (s *summary) take(ctx context.Context, p *watchdog.Pipeline, t *task, out notify.Sink, stderr io.Writer) error {
	if t.err != nil {
		s.unreadableInput(t.in.name)
		fmt.Fprintf(stderr, "watchdog: %v\n", t.err)
		return nil
	}
	s.inputs++
	bad := false
	for it := range t.out {
		switch {
		case it.openErr != nil:
			bad = true
			fmt.Fprintf(stderr, "watchdog: %v\n", it.openErr)
		case it.err != nil:
			bad = true
			fmt.Fprintf(stderr, "watchdog: %v\n", it.err)
		case it.read != nil:
			s.add(*it.read)
		default:
			results, err := p.Handle(ctx, it.rec)
			if err != nil {
				s.failed++
				fmt.Fprintf(stderr, "watchdog: %s: %v\n", it.rec.Pos, err)
			}
			for _, r := range results {
				if !r.Alerted && !r.Duplicate {
					continue
				}
				s.finding(r.Finding)
				if _, err := out.Notify(ctx, r.Alert); err != nil {
					return fmt.Errorf("write output: %w", err)
				}
			}
		}
	}
	s.done.Add(1)
	if bad {
		s.unreadableInput(t.in.name)
	}
	return nil
}

// watchProgress draws the bar until stop is called: inputs done, records, MB/s of JSON, and an
// ETA over the stored bytes of every input (sized by walking the inputs a second time).
func watchProgress(ctx context.Context, bar *progress, s *summary, scanners []*cloudtrail.Scanner, sizes func(func(input, error) bool)) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var total, files atomic.Int64
	var sized atomic.Bool
	if sizes != nil {
		go func() {
			for in, err := range sizes {
				if ctx.Err() != nil {
					return
				}
				if err == nil {
					files.Add(1)
					total.Add(in.size)
				}
			}
			sized.Store(true)
		}()
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			var st cloudtrail.ScanStats
			for _, sc := range scanners {
				x := sc.Stats()
				st.Records, st.Input, st.Bytes = st.Records+x.Records, st.Input+x.Input, st.Bytes+x.Bytes
			}
			bar.grow(max(total.Load(), st.Input+1))
			bar.set(st.Input)
			of := "?"
			if sized.Load() {
				of = fmt.Sprint(files.Load())
			}
			secs := time.Since(s.began).Seconds()
			bar.describe(fmt.Sprintf("%d/%s inputs, %d records, %.0f MB/s", s.done.Load(), of, st.Records, float64(st.Bytes)/1e6/secs))
		}
	}()
	return func() { cancel(); <-done }
}

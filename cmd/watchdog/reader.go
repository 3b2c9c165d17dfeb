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

// A task is one input on its way: a worker reads it into batches, which the pipeline drains
// in input order.
type task struct {
	in      input
	err     error // from listing the inputs: nothing to read
	batches chan []item
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
// time, at most a few per job more wait, each with at most pendingRecords records, and each
// worker holds one line (one log file) at a time.
//
// A worker hands over what it found in batches, most inputs in one, because each hand-over
// can wake a sleeping thread: per record, the wake-ups cost more than the records. With one
// job there are no hand-overs at all: inputs are read and handled on the caller's goroutine.
func replayInputs(ctx context.Context, p *watchdog.Pipeline, inputs func(func(input, error) bool), out notify.Sink, stderr io.Writer, o replayOptions) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := max(1, o.jobs)
	want := func(rec *cloudtrail.Record) bool { return o.scope.keeps(rec) && p.Detector.Wants(rec) }
	scanners := make([]*cloudtrail.Scanner, jobs)
	for w := range scanners {
		scanners[w] = &cloudtrail.Scanner{Want: want}
	}

	s := newSummary(jobs)
	bar := newProgress(stderr, "", 0)
	stop := func() {}
	if bar.active() {
		stop = sync.OnceFunc(watchProgress(ctx, bar, s, scanners, o.sizes))
		defer stop()
	}
	var err error
	if jobs == 1 {
		err = s.readInline(ctx, p, scanners[0], inputs, out, stderr)
	} else {
		err = s.readConcurrently(ctx, p, scanners, inputs, out, stderr)
	}
	if err != nil {
		return err
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

// readInline reads and handles the inputs one after the other on this goroutine.
func (s *summary) readInline(ctx context.Context, p *watchdog.Pipeline, sc *cloudtrail.Scanner, inputs func(func(input, error) bool), out notify.Sink, stderr io.Writer) error {
	for in, err := range inputs {
		if err != nil {
			s.listErr(in, err, stderr)
			continue
		}
		var handleErr error
		bad := false
		readInput(sc, in, func(it item) bool {
			bad = bad || it.openErr != nil || it.err != nil
			handleErr = s.take(ctx, p, it, out, stderr)
			return handleErr == nil && ctx.Err() == nil
		})
		if handleErr != nil {
			return handleErr
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		s.inputDone(in, bad)
	}
	return nil
}

// readConcurrently reads the inputs on one worker per scanner and handles what they found in
// input order on this goroutine.
func (s *summary) readConcurrently(ctx context.Context, p *watchdog.Pipeline, scanners []*cloudtrail.Scanner, inputs func(func(input, error) bool), out notify.Sink, stderr io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	jobs := len(scanners)
	tasks := make(chan *task, jobs)
	order := make(chan *task, 4*jobs)
	go func() {
		defer close(order)
		defer close(tasks)
		for in, err := range inputs {
			t := &task{in: in, err: err, batches: make(chan []item, 1)}
			select {
			case order <- t:
			case <-ctx.Done():
				return
			}
			if err != nil {
				close(t.batches)
				continue
			}
			select {
			case tasks <- t:
			case <-ctx.Done():
				close(t.batches)
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for _, sc := range scanners {
		wg.Go(func() {
			for t := range tasks {
				readTask(ctx, sc, t)
			}
		})
	}
	defer func() {
		cancel() // a worker waiting to hand over a batch gives up
		wg.Wait()
	}()

	for t := range order {
		if t.err != nil {
			s.listErr(t.in, t.err, stderr)
			continue
		}
		bad := false
		for batch := range t.batches {
			for _, it := range batch {
				bad = bad || it.openErr != nil || it.err != nil
				if err := s.take(ctx, p, it, out, stderr); err != nil {
					return err
				}
			}
		}
		s.inputDone(t.in, bad)
	}
	return nil
}

// readTask reads one input into t.batches, pendingRecords items at most to a batch, and closes
// it.
func readTask(ctx context.Context, sc *cloudtrail.Scanner, t *task) {
	defer close(t.batches)
	var batch []item
	send := func() bool {
		select {
		case t.batches <- batch:
			batch = nil
			return true
		case <-ctx.Done():
			return false
		}
	}
	readInput(sc, t.in, func(it item) bool {
		batch = append(batch, it)
		return len(batch) < pendingRecords || send()
	})
	if len(batch) > 0 {
		send()
	}
}

// readInput reads one input with sc and calls emit with each wanted record and error, and
// last with what it read, until emit returns false.
func readInput(sc *cloudtrail.Scanner, in input, emit func(item) bool) {
	rc, err := in.open()
	if err != nil {
		emit(item{openErr: err})
		return
	}
	defer rc.Close()
	before := sc.Stats()
	for rec, err := range sc.Records(in.name, rc) {
		if !emit(item{rec: rec, err: err}) {
			return
		}
	}
	after := sc.Stats()
	emit(item{read: &cloudtrail.ScanStats{Records: after.Records - before.Records, Decoded: after.Decoded - before.Decoded,
		Input: after.Input - before.Input, Bytes: after.Bytes - before.Bytes}})
}

// listErr counts an input that could not even be listed.
func (s *summary) listErr(in input, err error, stderr io.Writer) {
	s.unreadableInput(in.name)
	fmt.Fprintf(stderr, "watchdog: %v\n", err)
}

// inputDone counts an input read to its end, unreadable in part when bad.
func (s *summary) inputDone(in input, bad bool) {
	s.inputs++
	s.done.Add(1)
	if bad {
		s.unreadableInput(in.name)
	}
}

// take runs one thing found in an input through the pipeline and counts what came of it.
func (s *summary) take(ctx context.Context, p *watchdog.Pipeline, it item, out notify.Sink, stderr io.Writer) error {
	switch {
	case it.openErr != nil:
		fmt.Fprintf(stderr, "watchdog: %v\n", it.openErr)
	case it.err != nil:
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

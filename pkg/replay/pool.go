// Package replay runs archived CloudTrail through the pipeline: the inputs of any number of
// sources (files, directories, standard input, S3 prefixes), pruned by their place in
// CloudTrail's layout and by a scope, read on a pool of workers that skim each record and decode
// only those the rules could want, and handled in input order, so that the output is the same
// for any number of workers. `watchdog replay` and `watchdog demo` run it; another program can.
package replay

import (
	"context"
	"fmt"
	"iter"
	"sync"
	"sync/atomic"
	"time"

	"github.com/iam-watchdog/iam-watchdog/pkg/cloudtrail"
	"github.com/iam-watchdog/iam-watchdog/pkg/notify"
	"github.com/iam-watchdog/iam-watchdog/pkg/watchdog"
)

// Options shape a replay.
type Options struct {
	// Pipeline handles each record. Its Sink is not used: what it alerted on goes to Output.
	Pipeline *watchdog.Pipeline
	// Output gets every finding the pipeline alerted on, or had alerted on before (a duplicate),
	// in input order.
	Output notify.Sink
	// Sources are read in order.
	Sources []Source
	// Jobs is how many inputs are read at once; below 2, they are read one after the other on
	// the caller's goroutine.
	Jobs int
	// Scope is what is let through; the zero Scope lets everything through.
	Scope Scope
	// Problems is told of each input that could not be listed, opened or read, each record that
	// could not be read, and each record the pipeline failed on, as they come in input order;
	// the replay goes on. Nil ignores them (they are counted all the same).
	Problems func(error)
	// Progress, when set, is called about five times a second while the replay runs, from
	// another goroutine; the sources are then listed a second time, for the sizes of their
	// inputs.
	Progress func(Progress)
	// InputDone, when set, is told of each input read to its end (in part, for the unreadable
	// ones), in input order, after its findings went to Output and its problems to Problems:
	// a batch on Lambda (RunBatch) reports each input's share of the summary with it.
	InputDone func(InputReport)
}

// InputReport is what one input added to a replay's summary.
type InputReport struct {
	Name string
	// Read is what was read of it; Findings went to Output, and the pipeline failed on Failed
	// of its records.
	Read             cloudtrail.ScanStats
	Findings, Failed int
	// Unreadable says that it could not be opened or read in full.
	Unreadable bool
}

// Progress is how far a replay got.
type Progress struct {
	// Done inputs were read to their end.
	Done int64
	// Inputs were found by the second listing so far, Total bytes as stored between them;
	// Counted says the listing is over.
	Inputs, Total int64
	Counted       bool
	// Read is what the workers read so far.
	Read    cloudtrail.ScanStats
	Elapsed time.Duration
	// Notes say how the inputs that report it (Input.Note: Event history's look-ups) are going.
	Notes []string
}

// Records per input that may wait for the pipeline: they are the few the pre-filter wants, so
// this bounds memory without slowing the workers.
const pendingRecords = 16

// A task is one input on its way: a worker reads it into batches, which the pipeline drains
// in input order.
type task struct {
	in      Input
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

// Run reads the inputs of o.Sources on o.Jobs workers and runs the records they yield through
// the pipeline in input order, so that the output is the same for any number of jobs. Each
// worker skims its input with a cloudtrail.Scanner whose pre-filter is the detector's own
// (Wants) and the scope: only the records a rule could report are decoded.
//
// Memory is bounded by the job count, not by the archive: at most o.Jobs inputs are read at a
// time, at most a few per job more wait, each with at most pendingRecords records, and each
// worker holds one line (one log file) at a time.
//
// A worker hands over what it found in batches, most inputs in one, because each hand-over
// can wake a sleeping thread: per record, the wake-ups cost more than the records. With one
// job there are no hand-overs at all: inputs are read and handled on the caller's goroutine.
//
// Run returns an error when it had to stop: the context ended, or Output failed. Inputs it
// could not read do not stop it: they are told to o.Problems and counted in the Summary
// (Summary.Err).
func Run(ctx context.Context, o Options) (*Summary, error) {
	given := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := max(1, o.Jobs)
	p := o.Pipeline
	want := func(rec *cloudtrail.Record) bool { return o.Scope.Keeps(rec) && p.Detector.Wants(rec) }
	scanners := make([]*cloudtrail.Scanner, jobs)
	for w := range scanners {
		scanners[w] = &cloudtrail.Scanner{Want: want}
	}
	r := &run{Summary: newSummary(jobs), o: o, began: time.Now(), given: given}
	if r.o.Problems == nil {
		r.o.Problems = func(error) {}
	}
	stop := func() {}
	if o.Progress != nil {
		stop = sync.OnceFunc(r.watchProgress(ctx, scanners))
		defer stop()
	}
	inputs := listAll(ctx, o.Sources, o.Scope, false)
	var err error
	if jobs == 1 {
		err = r.readInline(ctx, scanners[0], inputs)
	} else {
		err = r.readConcurrently(ctx, scanners, inputs)
	}
	if err == nil {
		err = r.stopped()
	}
	stop()
	r.Took = time.Since(r.began)
	return r.Summary, err
}

// run is one replay on its way: what it counted, and what it was asked.
type run struct {
	*Summary
	o     Options
	began time.Time
	given context.Context // Run's ctx: stopped asks it
	done  atomic.Int64    // inputs finished, for the progress
	input InputReport     // what the input being handled added so far, for InputDone
}

// stopped says whether the run was stopped from outside: Run's ctx ended (a batch's Stop). It
// asks Run's own ctx, never one derived from it: a deadline sets its context's Err and then
// cancels the contexts derived from it one by one, so a read cancelled by one of them
// (prefetch.go's GETs derive from the same ctx as Run) can fail while a derived context still
// reads as live; asked, it would have the cut-off read reported as a problem of its input, or
// the input counted done with only some of its records. The contexts Run derives end only with
// it or when its ctx ends, so its ctx says all they would.
func (r *run) stopped() error { return r.given.Err() }

// listAll yields the inputs of every source in order.
func listAll(ctx context.Context, sources []Source, sc Scope, sized bool) iter.Seq2[Input, error] {
	return func(yield func(Input, error) bool) {
		for _, src := range sources {
			for in, err := range src.Inputs(ctx, sc, sized) {
				if !yield(in, err) {
					return
				}
			}
		}
	}
}

// readInline reads and handles the inputs one after the other on this goroutine.
func (r *run) readInline(ctx context.Context, sc *cloudtrail.Scanner, inputs iter.Seq2[Input, error]) error {
	for in, err := range inputs {
		if err != nil {
			if cerr := r.stopped(); cerr != nil {
				return cerr // stopped (a batch's Stop): the input is left unread, not unreadable
			}
			r.listErr(in, err)
			continue
		}
		var handleErr error
		unopened := false
		readInput(ctx, sc, in, func(it item) bool {
			unopened = unopened || it.openErr != nil
			handleErr = r.take(ctx, it)
			return handleErr == nil && r.stopped() == nil
		})
		if handleErr != nil {
			return handleErr
		}
		if err := r.stopped(); err != nil {
			return err
		}
		r.inputDone(in, unopened)
	}
	return nil
}

// readConcurrently reads the inputs on one worker per scanner and handles what they found in
// input order on this goroutine.
func (r *run) readConcurrently(ctx context.Context, scanners []*cloudtrail.Scanner, inputs iter.Seq2[Input, error]) error {
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
			if err := r.stopped(); err != nil {
				return err // stopped (a batch's Stop): the input is left unread, not unreadable
			}
			r.listErr(t.in, t.err)
			continue
		}
		unopened := false
		for batch := range t.batches {
			for _, it := range batch {
				unopened = unopened || it.openErr != nil
				if err := r.take(ctx, it); err != nil {
					return err
				}
			}
		}
		if err := r.stopped(); err != nil {
			return err // its worker may have stopped short: the input is not done
		}
		r.inputDone(t.in, unopened)
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
	readInput(ctx, sc, t.in, func(it item) bool {
		batch = append(batch, it)
		return len(batch) < pendingRecords || send()
	})
	if len(batch) > 0 {
		send()
	}
}

// readInput reads one input with sc and calls emit with each wanted record and error, and
// last with what it read, until emit returns false. An input of decoded records (Input.Records)
// is counted as a Scanner counts what it reads, and filtered by sc.Want as a Scanner filters.
func readInput(ctx context.Context, sc *cloudtrail.Scanner, in Input, emit func(item) bool) {
	if in.Records != nil {
		var st cloudtrail.ScanStats
		for rec, err := range in.Records(ctx) {
			var it item
			switch {
			case err != nil && !cloudtrail.IsRecordError(err):
				st.InputErrors++
				it.err = err
			case err != nil:
				st.RecordErrors++
				it.err = err
			default:
				st.Records++
				st.Decoded++
				if sc.Want != nil && !sc.Want(rec) {
					continue
				}
				st.Yielded++
				it.rec = rec
			}
			if !emit(it) {
				return
			}
		}
		emit(item{read: &st})
		return
	}
	rc, err := in.Open()
	if err != nil {
		emit(item{openErr: err})
		return
	}
	defer rc.Close()
	before := sc.Stats()
	for rec, err := range sc.Records(in.Name, rc) {
		if !emit(item{rec: rec, err: err}) {
			return
		}
	}
	read := sc.Stats().Sub(before)
	emit(item{read: &read})
}

// listErr counts an input that could not even be listed (a missing path): an input, unreadable;
// or a directory with no log files, said and counted apart (Summary.listed).
func (r *run) listErr(in Input, err error) {
	r.listed(in.Name, err)
	r.o.Problems(err)
}

// inputDone counts an input read to its end: unreadable when it could not be opened or read
// as a whole (an error of ScopeInput), read with errors when only some of its records were bad.
func (r *run) inputDone(in Input, unopened bool) {
	rep := r.input
	rep.Name, rep.Unreadable = in.Name, unopened || rep.Read.InputErrors > 0
	r.inputRead(rep)
	r.done.Add(1)
	if r.o.InputDone != nil {
		r.o.InputDone(rep)
	}
	r.input = InputReport{}
}

// take runs one thing found in an input through the pipeline and counts what came of it.
func (r *run) take(ctx context.Context, it item) error {
	switch {
	case (it.openErr != nil || it.err != nil) && r.stopped() != nil:
		// The read was cut off by the end of ctx (a batch's Stop): the input is not done, and
		// is left to be read again rather than reported unreadable.
	case it.openErr != nil:
		r.o.Problems(it.openErr)
	case it.err != nil:
		r.o.Problems(it.err)
	case it.read != nil:
		r.input.Read = *it.read
	default:
		results, err := r.o.Pipeline.Handle(ctx, it.rec)
		if err != nil {
			r.input.Failed++
			r.o.Problems(fmt.Errorf("%s: %w", it.rec.Pos, err))
		}
		for _, res := range results {
			if !res.Alerted && !res.Duplicate {
				continue
			}
			r.finding(res.Finding, res.Remediation)
			r.input.Findings++
			if _, err := r.o.Output.Notify(ctx, res.Alert); err != nil {
				return fmt.Errorf("write output: %w", err)
			}
		}
	}
	return nil
}

// watchProgress reports the progress to o.Progress until stop is called: inputs done, what the
// workers read, and the inputs and bytes as stored that a second listing of the sources found.
func (r *run) watchProgress(ctx context.Context, scanners []*cloudtrail.Scanner) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var total, files atomic.Int64
	var sized atomic.Bool
	var mu sync.Mutex
	var notes []func() string
	go func() {
		for in, err := range listAll(ctx, r.o.Sources, r.o.Scope, true) {
			if ctx.Err() != nil {
				return
			}
			if err == nil {
				files.Add(1)
				total.Add(in.Size)
			}
			if in.Note != nil {
				mu.Lock()
				notes = append(notes, in.Note)
				mu.Unlock()
			}
		}
		sized.Store(true)
	}()
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
				st.Records, st.Decoded, st.Input, st.Bytes = st.Records+x.Records, st.Decoded+x.Decoded, st.Input+x.Input, st.Bytes+x.Bytes
			}
			var said []string
			mu.Lock()
			for _, note := range notes {
				if n := note(); n != "" {
					said = append(said, n)
				}
			}
			mu.Unlock()
			r.o.Progress(Progress{Done: r.done.Load(), Inputs: files.Load(), Total: total.Load(), Counted: sized.Load(),
				Read: st, Elapsed: time.Since(r.began), Notes: said})
		}
	}()
	return func() { cancel(); <-done }
}

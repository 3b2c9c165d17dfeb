// Package fanout runs a replay of S3 archives on AWS Lambda: `watchdog replay --lambda`. It lists
// the keys a local replay would read (pkg/replay's S3 listing, with its key-path pruning),
// cuts them into batches of consecutive keys of about equal stored bytes, invokes the replay
// function (functions/replay) on each with bounded concurrency, and merges the rows each batch
// wrote to S3 in the order of the batches: the output, its order and the summary are those a
// local replay of the same objects gives.
//
// Nothing is lost: a batch that fails is retried; one that ran out of time or memory, or whose
// function stopped short of its end, is split and its keys sent again in smaller batches; a
// batch that still fails has each of its keys reported unread, with the reason, and the
// replay's summary counts them, so that it ends with replay.ErrSomeInputs.
package fanout

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/iam-watchdog/iam-watchdog/internal/sleep"
	"github.com/iam-watchdog/iam-watchdog/pkg/notify"
	"github.com/iam-watchdog/iam-watchdog/pkg/policy"
	"github.com/iam-watchdog/iam-watchdog/pkg/replay"
)

// Options shape a fan-out.
type Options struct {
	// Function is the replay function's name or ARN.
	Function string
	Lambda   LambdaAPI
	// S3 lists the archive and reads the batches' rows back.
	S3 replay.S3API
	// Sources are s3://bucket/prefix URLs, replayed in order.
	Sources []string
	Scope   replay.Scope
	// Config is sent to the function with every batch; the function lowers its modes to
	// dry-run at most.
	Config policy.Config
	// Results is the s3://bucket/prefix under which each run writes its rows, in a folder
	// named by RunID.
	Results string
	// RunID names the run's folder; empty, one is made from the time and a random suffix.
	RunID string
	// Concurrency is how many batches run at once; BatchBytes how many bytes, as stored, a
	// batch is cut at.
	Concurrency int
	BatchBytes  int64
	// Attempts is how many times a batch is invoked before its keys are reported unread.
	Attempts int
	// Backoff spaces out a batch's retries; the zero Backoff waits 1 s doubling to 30 s.
	Backoff sleep.Backoff
	Output  notify.Sink
	// Problems is told of each problem, as replay.Options.Problems.
	Problems func(error)
	// Progress, when set, is told how far the run got after each batch's answer.
	Progress func(Progress)
}

// Defaults.
const (
	DefaultBatchBytes = 256 << 20
	DefaultAttempts   = 3
)

// Progress is how far a fan-out got.
type Progress struct {
	// Batches were planned so far (Listed: the listing is over), Done answered and merged or
	// waiting to be, Failed given up on.
	Batches, Done, Failed int
	Listed                bool
	// Planned bytes as stored were listed so far, Read of them replayed.
	Planned, Read int64
	// Lambda is the Lambda time spent so far.
	Lambda  time.Duration
	Elapsed time.Duration
}

// Report is what a fan-out did, beside the replay's summary.
type Report struct {
	Summary *replay.Summary
	// Results is the folder the batches wrote their rows under.
	Results string
	// Batches were planned; Invocations made; Retried batches sent again whole, Split cut in
	// smaller ones, Failed given up on.
	Batches, Invocations, Retried, Split, Failed int
	// Lambda is the Lambda time spent, over every invocation; Billed of them reported their
	// billed duration, Unmeasured reported none (those that failed without an answer, when
	// Lambda sent no log tail).
	Lambda             time.Duration
	Billed, Unmeasured int
	Concurrency        int
}

// Run fans the replay out and merges it. It returns an error when it had to stop: ctx ended,
// the output failed, or the options are wrong. Inputs it could not read do not stop it: they
// are told to o.Problems and counted (Report.Summary.Err).
func Run(ctx context.Context, o Options) (*Report, error) {
	if o.Concurrency < 1 || o.BatchBytes < 1 {
		return nil, fmt.Errorf("fan-out: concurrency %d and batch bytes %d must be at least 1", o.Concurrency, o.BatchBytes)
	}
	results, err := resultsPrefix(o.Results)
	if err != nil {
		return nil, err
	}
	if o.RunID == "" {
		o.RunID = newRunID(time.Now())
	}
	if o.Attempts < 1 {
		o.Attempts = DefaultAttempts
	}
	if o.Backoff == (sleep.Backoff{}) {
		o.Backoff = sleep.Backoff{Base: time.Second, Max: 30 * time.Second}
	}
	tmp, err := os.MkdirTemp("", "watchdog-fanout-")
	if err != nil {
		return nil, fmt.Errorf("fan-out: %w", err)
	}
	defer os.RemoveAll(tmp)
	r := &runner{o: o, tmp: tmp, backoff: o.Backoff, results: results + o.RunID + "/", began: time.Now(),
		merger: replay.NewMerger(o.Output, o.Problems, o.Concurrency)}
	r.report = Report{Summary: r.merger.Summary, Results: r.results, Concurrency: o.Concurrency}
	err = r.run(ctx)
	r.report.Summary.Took = time.Since(r.began)
	return &r.report, err
}

// Check checks what a caller chose before anything is called: every source an s3:// URL, the
// results an s3:// prefix, a concurrency of 0 (to be chosen: DefaultConcurrency) or more.
func (o Options) Check() error {
	for _, s := range o.Sources {
		if !strings.HasPrefix(s, "s3://") {
			return fmt.Errorf("reads s3:// archives only, not %q", s)
		}
	}
	if o.Concurrency < 0 {
		return fmt.Errorf("concurrency %d: want at least 1", o.Concurrency)
	}
	_, err := resultsPrefix(o.Results)
	return err
}

// resultsPrefix checks --results and returns it ending in "/" (or the bare bucket's "s3://b/").
func resultsPrefix(u string) (string, error) {
	rest, ok := strings.CutPrefix(u, "s3://")
	bucket, _, _ := strings.Cut(rest, "/")
	if !ok || bucket == "" {
		return "", fmt.Errorf("results %q is not s3://bucket/prefix", u)
	}
	if !strings.HasSuffix(u, "/") {
		u += "/"
	}
	return u, nil
}

// newRunID names a run by its start, in UTC, and a random suffix: runs sort by time and two
// started in the same second do not share a folder.
func newRunID(now time.Time) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

// runner is one fan-out on its way. Only run's goroutine touches the batches; invocations run
// on their own and send their outcomes back.
type runner struct {
	o       Options
	tmp     string
	backoff sleep.Backoff
	results string
	began   time.Time
	merger  *replay.Merger
	report  Report

	head, tail *batch // the batches not merged yet, in merge order
	planned    int    // top-level batches planned
	merged     int    // the planned place of the last top-level batch merged
	listed     bool
	progress   Progress
}

func (r *runner) resultsURL(b *batch) string { return r.results + b.id + ".jsonl" }

// window bounds how far, in top-level batches, invocations may run ahead of the merge: the
// rows of batches answered early wait in files until the batches before them are merged.
func (r *runner) window() int { return 4*r.o.Concurrency + 4 }

func (r *runner) run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sources := make([]replay.Source, len(r.o.Sources))
	for i, u := range r.o.Sources {
		sources[i] = replay.S3Prefix{URL: u, Client: func(context.Context) (replay.S3API, error) { return r.o.S3, nil }}
	}
	plans := make(chan *batch)
	go plan(ctx, sources, r.o.Scope, r.o.BatchBytes, plans)
	outcomes := make(chan outcome, r.o.Concurrency)
	var queue []*batch // batches to (re)invoke before taking new ones: they come first in merge order
	inflight := 0
	defer func() {
		cancel()
		for range inflight {
			if o := <-outcomes; o.rows != "" {
				os.Remove(o.rows)
			}
		}
	}()
	for {
		if err := r.merge(ctx); err != nil {
			return err
		}
		r.tell()
		for inflight < r.o.Concurrency && len(queue) > 0 {
			b := queue[0]
			queue = queue[1:]
			b.state = running
			inflight++
			r.report.Invocations++
			go func() { outcomes <- r.invoke(ctx, b) }()
		}
		if r.listed && inflight == 0 && len(queue) == 0 {
			return r.merge(ctx) // everything answered or given up on: merged in full
		}
		var next <-chan *batch
		if !r.listed && inflight < r.o.Concurrency && r.planned-r.merged < r.window() {
			next = plans
		}
		select {
		case b, ok := <-next:
			if !ok {
				r.listed = true
				r.progress.Listed = true
				continue
			}
			r.append(b)
			if b.listErr != nil {
				b.state = done
				continue
			}
			r.progress.Planned += b.bytes()
			queue = append(queue, b)
		case o := <-outcomes:
			inflight--
			queue = r.take(o, queue)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// append adds a newly planned batch at the end of the merge order.
func (r *runner) append(b *batch) {
	r.planned++
	r.report.Batches++
	r.progress.Batches++
	if r.tail == nil {
		r.head, r.tail = b, b
	} else {
		r.tail.next, r.tail = b, b
	}
}

// insertAfter puts batches after b in the merge order.
func (r *runner) insertAfter(b *batch, bs ...*batch) {
	for i := len(bs) - 1; i >= 0; i-- {
		bs[i].next, b.next = b.next, bs[i]
	}
	if r.tail == b {
		for r.tail.next != nil {
			r.tail = r.tail.next
		}
	}
}

// take records what became of an invocation and returns the queue with what is to be invoked
// again. Batches to retry or carrying keys on go first, since they come first in merge order.
func (r *runner) take(o outcome, queue []*batch) []*batch {
	b := o.b
	b.lambdaMS += o.lambdaMS
	r.report.Lambda += time.Duration(o.lambdaMS) * time.Millisecond
	switch {
	case o.billed:
		r.report.Billed++
	case o.lambdaMS == 0:
		r.report.Unmeasured++
	}
	r.progress.Lambda = r.report.Lambda
	retry := func(err error) []*batch {
		b.attempts++
		b.lastErr = err
		if b.attempts >= r.o.Attempts {
			b.state = failed
			r.report.Failed++
			r.progress.Failed++
			return queue
		}
		b.state = waiting
		r.report.Retried++
		return append([]*batch{b}, queue...)
	}
	// split carries keys[from:] on in two batches (one, for one key), placed after b.
	split := func(from int, err error) []*batch {
		n := len(b.keys) - from
		var parts []*batch
		if n == 1 {
			parts = []*batch{b.child(from, from+1)}
		} else {
			mid := from + n/2
			parts = []*batch{b.child(from, mid), b.child(mid, len(b.keys))}
		}
		for _, p := range parts {
			p.lastErr = err
		}
		r.insertAfter(b, parts...)
		r.report.Split++
		return append(parts, queue...)
	}
	switch o.kind {
	case refused:
		b.attempts++
		b.lastErr = o.err
		b.state = failed
		r.report.Failed++
		r.progress.Failed++
		return queue
	case failedOnce:
		return retry(o.err)
	case tooBig:
		if len(b.keys) == 1 {
			return retry(o.err)
		}
		b.state = replaced
		return split(0, o.err)
	}
	// answered: the done keys are this batch's; the rest are carried on by smaller batches,
	// since its function ran short of time.
	b.rows, b.resp = o.rows, o.resp
	read := o.resp.Done
	if read == 0 {
		os.Remove(b.rows)
		b.rows, b.resp = "", nil
		if len(b.keys) == 1 {
			return retry(errNoTime)
		}
		b.state = replaced
		return split(0, errNoTime)
	}
	if read < len(b.keys) {
		queue = split(read, errNoTime)
	}
	b.keys, b.sizes = b.keys[:read], b.sizes[:read]
	b.state = done
	r.progress.Done++
	r.progress.Read += b.bytes()
	return queue
}

// merge merges the batches at the head of the merge order that are answered or given up on.
func (r *runner) merge(ctx context.Context) error {
	for b := r.head; b != nil; b = r.head {
		switch b.state {
		case waiting, running:
			return nil
		case replaced:
		case failed:
			why := fmt.Errorf("batch %s failed after %d attempts: %w", b.id, b.attempts, b.lastErr)
			for _, name := range b.names() {
				r.merger.Unread(name, fmt.Errorf("%s: not read: %w", name, why))
			}
		case done:
			if b.listErr != nil {
				r.merger.Unlisted(b.listed, b.listErr)
				break
			}
			if err := r.mergeRows(ctx, b); err != nil {
				return err
			}
		}
		r.head = b.next
		if r.head == nil {
			r.tail = nil
		}
		if b.next == nil || b.next.plannedAt != b.plannedAt {
			r.merged = b.plannedAt
		}
	}
	return nil
}

func (r *runner) mergeRows(ctx context.Context, b *batch) error {
	f, err := os.Open(b.rows)
	if err != nil {
		return fmt.Errorf("merge batch %s: %w", b.id, err)
	}
	defer os.Remove(b.rows)
	defer f.Close()
	if err := r.merger.Rows(ctx, f); err != nil {
		return fmt.Errorf("merge batch %s: %w", b.id, err)
	}
	return nil
}

// tell reports the progress.
func (r *runner) tell() {
	if r.o.Progress == nil {
		return
	}
	p := r.progress
	p.Elapsed = time.Since(r.began)
	r.o.Progress(p)
}

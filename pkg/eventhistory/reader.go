package eventhistory

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"

	ct "github.com/iam-watchdog/iam-watchdog/pkg/cloudtrail"
)

// Retention is how far back Event history goes.
// Reference: https://docs.aws.amazon.com/awscloudtrail/latest/userguide/view-cloudtrail-events.html
const Retention = 90 * 24 * time.Hour

// PageSize is the MaxResults of every call, the most LookupEvents allows.
const PageSize = 50

// Defaults of Options.
const (
	DefaultConcurrency = 4
	DefaultMaxRetries  = 8
	DefaultBackoff     = time.Second
	// MaxBackoff caps the wait between two attempts of one call.
	MaxBackoff = 30 * time.Second
)

// Options shape a Reader. The zero value reads the last 90 days at DefaultRate.
type Options struct {
	// Since and Until bound the events read: Since ≤ eventTime < Until. A zero Until is now; a
	// zero Since is the start of Event history's 90 days, and an earlier one is moved there
	// (Window.Clipped says so).
	Since, Until time.Time
	// Rate is the calls a second allowed to this reader: DefaultRate when zero. Ignored when
	// Limiter is set.
	Rate float64
	// Limiter, when set, is shared with the other readers of the same account and region.
	Limiter *Limiter
	// Concurrency is how many look-ups are in flight at once (they share the limiter, so this
	// only overlaps the calls' latency): DefaultConcurrency when zero.
	Concurrency int
	// MaxRetries is how often one call is retried after throttling or a transient error:
	// DefaultMaxRetries when zero, none when negative. Each retry waits Backoff, doubled per
	// attempt up to MaxBackoff, with jitter, or until the context ends.
	MaxRetries int
	Backoff    time.Duration
	// Progress, when set, is called after each call (once its page is counted) and when a
	// look-up is done, never by two goroutines at once. It must not block for long: calls
	// wait for it.
	Progress func(Progress)
	// Now is the clock, time.Now when nil.
	Now func() time.Time
}

// Window is the time range a Reader reads.
type Window struct {
	Since, Until time.Time
	// Clipped is the Since asked for when it lay before Event history's 90 days, and Since was
	// moved to their start; zero otherwise.
	Clipped time.Time
}

// Stats count what a read did.
type Stats struct {
	Calls      int // LookupEvents calls made, retries included
	Throttled  int // calls answered ThrottlingException
	Retries    int // calls that were retries (after throttling or a transient error)
	Pages      int // pages read
	Events     int // events the pages held
	Kept       int // events decoded into records a planned rule watches, duplicates included
	Duplicates int // events already read under another look-up (a root CreateAccessKey), kept or bad
	Unwatched  int // events of a name or user no served rule watches (another service's CreatePolicy)
	OutOfRange int // events whose eventTime lies outside the window
	Bad        int // events that could not be read: each is an error yielded
}

// Progress is a reader's state, reported as it reads.
type Progress struct {
	Region string
	// Lookup is the look-up whose call just returned, or that just finished.
	Lookup      string
	LookupsDone int
	Lookups     int
	Stats
}

// Reader reads one region's Event history for a Plan.
type Reader struct {
	api     API
	region  string
	plan    *Plan
	opts    Options
	window  Window
	limiter *Limiter

	mu    sync.Mutex
	done  int // look-ups finished
	stats Stats
}

// NewReader returns a reader of region's Event history through api, a client for that region
// (NewClient). It refuses a plan without look-ups and a window Event history holds nothing of.
func NewReader(api API, region string, plan *Plan, o Options) (*Reader, error) {
	switch {
	case api == nil:
		return nil, errors.New("event history: no CloudTrail client")
	case region == "":
		return nil, errors.New("event history: no region")
	case plan == nil || len(plan.Lookups) == 0:
		return nil, errors.New("event history: no rule can be served from Event history, so there is nothing to look up")
	case o.Rate < 0, o.Concurrency < 0, o.Backoff < 0:
		return nil, fmt.Errorf("event history: negative rate (%v), concurrency (%d) or backoff (%s)", o.Rate, o.Concurrency, o.Backoff)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	o.Concurrency = cmp.Or(o.Concurrency, DefaultConcurrency)
	o.Backoff = cmp.Or(o.Backoff, DefaultBackoff)
	switch {
	case o.MaxRetries == 0:
		o.MaxRetries = DefaultMaxRetries
	case o.MaxRetries < 0:
		o.MaxRetries = 0
	}
	r := &Reader{api: api, region: region, plan: plan, opts: o, limiter: o.Limiter}
	if r.limiter == nil {
		l, err := NewLimiter(cmp.Or(o.Rate, DefaultRate))
		if err != nil {
			return nil, fmt.Errorf("event history: %w", err)
		}
		r.limiter = l
	}

	now := o.Now().UTC()
	w := Window{Since: o.Since, Until: o.Until}
	if w.Until.IsZero() || w.Until.After(now) {
		w.Until = now
	}
	if oldest := now.Add(-Retention); w.Since.Before(oldest) {
		if !w.Since.IsZero() {
			w.Clipped = w.Since
		}
		w.Since = oldest
	}
	if !w.Since.Before(w.Until) {
		return nil, fmt.Errorf("event history: nothing to read between %s and %s: Event history holds the 90 days from %s to now",
			cmp.Or(w.Clipped, w.Since).Format(time.RFC3339), w.Until.Format(time.RFC3339), now.Add(-Retention).Format(time.RFC3339))
	}
	r.window = w
	return r, nil
}

// Region is the region read.
func (r *Reader) Region() string { return r.region }

// Window is the time range read.
func (r *Reader) Window() Window { return r.window }

// Stats are the counts so far; final once Records has returned.
func (r *Reader) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stats
}

// Records runs the plan's look-ups and yields the records they find, oldest first (by
// eventTime, then eventID), each once however many look-ups found it. An event that cannot be
// read is yielded in its place as a *cloudtrail.Error whose Position names the region, the
// look-up and the event ID ("cloudtrail://us-east-1 EventName=CreateAccessKey event 0c5e…"),
// and the others are still read. A call that fails for good (after retries, or when ctx ends)
// stops the read: the records read until then are yielded, then that error, which is not a
// *cloudtrail.Error, last.
//
// The events are all read before the first is yielded, since LookupEvents returns them newest
// first: memory grows with the watched events of the window (a few KB each), not with the
// account's other events. Call Records once per Reader.
func (r *Reader) Records(ctx context.Context) iter.Seq2[*ct.Record, error] {
	return func(yield func(*ct.Record, error) bool) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		found := make([][]item, len(r.plan.Lookups))
		var fatal error
		var once sync.Once
		jobs := make(chan int)
		var wg sync.WaitGroup
		for range min(r.opts.Concurrency, len(r.plan.Lookups)) {
			wg.Go(func() {
				for i := range jobs {
					items, err := r.lookup(ctx, r.plan.Lookups[i])
					found[i] = items
					if err != nil {
						once.Do(func() { fatal = err; cancel() })
					}
				}
			})
		}
	feed:
		for i := range r.plan.Lookups {
			select {
			case jobs <- i:
			case <-ctx.Done():
				break feed
			}
		}
		close(jobs)
		wg.Wait()
		if fatal == nil && ctx.Err() != nil {
			fatal = fmt.Errorf("cloudtrail://%s: %w", r.region, ctx.Err())
		}

		for _, it := range r.merge(found) {
			if !yield(it.rec, it.err) {
				return
			}
		}
		if fatal != nil {
			yield(nil, fatal)
		}
	}
}

// lookup reads every page of one look-up, newest first as LookupEvents returns them.
func (r *Reader) lookup(ctx context.Context, l Lookup) ([]item, error) {
	start, end := r.window.Since, r.window.Until
	in := &cloudtrail.LookupEventsInput{
		LookupAttributes: []types.LookupAttribute{{AttributeKey: l.Attribute, AttributeValue: aws.String(l.Value)}},
		StartTime:        &start,
		EndTime:          &end, // inclusive: events at Until itself are dropped as out of range
		MaxResults:       aws.Int32(PageSize),
	}
	pages := cloudtrail.NewLookupEventsPaginator(&limited{r: r, lookup: l.String()}, in, func(o *cloudtrail.LookupEventsPaginatorOptions) {
		o.StopOnDuplicateToken = true
	})
	var items []item
	for pages.HasMorePages() {
		out, err := pages.NextPage(ctx)
		if err != nil {
			return items, fmt.Errorf("cloudtrail://%s %s: %w", r.region, l, err)
		}
		verdicts := make([]verdict, len(out.Events))
		for i, ev := range out.Events {
			var it item
			if it, verdicts[i] = r.decode(l, ev); verdicts[i] == kept || verdicts[i] == bad {
				items = append(items, it)
			}
		}
		r.mu.Lock()
		r.stats.Pages++
		r.stats.Events += len(out.Events)
		for _, v := range verdicts {
			switch v {
			case kept:
				r.stats.Kept++
			case bad:
				r.stats.Bad++
			case unwatched:
				r.stats.Unwatched++
			case outOfRange:
				r.stats.OutOfRange++
			}
		}
		r.report(l.String())
		r.mu.Unlock()
	}
	r.mu.Lock()
	r.done++
	r.report(l.String())
	r.mu.Unlock()
	return items, nil
}

// merge puts the look-ups' items in time order and drops the events already found by an
// earlier look-up of the plan, so that which copy is kept does not depend on timing.
func (r *Reader) merge(found [][]item) []item {
	seen := map[string]bool{}
	var all []item
	dups := 0
	for _, items := range found {
		for _, it := range items {
			if it.key != "" && seen[it.key] {
				dups++
				continue
			}
			seen[it.key] = true
			all = append(all, it)
		}
	}
	slices.SortStableFunc(all, func(a, b item) int {
		return cmp.Or(a.time.Compare(b.time), cmp.Compare(a.key, b.key))
	})
	r.mu.Lock()
	r.stats.Duplicates += dups
	r.mu.Unlock()
	return all
}

// report calls the progress hook. It holds r.mu.
func (r *Reader) report(lookup string) {
	if r.opts.Progress == nil {
		return
	}
	r.opts.Progress(Progress{Region: r.region, Lookup: lookup, LookupsDone: r.done, Lookups: len(r.plan.Lookups), Stats: r.stats})
}

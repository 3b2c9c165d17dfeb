package replay

import (
	"cmp"
	"context"
	"fmt"
	"iter"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/iam-watchdog/iam-watchdog/pkg/cloudtrail"
	"github.com/iam-watchdog/iam-watchdog/pkg/eventhistory"
)

// HistoryScheme starts a PATH that names a region's CloudTrail Event history.
const HistoryScheme = "cloudtrail://"

// regionName is the form of an AWS region name (us-east-1, us-gov-west-1, ap-southeast-5).
var regionName = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)

// History reads cloudtrail://REGION paths: the account's Event history of each region, through
// LookupEvents, with the look-ups Plan derives from the rules (pkg/eventhistory).
type History struct {
	Plan *eventhistory.Plan
	// Config gives the SDK configuration the clients are built from (credentials, and the
	// endpoint from AWS_ENDPOINT_URL); it may be called more than once.
	Config func(ctx context.Context) (aws.Config, error)
	// Rate is the LookupEvents calls a second per region: eventhistory.DefaultRate when zero.
	Rate float64
	// Notes, when set, is told what the reading leaves out: the rules Event history cannot serve,
	// the regions missing for the global services, a --since before its 90 days.
	Notes func(string)

	limiters map[string]*eventhistory.Limiter // by region
}

// historySource is one cloudtrail://REGION path. Both listings of a replay (the reading and the
// progress's) yield an input of the same state, so that the progress can tell how the reading
// goes.
type historySource struct {
	h       *History
	region  string
	limiter *eventhistory.Limiter
	state   *historyState
}

type historyState struct {
	mu   sync.Mutex
	note string
}

func (s *historyState) setNote(n string) {
	s.mu.Lock()
	s.note = n
	s.mu.Unlock()
}

func (s *historyState) getNote() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.note
}

// source is the source of one cloudtrail:// path, its region added to regions.
func (h *History) source(path string, regions *[]string) Source {
	region := strings.TrimPrefix(path, HistoryScheme)
	if !regionName.MatchString(region) {
		return failedSource{name: path, err: fmt.Errorf("%s: %q is not a region name (cloudtrail://REGION, e.g. cloudtrail://us-east-1)", path, region)}
	}
	*regions = append(*regions, region)
	// One limiter per region, shared when a region is named twice: the quota is the account's
	// and the region's, not the path's.
	if h.limiters == nil {
		h.limiters = map[string]*eventhistory.Limiter{}
	}
	l, ok := h.limiters[region]
	if !ok {
		var err error
		if l, err = eventhistory.NewLimiter(cmp.Or(h.Rate, eventhistory.DefaultRate)); err != nil {
			return failedSource{name: path, err: fmt.Errorf("%s: %w", path, err)}
		}
		h.limiters[region] = l
	}
	return historySource{h: h, region: region, limiter: l, state: &historyState{}}
}

// notes tells Notes, once for all the regions read, which rules are skipped and which global
// events the regions leave out.
func (h *History) notes(regions []string) {
	if h.Notes == nil || len(regions) == 0 {
		return
	}
	for _, s := range h.Plan.Skipped {
		h.Notes("Event history: skipped " + s.String())
	}
	for _, w := range h.Plan.RegionWarnings(regions) {
		h.Notes("Event history: " + w)
	}
}

// Inputs implements Source: one input, the region's history, read when it is opened. Event
// history has no account or region to prune by other than its own: under a scope of another
// region the path is an error, not a silent nothing.
func (s historySource) Inputs(_ context.Context, sc Scope, _ bool) iter.Seq2[Input, error] {
	return func(yield func(Input, error) bool) {
		if sc.Region != "" && sc.Region != s.region {
			yield(Input{Name: HistoryScheme + s.region}, fmt.Errorf("%s%s: outside --region %s, so nothing of it can be read", HistoryScheme, s.region, sc.Region))
			return
		}
		yield(Input{Name: HistoryScheme + s.region, Records: s.records(sc), Note: s.state.getNote}, nil)
	}
}

// records reads the region's history over sc's time range.
func (s historySource) records(sc Scope) func(context.Context) iter.Seq2[*cloudtrail.Record, error] {
	return func(ctx context.Context) iter.Seq2[*cloudtrail.Record, error] {
		return func(yield func(*cloudtrail.Record, error) bool) {
			name := HistoryScheme + s.region
			cfg, err := s.h.Config(ctx)
			if err != nil {
				yield(nil, fmt.Errorf("%s: %w", name, err))
				return
			}
			began := time.Now()
			r, err := eventhistory.NewReader(eventhistory.NewClient(cfg, s.region), s.region, s.h.Plan, eventhistory.Options{
				Since: sc.Since, Until: sc.Until, Limiter: s.limiter,
				Progress: func(p eventhistory.Progress) {
					s.state.setNote(fmt.Sprintf("%s: %d/%d look-ups, %d calls, %d events kept in %s",
						name, p.LookupsDone, p.Lookups, p.Calls, p.Kept, time.Since(began).Round(time.Second)))
				},
			})
			if err != nil {
				yield(nil, fmt.Errorf("%s: %w", name, err))
				return
			}
			if w := r.Window(); !w.Clipped.IsZero() && s.h.Notes != nil {
				s.h.Notes(fmt.Sprintf("%s: --since %s is before Event history's 90 days: reading from %s",
					name, w.Clipped.Format(time.RFC3339), w.Since.Format(time.RFC3339)))
			}
			for rec, err := range r.Records(ctx) {
				if !yield(rec, err) {
					return
				}
			}
			if s.h.Notes != nil {
				st := r.Stats()
				s.h.Notes(fmt.Sprintf("%s: %d look-ups, %d LookupEvents calls (%d throttled), %d events returned",
					name, len(s.h.Plan.Lookups), st.Calls, st.Throttled, st.Events))
			}
		}
	}
}

// failedSource is a PATH that names nothing replay can read: one unreadable input.
type failedSource struct {
	name string
	err  error
}

// Inputs implements Source.
func (f failedSource) Inputs(context.Context, Scope, bool) iter.Seq2[Input, error] {
	return func(yield func(Input, error) bool) { yield(Input{Name: f.name}, f.err) }
}

package alert

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"time"

	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/state"
)

// The digest: findings routed to it wait in the state table until their period ends, then one
// message per channel says what they were. Each channel's entries of a period are spread over
// DigestShards items (DigestKey), each grouping its findings by category and caller with counts
// and the first examples, so that a busy day neither outgrows an item (DynamoDB's 400 KB) nor
// makes every invocation of the day write one item. One more item (DigestIndexKey) lists the
// periods and channels not yet posted, so that the digest's job finds them without a scan.

// DigestShards is how many items hold one channel's entries of one period.
const DigestShards = 4

// Bounds of a shard: caller groups it holds (findings of further callers are counted by
// category, never dropped), examples per group, and the keys it remembers per group so that a
// finding whose invocation was retried is counted once.
const (
	MaxDigestGroups = 100
	DigestExamples  = 3
	digestRecent    = 8
)

// DigestKeep is how long a period's entries stay after it ends: long enough to post them after
// a week-long outage of Slack or of the schedule.
const DigestKeep = 30 * 24 * time.Hour

// DigestIndexKey is the store key of the list of periods and channels not yet posted.
const DigestIndexKey = "digest#open"

// defaultChannel names the default channel (SLACK_CHANNEL) in keys.
const defaultChannel = "default"

// DigestKey is the store key of one shard of a channel's entries of the period starting at start.
func DigestKey(start time.Time, channel string, shard int) string {
	if channel == "" {
		channel = defaultChannel
	}
	return fmt.Sprintf("digest#%s#%s#%d", start.UTC().Format(time.RFC3339), channel, shard)
}

// digestPostKey is where the posting of a channel's digest of a period is claimed and recorded.
func digestPostKey(start time.Time, channel string) string {
	return DigestKey(start, channel, 0) + "#post"
}

// DigestGroup is the digest's findings of one category by one caller.
type DigestGroup struct {
	Category string `json:"category"`
	Caller   string `json:"caller"`
	Account  string `json:"account,omitempty"`
	// Rules are the rules whose findings the group holds.
	Rules []string `json:"rules"`
	Count int      `json:"count"`
	// Severities counts the findings by severity name.
	Severities map[string]int `json:"severities"`
	// FirstAt and LastAt are the earliest and latest event times.
	FirstAt time.Time `json:"first"`
	LastAt  time.Time `json:"last"`
	// Examples are the most severe findings, earliest first among equals.
	Examples []Member `json:"examples"`
	Recent   []string `json:"recent,omitempty"`
}

// Worst is the highest severity among the group's findings.
func (g DigestGroup) Worst() detect.Severity {
	worst := detect.Info
	for name := range g.Severities {
		if s, err := detect.ParseSeverity(name); err == nil && s > worst {
			worst = s
		}
	}
	return worst
}

// DigestShard is one item of a channel's digest of a period.
type DigestShard struct {
	Groups []DigestGroup `json:"groups"`
	// Overflow counts, by category, findings of callers beyond MaxDigestGroups.
	Overflow map[string]int `json:"overflow,omitempty"`
}

// add counts the finding key in its group, making the group if there is room.
func (s *DigestShard) add(key, caller string, f detect.Finding) {
	i := slices.IndexFunc(s.Groups, func(g DigestGroup) bool { return g.Category == f.Category && g.Caller == caller })
	if i < 0 {
		if len(s.Groups) >= MaxDigestGroups {
			if s.Overflow == nil {
				s.Overflow = map[string]int{}
			}
			s.Overflow[f.Category]++
			return
		}
		s.Groups = append(s.Groups, DigestGroup{Category: f.Category, Caller: caller, Account: f.Account, Severities: map[string]int{}})
		i = len(s.Groups) - 1
	}
	g := &s.Groups[i]
	if slices.Contains(g.Recent, key) {
		return
	}
	g.Recent = append(g.Recent, key)
	if len(g.Recent) > digestRecent {
		g.Recent = g.Recent[1:]
	}
	g.Count++
	g.Severities[f.Severity.String()]++
	if !slices.Contains(g.Rules, f.Rule) {
		g.Rules = append(g.Rules, f.Rule)
	}
	if t := f.EventTime; !t.IsZero() {
		if g.FirstAt.IsZero() || t.Before(g.FirstAt) {
			g.FirstAt = t
		}
		if t.After(g.LastAt) {
			g.LastAt = t
		}
	}
	g.Examples = append(g.Examples, NewMember(f))
	slices.SortStableFunc(g.Examples, func(a, b Member) int {
		return cmp.Or(cmp.Compare(b.Severity, a.Severity), a.Time.Compare(b.Time))
	})
	g.Examples = g.Examples[:min(len(g.Examples), DigestExamples)]
}

// OpenDigest is a period with entries not yet posted, and the channels that have them.
type OpenDigest struct {
	Start    time.Time     `json:"start"`
	Every    time.Duration `json:"every"`
	Channels []string      `json:"channels"`
}

// End is when the period ends and its digest is due.
func (o OpenDigest) End() time.Time { return o.Start.Add(o.Every) }

type digestIndex struct {
	Open []OpenDigest `json:"open"`
}

// Digests keeps the digest's entries in a state store.
type Digests struct {
	Store state.Store
}

// Add counts a finding in the digest of channel ("" for the default) for the period of length
// every starting at start. caller is who it is counted against (policy.Caller). A finding added
// again under the same key (its invocation was retried) is counted once.
func (d Digests) Add(ctx context.Context, start time.Time, every time.Duration, channel, key, caller string, f detect.Finding) error {
	start = start.UTC()
	shard := digestShard(f.Category, caller)
	_, err := updateBody(ctx, d.Store, DigestKey(start, channel, shard), func(s *DigestShard, meta *state.Meta) error {
		s.add(key, caller, f)
		meta.ExpiresAt = start.Add(every + DigestKeep)
		return nil
	})
	if err != nil {
		return fmt.Errorf("add %s to the digest: %w", key, err)
	}
	return d.open(ctx, start, every, channel)
}

// open lists the period and channel in the index, once: most entries find them listed and
// only read it.
func (d Digests) open(ctx context.Context, start time.Time, every time.Duration, channel string) error {
	listed := func(ix *digestIndex) bool {
		return slices.ContainsFunc(ix.Open, func(o OpenDigest) bool { return o.Start.Equal(start) && slices.Contains(o.Channels, channel) })
	}
	ix, err := readBody[digestIndex](ctx, d.Store, DigestIndexKey)
	if err != nil {
		return err
	}
	if listed(&ix) {
		return nil
	}
	_, err = updateBody(ctx, d.Store, DigestIndexKey, func(ix *digestIndex, meta *state.Meta) error {
		if listed(ix) {
			return nil
		}
		i := slices.IndexFunc(ix.Open, func(o OpenDigest) bool { return o.Start.Equal(start) })
		if i < 0 {
			ix.Open = append(ix.Open, OpenDigest{Start: start, Every: every})
			slices.SortFunc(ix.Open, func(a, b OpenDigest) int { return a.Start.Compare(b.Start) })
			i = slices.IndexFunc(ix.Open, func(o OpenDigest) bool { return o.Start.Equal(start) })
		}
		ix.Open[i].Channels = append(ix.Open[i].Channels, channel)
		if keep := start.Add(every + DigestKeep); keep.After(meta.ExpiresAt) {
			meta.ExpiresAt = keep // as long as the entries it lists
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("list the digest of %s: %w", start.Format(time.RFC3339), err)
	}
	return nil
}

// Open lists the periods with entries not yet posted, oldest first.
func (d Digests) Open(ctx context.Context) ([]OpenDigest, error) {
	ix, err := readBody[digestIndex](ctx, d.Store, DigestIndexKey)
	return ix.Open, err
}

// Read merges the shards of a channel's digest of a period: its groups, most severe and then
// largest first, and the findings beyond the groups, by category.
func (d Digests) Read(ctx context.Context, start time.Time, channel string) (DigestShard, error) {
	var out DigestShard
	for i := range DigestShards {
		s, err := readBody[DigestShard](ctx, d.Store, DigestKey(start, channel, i))
		if err != nil {
			return out, err
		}
		out.Groups = append(out.Groups, s.Groups...)
		for c, n := range s.Overflow {
			if out.Overflow == nil {
				out.Overflow = map[string]int{}
			}
			out.Overflow[c] += n
		}
	}
	slices.SortStableFunc(out.Groups, func(a, b DigestGroup) int {
		return cmp.Or(cmp.Compare(b.Worst(), a.Worst()), cmp.Compare(b.Count, a.Count), cmp.Compare(a.Category, b.Category), cmp.Compare(a.Caller, b.Caller))
	})
	return out, nil
}

// ErrDigestPosted means the digest was posted already (by this job's earlier run).
var ErrDigestPosted = errors.New("digest already posted")

// ClaimPost claims the posting of a channel's digest of a period for owner, so that two runs of
// the job never post it twice: state.ErrBusy while another run holds it, ErrDigestPosted once
// it is posted.
func (d Digests) ClaimPost(ctx context.Context, start time.Time, channel, owner string, lease time.Duration) (state.Entry, error) {
	e, err := d.Store.Claim(ctx, state.Entry{Meta: state.Meta{Key: digestPostKey(start, channel), Owner: owner}, Body: json.RawMessage(`{}`)}, lease)
	if errors.Is(err, state.ErrDone) {
		return e, ErrDigestPosted
	}
	return e, err
}

// Release gives up a claim whose digest could not be posted, so that the next run posts it
// without waiting out the lease.
func (d Digests) Release(ctx context.Context, claim state.Entry) error {
	claim.LeaseUntil = time.Time{}
	if err := d.Store.Save(ctx, claim); err != nil {
		return fmt.Errorf("release the claim on %s: %w", claim.Key, err)
	}
	return nil
}

// Posted records where the claimed digest was posted, and takes the channel off the open list
// (the period too, once no channel is left).
func (d Digests) Posted(ctx context.Context, claim state.Entry, start time.Time, channel string, at Delivery) error {
	body, err := json.Marshal(map[string]string{"channel": at.Channel, "ts": at.TS})
	if err != nil {
		return err
	}
	claim.Stage, claim.Body = state.Alerted, body
	if err := d.Store.Save(ctx, claim); err != nil {
		return fmt.Errorf("record the digest posted in %s: %w", orDefault(channel), err)
	}
	return d.Close(ctx, start, channel)
}

// Close takes a channel's digest of a period off the open list (the period too, once no channel
// is left): it was posted.
func (d Digests) Close(ctx context.Context, start time.Time, channel string) error {
	_, err := updateBody(ctx, d.Store, DigestIndexKey, func(ix *digestIndex, _ *state.Meta) error {
		for i := range ix.Open {
			if ix.Open[i].Start.Equal(start) {
				ix.Open[i].Channels = slices.DeleteFunc(ix.Open[i].Channels, func(c string) bool { return c == channel })
			}
		}
		ix.Open = slices.DeleteFunc(ix.Open, func(o OpenDigest) bool { return len(o.Channels) == 0 })
		return nil
	})
	if err != nil {
		return fmt.Errorf("close the digest of %s in %s: %w", start.Format(time.RFC3339), orDefault(channel), err)
	}
	return nil
}

func orDefault(channel string) string {
	if channel == "" {
		return "the default channel"
	}
	return channel
}

// digestShard spreads the callers of a channel's period over its shards.
func digestShard(category, caller string) int {
	h := fnv.New32a()
	h.Write([]byte(category + "\x00" + caller))
	return int(h.Sum32() % DigestShards)
}

// readBody reads the body of the entry key as T; an entry that does not exist reads as T's zero.
func readBody[T any](ctx context.Context, s state.Store, key string) (T, error) {
	var v T
	e, err := s.Get(ctx, key)
	if errors.Is(err, state.ErrNotFound) {
		return v, nil
	}
	if err != nil {
		return v, err
	}
	var w struct {
		Body *T `json:"digest"`
	}
	w.Body = &v
	if err := json.Unmarshal(e.Body, &w); err != nil {
		return v, fmt.Errorf("read %s: %w", key, err)
	}
	return v, nil
}

// updateBody changes the body of the entry key as T, atomically (state.Store.Update). The body is
// kept under one field, "digest", beside the store's own.
func updateBody[T any](ctx context.Context, s state.Store, key string, change func(*T, *state.Meta) error) (T, error) {
	var out T
	_, err := s.Update(ctx, key, func(e *state.Entry) error {
		var v T
		var w struct {
			Body *T `json:"digest"`
		}
		w.Body = &v
		if len(e.Body) > 0 {
			if err := json.Unmarshal(e.Body, &w); err != nil {
				return fmt.Errorf("read %s: %w", key, err)
			}
		}
		if err := change(&v, &e.Meta); err != nil {
			return err
		}
		body, err := json.Marshal(map[string]any{"digest": v})
		if err != nil {
			return err
		}
		e.Body, out = body, v
		return nil
	})
	return out, err
}

package auditstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/iam-watchdog/iam-watchdog/pkg/alert"
	"github.com/iam-watchdog/iam-watchdog/pkg/audit"
	"github.com/iam-watchdog/iam-watchdog/pkg/remediate"
	"github.com/iam-watchdog/iam-watchdog/pkg/state"
)

// Store keeps the audit's snapshots and results in a state.Store (the state table in the
// Lambda, a --state file or table in the CLI).
type Store struct {
	State state.Store
	// Codec authenticates what is kept with the state key (the alert records' Codec); the plain
	// Codec, for the CLI's own state file only, keeps it unauthenticated.
	Codec alert.Codec
	// Now is the clock of expiry times; nil means time.Now.
	Now func() time.Time
}

var _ remediate.PriorStates = (*Store)(nil)

// SnapshotMaxAge is how old a snapshot may be, at the event's time, and still be reverted to:
// a week's audits and a day to spare. An older one says too little about the state the event
// changed, and the item expires (TTL) after as long.
const SnapshotMaxAge = 8 * 24 * time.Hour

// Item kinds and keys. The keys start with "audit#", which no alert record's can (theirs are
// eventID#rule, and no rule's ID holds "#").
const (
	kindSnapshots  = "snapshots"
	snapshotPrefix = "audit#snapshot#"
)

// SnapshotKey is the state-table key of account's snapshots.
func SnapshotKey(account string) string { return snapshotPrefix + account }

// snapshots is one account's item: the latest snapshot and the one before it, so that an event
// handled after an audit (approval in Slack, a replay) still finds the one taken before it.
type snapshots struct {
	Latest   *audit.Snapshot `json:"latest,omitempty"`
	Previous *audit.Snapshot `json:"previous,omitempty"`
}

// body is the JSON object a state entry of this package holds beside the store's own fields.
type body struct {
	Audit *envelope `json:"audit,omitempty"`
}

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// SaveSnapshot keeps snap as its account's latest snapshot, the latest before it as the
// previous one. A snapshot older than the latest kept (a late audit) only replaces the previous
// one when it is newer than that.
func (s *Store) SaveSnapshot(ctx context.Context, snap audit.Snapshot) error {
	if snap.Account == "" || snap.TakenAt.IsZero() {
		return errors.New("save snapshot: it names no account or time")
	}
	key := SnapshotKey(snap.Account)
	_, err := s.State.Update(ctx, key, func(e *state.Entry) error {
		var kept snapshots
		if err := s.readBody(ctx, key, kindSnapshots, *e, &kept); err != nil && !errors.Is(err, errEmpty) {
			// A kept item that cannot be opened is replaced, not trusted.
			kept = snapshots{}
		}
		all := slices.DeleteFunc([]*audit.Snapshot{&snap, kept.Latest, kept.Previous}, func(p *audit.Snapshot) bool { return p == nil })
		slices.SortStableFunc(all, func(a, b *audit.Snapshot) int { return b.TakenAt.Compare(a.TakenAt) })
		all = slices.CompactFunc(all, func(a, b *audit.Snapshot) bool { return a.TakenAt.Equal(b.TakenAt) })
		next := snapshots{Latest: all[0]}
		if len(all) > 1 {
			next.Previous = all[1]
		}
		env, err := seal(ctx, s.Codec, key, kindSnapshots, next)
		if err != nil {
			return err
		}
		e.Body, err = json.Marshal(body{Audit: &env})
		if err != nil {
			return err
		}
		e.ExpiresAt = next.Latest.TakenAt.Add(SnapshotMaxAge)
		if now := s.now(); e.ExpiresAt.Before(now) {
			e.ExpiresAt = now.Add(time.Hour)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("save the snapshot of account %s: %w", snap.Account, err)
	}
	return nil
}

// Snapshots returns account's kept snapshots, latest first; none when there are none.
func (s *Store) Snapshots(ctx context.Context, account string) ([]audit.Snapshot, error) {
	key := SnapshotKey(account)
	e, err := s.State.Get(ctx, key)
	if errors.Is(err, state.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the snapshots of account %s: %w", account, err)
	}
	var kept snapshots
	if err := s.readBody(ctx, key, kindSnapshots, e, &kept); err != nil {
		if errors.Is(err, errEmpty) {
			return nil, nil
		}
		return nil, fmt.Errorf("read the snapshots of account %s: %w", account, err)
	}
	var out []audit.Snapshot
	for _, p := range []*audit.Snapshot{kept.Latest, kept.Previous} {
		if p == nil {
			continue
		}
		if p.Account != account {
			return nil, fmt.Errorf("read the snapshots of account %s: the item holds account %s's", account, p.Account)
		}
		out = append(out, *p)
	}
	return out, nil
}

// UserBefore implements remediate.PriorStates: the latest snapshot of account taken before t,
// and no more than SnapshotMaxAge before it, and what it holds of user.
func (s *Store) UserBefore(ctx context.Context, account, user string, t time.Time) (remediate.Prior, error) {
	if account == "" {
		return remediate.Prior{Why: "the event names no account"}, nil
	}
	kept, err := s.Snapshots(ctx, account)
	if err != nil {
		return remediate.Prior{}, err
	}
	if len(kept) == 0 {
		return remediate.Prior{Why: "no audit snapshot of account " + account + " is kept"}, nil
	}
	var after []string
	for _, snap := range kept {
		taken := snap.TakenAt.UTC().Format(time.RFC3339)
		switch {
		case !snap.TakenAt.Before(t):
			after = append(after, taken)
			continue
		case t.Sub(snap.TakenAt) > SnapshotMaxAge:
			return remediate.Prior{Why: fmt.Sprintf("the latest audit snapshot of account %s before the event, of %s, is more than %s older than it", account, taken, SnapshotMaxAge)}, nil
		}
		u, ok := snap.Users[user]
		if !ok {
			return remediate.Prior{Why: fmt.Sprintf("the audit snapshot of %s holds no user %s (created after it)", taken, user)}, nil
		}
		p := remediate.Prior{Known: true, TakenAt: snap.TakenAt, Attached: slices.Clone(u.Attached), Inline: map[string]string{}}
		for name, doc := range u.Inline {
			p.Inline[name] = doc
			if admin, err := audit.GrantsFullAdmin(doc); err != nil || admin {
				// A document the audit cannot read is not put back either.
				p.FullAdmin = append(p.FullAdmin, name)
			}
		}
		slices.Sort(p.FullAdmin)
		return p, nil
	}
	return remediate.Prior{Why: fmt.Sprintf("every audit snapshot of account %s kept was taken at or after the event (%v)", account, after)}, nil
}

// errEmpty is readBody's error for an entry that holds nothing of this package's.
var errEmpty = errors.New("no audit state in the item")

// readBody opens the sealed value of an entry.
func (s *Store) readBody(ctx context.Context, key, kind string, e state.Entry, v any) error {
	if len(e.Body) == 0 {
		return errEmpty
	}
	var b body
	if err := json.Unmarshal(e.Body, &b); err != nil {
		return fmt.Errorf("%s %s: %w", kind, key, err)
	}
	if b.Audit == nil {
		return errEmpty
	}
	return open(ctx, s.Codec, key, kind, *b.Audit, v)
}

// SaveSnapshots saves each of snaps, an audit report's (SaveSnapshot), every one tried whatever
// became of the others: `watchdog audit --state` keeps what it audited.
func (s *Store) SaveSnapshots(ctx context.Context, snaps map[string]audit.Snapshot) error {
	var errs []error
	for _, snap := range snaps {
		errs = append(errs, s.SaveSnapshot(ctx, snap))
	}
	return errors.Join(errs...)
}

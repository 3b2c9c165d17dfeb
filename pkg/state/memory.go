package state

import (
	"context"
	"sync"
	"time"
)

// Memory is a Store held in memory, for one process that needs the pipeline's state only while
// it runs: `watchdog noise` replays an archive through routing, thresholds and flood control
// without a state table. It keeps the File store's rules (leases, versions, retention) and is
// safe for concurrent use.
type Memory struct {
	// Now is the clock of leases and retention; nil means time.Now.
	Now func() time.Time

	mu      sync.Mutex
	entries map[string]Entry
}

func (m *Memory) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

func (m *Memory) put(e Entry, now, until time.Time, owner string) Entry {
	if m.entries == nil {
		m.entries = map[string]Entry{}
	}
	e.Owner, e.LeaseUntil, e.UpdatedAt = owner, until, now
	e.Version = m.entries[e.Key].Version + 1
	m.entries[e.Key] = e.clone()
	return e
}

// Claim implements Store.
func (m *Memory) Claim(_ context.Context, e Entry, lease time.Duration) (Entry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now, owner := m.now(), e.Owner
	old, ok := m.entries[e.Key]
	switch {
	case ok && old.Stage == Alerted:
		return old.clone(), ErrDone
	case ok && old.Owner != e.Owner && now.Before(old.LeaseUntil):
		return old.clone(), ErrBusy
	case ok:
		e = old.clone() // take over, keeping how far it got
	default:
		e.Stage = Claimed
		e.ExpiresAt = now.Add(Retention)
	}
	return m.put(e, now, now.Add(lease), owner), nil
}

// Save implements Store.
func (m *Memory) Save(_ context.Context, e Entry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.entries[e.Key]; ok && (old.Owner != e.Owner || old.Version != e.Version) {
		return ErrLost
	}
	m.put(e, m.now(), e.LeaseUntil, e.Owner)
	return nil
}

// Get implements Store.
func (m *Memory) Get(_ context.Context, key string) (Entry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[key]
	if !ok {
		return Entry{}, ErrNotFound
	}
	return e.clone(), nil
}

// Update implements Store. The lock makes every change atomic, so change runs once.
func (m *Memory) Update(_ context.Context, key string, change func(*Entry) error) (Entry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	old, ok := m.entries[key]
	if !ok {
		old = Entry{Meta: Meta{Key: key}}
	}
	e := old.clone()
	if err := change(&e); err != nil {
		return old.clone(), err
	}
	now := m.now()
	e.Key, e.Version, e.UpdatedAt = key, old.Version+1, now
	if e.ExpiresAt.IsZero() {
		e.ExpiresAt = now.Add(Retention)
	}
	if m.entries == nil {
		m.entries = map[string]Entry{}
	}
	m.entries[key] = e.clone()
	return e, nil
}

package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// File is a Store in a local JSON file, for the CLI. It is safe for concurrent use within one
// process; two processes sharing a file is not supported.
type File struct {
	path string
	now  func() time.Time
	mu   sync.Mutex
}

// OpenFile opens (or will create) the state file at path. An existing file must be readable.
func OpenFile(path string) (*File, error) {
	f := &File{path: path, now: time.Now}
	if _, err := f.load(); err != nil {
		return nil, err
	}
	return f, nil
}

func (f *File) load() (map[string]Entry, error) {
	data, err := os.ReadFile(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]Entry{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("state file: %w", err)
	}
	m := map[string]Entry{}
	if len(data) > 0 {
		if err := json.Unmarshal(data, &m); err != nil {
			return nil, fmt.Errorf("state file %s is not a watchdog state file: %w", f.path, err)
		}
	}
	return m, nil
}

// store writes atomically: a crash never leaves a half-written file.
func (f *File) store(m map[string]Entry) error {
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(f.path), ".watchdog-state-*")
	if err != nil {
		return fmt.Errorf("state file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("state file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("state file: %w", err)
	}
	return os.Rename(tmp.Name(), f.path)
}

// Claim implements Store.
func (f *File) Claim(_ context.Context, e Entry, lease time.Duration) (Entry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, err := f.load()
	if err != nil {
		return Entry{}, err
	}
	now, owner := f.now(), e.Owner
	old, ok := m[e.Key]
	switch {
	case ok && old.Stage == Alerted:
		return old, ErrDone
	case ok && old.Owner != e.Owner && now.Before(old.LeaseUntil):
		return old, ErrBusy
	case ok:
		e = old // take over, keeping how far it got
	default:
		e.Stage = Claimed
		e.ExpiresAt = now.Add(Retention)
	}
	return f.put(m, e, now, now.Add(lease), owner)
}

func (f *File) put(m map[string]Entry, e Entry, now, until time.Time, owner string) (Entry, error) {
	e.Owner, e.LeaseUntil, e.UpdatedAt = owner, until, now
	e.Version = m[e.Key].Version + 1
	m[e.Key] = e
	return e, f.store(m)
}

// Save implements Store.
func (f *File) Save(_ context.Context, e Entry) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, err := f.load()
	if err != nil {
		return err
	}
	if old, ok := m[e.Key]; ok && (old.Owner != e.Owner || old.Version != e.Version) {
		return ErrLost
	}
	_, err = f.put(m, e, f.now(), e.LeaseUntil, e.Owner)
	return err
}

// Get implements Store.
func (f *File) Get(_ context.Context, key string) (Entry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, err := f.load()
	if err != nil {
		return Entry{}, err
	}
	e, ok := m[key]
	if !ok {
		return Entry{}, ErrNotFound
	}
	return e, nil
}

// Update implements Store. The file's lock makes every change atomic, so change runs once.
func (f *File) Update(_ context.Context, key string, change func(*Entry) error) (Entry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, err := f.load()
	if err != nil {
		return Entry{}, err
	}
	old, ok := m[key]
	if !ok {
		old = Entry{Meta: Meta{Key: key}}
	}
	e := old.clone()
	if err := change(&e); err != nil {
		return old, err
	}
	now := f.now()
	e.Key, e.Version, e.UpdatedAt = key, old.Version+1, now
	if e.ExpiresAt.IsZero() {
		e.ExpiresAt = now.Add(Retention)
	}
	m[key] = e
	return e, f.store(m)
}

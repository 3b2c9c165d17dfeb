package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/iam-watchdog/iam-watchdog/internal/mototest"
)

// field is the JSON of one field of an entry's body, "" when it has none.
func field(t *testing.T, e Entry, name string) string {
	t.Helper()
	var m map[string]json.RawMessage
	if len(e.Body) > 0 {
		if err := json.Unmarshal(e.Body, &m); err != nil {
			t.Fatalf("body of %s: %v", e.Key, err)
		}
	}
	return string(m[name])
}

// setField sets one field of an entry's body to the JSON raw.
func setField(t *testing.T, e *Entry, name, raw string) {
	t.Helper()
	m := map[string]json.RawMessage{}
	if len(e.Body) > 0 {
		if err := json.Unmarshal(e.Body, &m); err != nil {
			t.Fatalf("body of %s: %v", e.Key, err)
		}
	}
	m[name] = json.RawMessage(raw)
	body, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	e.Body = body
}

// burst is a body that many writers add to at once, as findings join a burst's message.
type burst struct {
	Members []string       `json:"members"`
	Targets []string       `json:"targets"`
	Done    map[string]int `json:"outcomes"`
}

// clock is a settable time source for lease tests.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// testStore runs the same contract against each Store implementation.
func testStore(t *testing.T, open func(t *testing.T, c *clock) Store) {
	ctx := context.Background()
	entry := func(owner string) Entry {
		return Entry{Meta: Meta{Key: "ev-1#access-key-created", Owner: owner}, Body: json.RawMessage(`{"event_id":"ev-1","rule":"access-key-created"}`)}
	}

	t.Run("first claim wins, second is busy", func(t *testing.T) {
		c := &clock{time.Unix(1_700_000_000, 0)}
		s := open(t, c)
		got, err := s.Claim(ctx, entry("a"), time.Minute)
		if err != nil || got.Stage != Claimed || got.Owner != "a" {
			t.Fatalf("claim: %+v %v", got, err)
		}
		if _, err := s.Claim(ctx, entry("b"), time.Minute); !errors.Is(err, ErrBusy) {
			t.Fatalf("second claim: want ErrBusy, got %v", err)
		}
	})

	t.Run("expired lease is taken over with its progress", func(t *testing.T) {
		c := &clock{time.Unix(1_700_000_000, 0)}
		s := open(t, c)
		e, err := s.Claim(ctx, entry("a"), time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		e.Stage = Acted
		setField(t, &e, "undo", `{"action":"deactivate_access_key"}`)
		if err := s.Save(ctx, e); err != nil {
			t.Fatal(err)
		}
		c.t = c.t.Add(2 * time.Minute)
		got, err := s.Claim(ctx, entry("b"), time.Minute)
		if err != nil {
			t.Fatalf("take over: %v", err)
		}
		if got.Owner != "b" || got.Stage != Acted || field(t, got, "undo") != `{"action":"deactivate_access_key"}` || field(t, got, "rule") != `"access-key-created"` {
			t.Fatalf("took over %+v", got)
		}
		// The crashed owner coming back must not overwrite the new owner's work.
		if err := s.Save(ctx, e); !errors.Is(err, ErrLost) {
			t.Fatalf("stale save: want ErrLost, got %v", err)
		}
	})

	t.Run("finished entry is done for everyone", func(t *testing.T) {
		c := &clock{time.Unix(1_700_000_000, 0)}
		s := open(t, c)
		e, err := s.Claim(ctx, entry("a"), time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		e.Stage = Alerted
		setField(t, &e, "ts", `"1700000000.000100"`)
		if err := s.Save(ctx, e); err != nil {
			t.Fatal(err)
		}
		c.t = c.t.Add(time.Hour)
		for _, owner := range []string{"a", "b"} {
			got, err := s.Claim(ctx, entry(owner), time.Minute)
			if !errors.Is(err, ErrDone) || field(t, got, "ts") != `"1700000000.000100"` {
				t.Fatalf("claim by %s after finish: %+v %v", owner, got, err)
			}
		}
		got, err := s.Get(ctx, e.Key)
		if err != nil || got.Stage != Alerted {
			t.Fatalf("get: %+v %v", got, err)
		}
	})

	t.Run("update creates, changes and refuses", func(t *testing.T) {
		s := open(t, &clock{time.Unix(1_700_000_000, 0)})
		key := "ev-2#access-key-created"
		got, err := s.Update(ctx, key, func(e *Entry) error {
			if e.Version != 0 || e.Key != key || len(e.Body) != 0 {
				return fmt.Errorf("new entry read as %+v", e)
			}
			setField(t, e, "status", `"pending"`)
			// The store's own fields win over a body's: a body cannot move the version.
			setField(t, e, "version", `99`)
			return nil
		})
		if err != nil || got.Version != 1 || field(t, got, "status") != `"pending"` || got.ExpiresAt.IsZero() {
			t.Fatalf("create: %+v %v", got, err)
		}
		refused := errors.New("no")
		if _, err := s.Update(ctx, key, func(e *Entry) error { setField(t, e, "status", `"undone"`); return refused }); !errors.Is(err, refused) {
			t.Fatalf("refused change: %v", err)
		}
		got, err = s.Get(ctx, key)
		if err != nil || field(t, got, "status") != `"pending"` || got.Version != 1 {
			t.Fatalf("after a refused change: %+v %v", got, err)
		}
		// A Save over a version someone else has since moved on from is refused.
		stale := got
		if _, err := s.Update(ctx, key, func(e *Entry) error { setField(t, e, "ts", `"1.2"`); return nil }); err != nil {
			t.Fatal(err)
		}
		if err := s.Save(ctx, stale); !errors.Is(err, ErrLost) {
			t.Fatalf("stale save: want ErrLost, got %v", err)
		}
	})

	t.Run("concurrent updates are all kept", func(t *testing.T) {
		s := open(t, &clock{time.Unix(1_700_000_000, 0)})
		key := "ev-3#access-key-created"
		const writers = 24
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		for i := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := s.Update(ctx, key, func(e *Entry) error {
					b := burst{Done: map[string]int{}}
					if len(e.Body) > 0 {
						if err := json.Unmarshal(e.Body, &b); err != nil {
							return err
						}
					}
					b.Members = append(b.Members, fmt.Sprintf("ev-%d#r", i))
					if target := fmt.Sprintf("user/u%d", i%5); !slices.Contains(b.Targets, target) {
						b.Targets = append(b.Targets, target)
					}
					b.Done["done"]++
					body, err := json.Marshal(b)
					e.Body = body
					return err
				})
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.Get(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		var b burst
		if err := json.Unmarshal(got.Body, &b); err != nil {
			t.Fatal(err)
		}
		if len(b.Members) != writers || len(b.Targets) != 5 || b.Done["done"] != writers || got.Version != writers {
			t.Fatalf("body after %d concurrent joins: members %d, targets %v, outcomes %v, version %d", writers, len(b.Members), b.Targets, b.Done, got.Version)
		}
	})

	t.Run("missing entry", func(t *testing.T) {
		s := open(t, &clock{time.Unix(1_700_000_000, 0)})
		if _, err := s.Get(ctx, "nope#rule"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("want ErrNotFound, got %v", err)
		}
	})
}

func TestFile(t *testing.T) {
	testStore(t, func(t *testing.T, c *clock) Store {
		f, err := OpenFile(filepath.Join(t.TempDir(), "state.json"))
		if err != nil {
			t.Fatal(err)
		}
		f.now = c.now
		return f
	})
}

func TestFileRejectsForeignFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	if err := os.WriteFile(path, []byte("[1,2,3]"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenFile(path); err == nil {
		t.Fatal("want an error for a file that is not a state file")
	}
}

func TestDynamoDB(t *testing.T) {
	srv := mototest.Start(t)
	db := dynamodb.NewFromConfig(srv.Config(t))
	n := 0
	testStore(t, func(t *testing.T, c *clock) Store {
		n++
		table := "watchdog-state-" + string(rune('a'+n))
		mototest.CreateStateTable(t, db, table)
		return &DynamoDB{API: &mototest.Serialized{API: db}, Table: table, Now: c.now}
	})
}

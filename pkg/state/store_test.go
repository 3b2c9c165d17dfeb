package state

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/iam-watchdog/iam-watchdog/internal/motoserver"
)

// clock is a settable time source for lease tests.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// testStore runs the same contract against each Store implementation.
func testStore(t *testing.T, open func(t *testing.T, c *clock) Store) {
	ctx := context.Background()
	entry := func(owner string) Entry {
		return Entry{Key: Key("ev-1", "access-key-created"), EventID: "ev-1", Rule: "access-key-created", Owner: owner}
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
		e.Stage, e.Undo = Acted, []byte(`{"action":"deactivate_access_key"}`)
		if err := s.Save(ctx, e); err != nil {
			t.Fatal(err)
		}
		c.t = c.t.Add(2 * time.Minute)
		got, err := s.Claim(ctx, entry("b"), time.Minute)
		if err != nil {
			t.Fatalf("take over: %v", err)
		}
		if got.Owner != "b" || got.Stage != Acted || string(got.Undo) != `{"action":"deactivate_access_key"}` {
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
		e.Stage, e.TS = Alerted, "1700000000.000100"
		if err := s.Save(ctx, e); err != nil {
			t.Fatal(err)
		}
		c.t = c.t.Add(time.Hour)
		for _, owner := range []string{"a", "b"} {
			got, err := s.Claim(ctx, entry(owner), time.Minute)
			if !errors.Is(err, ErrDone) || got.TS != "1700000000.000100" {
				t.Fatalf("claim by %s after finish: %+v %v", owner, got, err)
			}
		}
		got, err := s.Get(ctx, e.Key)
		if err != nil || got.Stage != Alerted {
			t.Fatalf("get: %+v %v", got, err)
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
	srv := motoserver.Start(t)
	db := dynamodb.NewFromConfig(srv.Config(t))
	n := 0
	testStore(t, func(t *testing.T, c *clock) Store {
		n++
		table := "watchdog-state-" + string(rune('a'+n))
		_, err := db.CreateTable(context.Background(), &dynamodb.CreateTableInput{
			TableName:            aws.String(table),
			AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS}},
			KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}},
			BillingMode:          types.BillingModePayPerRequest,
		})
		if err != nil {
			t.Fatal(err)
		}
		return &DynamoDB{API: db, Table: table, Now: c.now}
	})
}

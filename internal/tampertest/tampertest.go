// Package tampertest rewrites state records behind the watchdog's back, as whoever can write
// the state table (or the CLI's state file) would, for the tests that show such records refused:
// a piece changed, a piece or a MAC taken from another record, the MAC removed, a whole record
// copied to another key, a record written without the key.
package tampertest

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/iam-watchdog/iam-watchdog/pkg/alert"
	"github.com/iam-watchdog/iam-watchdog/pkg/state"
)

// AdministratorAccess is the policy a forger names.
const AdministratorAccess = "arn:aws:iam::aws:policy/AdministratorAccess"

// Body is a stored record as the store holds it: one JSON object, field by field (the store's
// own fields, the record's, its pieces and its MAC).
type Body map[string]json.RawMessage

// Target is a state store opened apart from the watchdog's, read and written raw.
type Target struct {
	// Store is the same store, for writing records through the watchdog's own code.
	Store state.Store
	read  func(t testing.TB, key string) Body
	write func(t testing.TB, key string, b Body)
}

// Read is the stored body of key.
func (tg *Target) Read(t testing.TB, key string) Body {
	t.Helper()
	return tg.read(t, key)
}

// Write replaces the stored body of key.
func (tg *Target) Write(t testing.TB, key string, b Body) {
	t.Helper()
	tg.write(t, key, b)
}

// File is the CLI's state file at path.
func File(t testing.TB, path string) *Target {
	t.Helper()
	st, err := state.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	load := func(t testing.TB) map[string]Body {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]Body{}
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	return &Target{
		Store: st,
		read: func(t testing.TB, key string) Body {
			b, ok := load(t)[key]
			if !ok {
				t.Fatalf("state file %s holds no %s", path, key)
			}
			return b
		},
		write: func(t testing.TB, key string, b Body) {
			m := load(t)
			m[key] = b
			data, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, data, 0o600); err != nil {
				t.Fatal(err)
			}
		},
	}
}

// DynamoDB is the state table, through a client of someone allowed to write it.
func DynamoDB(t testing.TB, db *dynamodb.Client, table string) *Target {
	t.Helper()
	item := func(t testing.TB, key string) map[string]types.AttributeValue {
		out, err := db.GetItem(t.Context(), &dynamodb.GetItemInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true),
			Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: key}}})
		if err != nil || out.Item == nil {
			t.Fatalf("read %s from %s: %v", key, table, err)
		}
		return out.Item
	}
	return &Target{
		Store: &state.DynamoDB{API: db, Table: table},
		read: func(t testing.TB, key string) Body {
			data, _ := item(t, key)["data"].(*types.AttributeValueMemberS)
			var b Body
			if data == nil || json.Unmarshal([]byte(data.Value), &b) != nil {
				t.Fatalf("item %s has no readable data", key)
			}
			return b
		},
		write: func(t testing.TB, key string, b Body) {
			it := item(t, key)
			data, err := json.Marshal(b)
			if err != nil {
				t.Fatal(err)
			}
			it["data"] = &types.AttributeValueMemberS{Value: string(data)}
			if _, err := db.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: aws.String(table), Item: it}); err != nil {
				t.Fatalf("write %s to %s: %v", key, table, err)
			}
		},
	}
}

// Case is one way of tampering with the record at key; other is a record of another key the
// watchdog wrote with the same state key, holding the same pieces.
type Case struct {
	Name  string
	Apply func(t testing.TB, tg *Target, key, other string)
}

// Cases are the tamperings a record must be refused after.
func Cases() []Case {
	edit := func(f func(b, other Body)) func(t testing.TB, tg *Target, key, other string) {
		return func(t testing.TB, tg *Target, key, other string) {
			t.Helper()
			b := tg.Read(t, key)
			before, _ := json.Marshal(b)
			f(b, tg.Read(t, other))
			if after, _ := json.Marshal(b); string(after) == string(before) {
				t.Fatalf("tampering left %s as it was: %s and %s hold the same here", key, key, other)
			}
			tg.Write(t, key, b)
		}
	}
	return []Case{
		{"a piece changed: the policy ARN swapped for an administrator's", edit(func(b, _ Body) {
			for _, name := range []string{"action", "undo"} {
				if len(b[name]) == 0 {
					continue
				}
				var p map[string]any
				_ = json.Unmarshal(b[name], &p)
				p["policy_arn"], p["user_name"] = AdministratorAccess, "administrator"
				b[name], _ = json.Marshal(p)
			}
		})},
		{"a piece moved from another record", edit(func(b, other Body) { take(b, other, "action", "undo") })},
		{"the event moved from another record", edit(func(b, other Body) { take(b, other, "event") })},
		{"a piece removed", edit(func(b, _ Body) { delete(b, "alert") })},
		{"the MAC removed", edit(func(b, _ Body) { delete(b, "mac") })},
		{"the MAC of another record", edit(func(b, other Body) { take(b, other, "mac") })},
		{"another record copied to this key", edit(func(b, other Body) {
			for k, v := range other {
				if k != "key" {
					b[k] = v
				}
			}
		})},
		{"a record written without a key", func(t testing.TB, tg *Target, key, _ string) {
			t.Helper()
			// Through the watchdog's own code, with no state key: as the CLI without
			// state_key_arn, or a watchdog from before the key, would write it.
			plain := alert.Codec{}
			_, err := (alert.Records{Store: tg.Store}).Update(t.Context(), key, func(e *alert.Entry) error {
				p, err := plain.Open(t.Context(), *e)
				if err != nil {
					return err
				}
				return plain.Seal(t.Context(), e, p)
			})
			if err != nil {
				t.Fatal(err)
			}
		}},
	}
}

// take sets b's fields to other's, or removes them where other has none.
func take(b, other Body, fields ...string) {
	for _, f := range fields {
		if v, ok := other[f]; ok {
			b[f] = v
		} else {
			delete(b, f)
		}
	}
}

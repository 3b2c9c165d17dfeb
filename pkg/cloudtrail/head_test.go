package cloudtrail

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestHeadCoversRecord keeps the head reader in step with Record: every field encoding/json
// decodes into a Record must be one the skimmer reads and checks, at the same level. A field
// added to Record and not here would leave heads without it, and a record whose value for it
// encoding/json refuses would be skipped instead of reported.
func TestHeadCoversRecord(t *testing.T) {
	levels := map[reflect.Type]level{
		reflect.TypeFor[Record]():         levelRecord,
		reflect.TypeFor[UserIdentity]():   levelUserIdentity,
		reflect.TypeFor[SessionContext](): levelSessionContext,
	}
	sc := reflect.TypeFor[SessionContext]()
	levels[sc.Field(0).Type] = levelSessionIssuer
	levels[sc.Field(1).Type] = levelAttributes
	for typ, l := range levels {
		var want []string
		for f := range typ.Fields() {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" || !f.IsExported() {
				continue
			}
			want = append(want, name)
			// field reads each as the kind its Go type is decoded from.
			id := slices.IndexFunc(levelFields[l], func(g field) bool { return fieldNames[g] == name })
			if id < 0 {
				continue // reported below
			}
			kind := "string"
			switch levelFields[l][id] {
			case fieldReadOnly:
				kind = "*bool"
			case fieldEventTime:
				kind = "time.Time"
			case fieldRequestParameters, fieldResponseElements, fieldAdditionalEventData:
				kind = "json.RawMessage"
			case fieldUserIdentity, fieldSessionIssuer, fieldAttributes:
				kind = "struct"
			case fieldSessionContext:
				kind = "*struct"
			}
			got := f.Type.String()
			switch {
			case f.Type.Kind() == reflect.Struct && f.Type.String() != "time.Time":
				got = "struct"
			case f.Type.Kind() == reflect.Pointer && f.Type.Elem().Kind() == reflect.Struct:
				got = "*struct"
			}
			if got != kind {
				t.Errorf("%s.%s is %s; the head reader reads it as %s", typ, name, got, kind)
			}
		}
		var got []string
		for _, f := range levelFields[l] {
			got = append(got, fieldNames[f])
		}
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s: the head reader reads %v; encoding/json decodes %v", typ, got, want)
		}
	}
}

// TestFieldTable: no two fields of a level share a slot of the key hash, so that a key is
// looked up with one comparison.
func TestFieldTable(t *testing.T) {
	for l, slots := range fieldTable {
		for h, f := range slots {
			if f == fieldCollide {
				t.Errorf("level %d: fields share slot %d", l, h)
			}
		}
		for _, f := range levelFields[l] {
			if got := fieldTable[l][keyHash([]byte(fieldNames[f]))]; got != f {
				t.Errorf("level %d: %s is in the slot of %d", l, fieldNames[f], got)
			}
		}
	}
}

// TestKeyBookLearn checks the key book's ids: a key gets the same id every time it is learned,
// different keys get different ids, a level learns no more than its bound (later keys are
// unknownKey), and a learned successor is guessed only on an exact match of its bytes.
func TestKeyBookLearn(t *testing.T) {
	var kb keyBook
	ids := map[string]uint8{}
	for round := range 3 {
		prev := uint8(0)
		for k := range 100 {
			key := fmt.Sprintf("k%d", k*7919) // lengths and bytes that share hash slots
			id := kb.learn(levelRecord, prev, []byte(key), fieldNone)
			switch want, seen := ids[key]; {
			case k >= unknownKey-1 && id != unknownKey:
				t.Fatalf("round %d: key %d of 100 got id %d past the bound", round, k, id)
			case seen && id != want:
				t.Fatalf("round %d: %q got id %d, first %d", round, key, id, want)
			case !seen:
				for other, o := range ids {
					if o == id && id != unknownKey {
						t.Fatalf("%q and %q share id %d", key, other, id)
					}
				}
				ids[key] = id
			}
			if prev != unknownKey && id != unknownKey {
				b := []byte(key + `",`)
				if g := kb.guess(levelRecord, prev, b, 0); g == nil || g.id != id {
					t.Fatalf("round %d: after id %d, %q is not guessed", round, prev, key)
				}
				if g := kb.guess(levelRecord, prev, []byte(key+`x"`), 0); g != nil {
					t.Fatalf("round %d: after id %d, %q guessed for a longer key", round, prev, key)
				}
			}
			prev = id
		}
	}
	if len(kb.keys[levelRecord]) != unknownKey-1 || len(kb.keys[levelUserIdentity]) != 0 {
		t.Fatalf("learned %d keys at the record level, %d at userIdentity", len(kb.keys[levelRecord]), len(kb.keys[levelUserIdentity]))
	}
}

package cloudtrail

import (
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
		reflect.TypeFor[Record]():         lRecord,
		reflect.TypeFor[UserIdentity]():   lUserIdentity,
		reflect.TypeFor[SessionContext](): lSessionContext,
	}
	sc := reflect.TypeFor[SessionContext]()
	levels[sc.Field(0).Type] = lSessionIssuer
	levels[sc.Field(1).Type] = lAttributes
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
			case fReadOnly:
				kind = "*bool"
			case fEventTime:
				kind = "time.Time"
			case fRequestParameters, fResponseElements, fAdditionalEventData:
				kind = "json.RawMessage"
			case fUserIdentity, fSessionIssuer, fAttributes:
				kind = "struct"
			case fSessionContext:
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
			if f == fCollide {
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

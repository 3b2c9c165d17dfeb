package cloudtrail

import "unsafe"

// An identityMemo remembers userIdentity values already read, so that the next record of the
// same caller skips reading its own. A log file holds many calls of few callers (a session of a
// role or a user makes call after call, with the same userIdentity, byte for byte), and the
// userIdentity is about a third of a record's bytes, most of them in typed fields.
//
// It is exact: how the head reader reads a value depends on the value's bytes alone (and on
// its depth, which for a record's userIdentity is always the same), so bytes equal to a value
// read before are that value again: valid JSON, ending at the same place, with the same fields
// and the same doubts (unsure, nonASCII). The fields are remembered as offsets into the value and
// taken from the new copy, so that a head's strings still point into the Scanner's buffer. A
// value is remembered only when it is memoMinBytes to memoMaxBytes bytes long (so that the memo holds at
// most memoSets × memoWays × memoMaxBytes bytes, whatever the input) and each of its typed strings
// lies in it (a string with an escape is decoded elsewhere, and its value is not remembered).
type identityMemo struct {
	sets [memoSets][memoWays]memoEntry
	next [memoSets]uint8 // the way of each set to fill next
}

const (
	memoSets = 32
	memoWays = 4
	// memoMinBytes is how many bytes of a value choose its set: enough to reach past the type and
	// into principalId, where the callers of one file differ.
	memoMinBytes = 128
	memoMaxBytes = 4 << 10
)

type memoEntry struct {
	value    []byte                       // the userIdentity value, copied
	spans    [len(identityStrings{})]span // where each of its strings is in value
	session  bool                         // it has a sessionContext object
	unsure   bool
	nonASCII bool
}

type span struct{ off, n int32 }

// identityStrings points at the string fields a userIdentity value sets.
type identityStrings [13]*string

func stringsOf(id *UserIdentity, s *SessionContext) identityStrings {
	return identityStrings{&id.Type, &id.PrincipalID, &id.ARN, &id.AccountID, &id.AccessKeyID, &id.UserName,
		&id.InvokedBy, &s.SessionIssuer.Type, &s.SessionIssuer.ARN, &s.SessionIssuer.AccountID,
		&s.SessionIssuer.UserName, &s.Attributes.MFAAuthenticated, &s.Attributes.CreationDate}
}

// memoSet chooses the set of the value at b[i], which has at least memoMinBytes bytes.
func memoSet(b []byte, i int) int {
	p := unsafe.Pointer(unsafe.SliceData(b))
	var h0, h1 uint64
	for k := 0; k < memoMinBytes; k += 16 {
		h0 = (h0 ^ load64(p, i+k)) * 0x9e3779b97f4a7c15
		h1 = (h1 ^ load64(p, i+k+8)) * 0xc2b2ae3d27d4eb4f
	}
	return int((h0^h1>>7)>>59) % memoSets
}

// userIdentity reads the userIdentity object at b[i] (its '{'), at depth, as field does, and
// returns the offset after it.
func (r *headReader) userIdentity(i, depth int) int {
	b := r.b
	m := &r.memo
	set := -1
	if len(b)-i >= memoMinBytes {
		set = memoSet(b, i)
		for w := range m.sets[set] {
			e := &m.sets[set][w]
			if n := len(e.value); n != 0 && n <= len(b)-i && string(b[i:i+n]) == string(e.value) {
				r.session = SessionContext{}
				dst := stringsOf(&r.rec.UserIdentity, &r.session)
				for k, sp := range e.spans {
					if sp.n != 0 {
						*dst[k] = unsafe.String(&b[i+int(sp.off)], int(sp.n))
					}
				}
				if e.session {
					r.rec.UserIdentity.SessionContext = &r.session
				}
				r.unsure = r.unsure || e.unsure
				r.nonASCII = r.nonASCII || e.nonASCII
				return i + n
			}
		}
	}

	// Read it, with the record's doubts set aside so that what it leaves depends on its bytes
	// alone, then remember it.
	unsure, nonASCII := r.unsure, r.nonASCII
	r.unsure, r.nonASCII = false, false
	var seen [fieldCount]bool
	end := r.object(levelUserIdentity, i, depth, &seen)
	e := memoEntry{unsure: r.unsure, nonASCII: r.nonASCII, session: r.rec.UserIdentity.SessionContext != nil}
	r.unsure, r.nonASCII = unsure || r.unsure, nonASCII || r.nonASCII
	if set < 0 || end < 0 || end-i < memoMinBytes || end-i > memoMaxBytes {
		return end
	}
	var none SessionContext
	session := &none
	if e.session {
		session = &r.session
	}
	base := uintptr(unsafe.Pointer(&b[i]))
	for k, s := range stringsOf(&r.rec.UserIdentity, session) {
		if len(*s) == 0 {
			continue
		}
		off := uintptr(unsafe.Pointer(unsafe.StringData(*s))) - base
		if off > uintptr(end-i-len(*s)) {
			return end // decoded from an escape, not in the value: not remembered
		}
		e.spans[k] = span{int32(off), int32(len(*s))}
	}
	w := m.next[set]
	m.next[set] = (w + 1) % memoWays
	e.value = append(m.sets[set][w].value[:0], b[i:end]...)
	m.sets[set][w] = e
	return end
}

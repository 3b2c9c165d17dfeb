package cloudtrail

import (
	"encoding/json"
	"unicode/utf8"
	"unsafe"
)

// A head is a Record whose typed fields were read by the skimmer instead of encoding/json: every
// field but Raw, RequestParameters, ResponseElements and AdditionalEventData is set, and its
// strings point into the input buffer, so a head lives only as long as a call to Want.
//
// headReader.read fills one, or says it cannot vouch for the record. It vouches only when encoding/json
// would decode the record into exactly these fields without an error and the parser's own checks
// (size, UTF-8, eventName, eventSource, eventTime) would pass — so that a record it vouches for
// and Want refuses can be left undecoded without losing a record or an error. Whatever it is
// unsure of (a key that differs from a field's name only in case, as encoding/json would still
// match; an escaped or non-ASCII key; a field given twice; a value of the wrong type) makes it
// decline, and the record goes through the parser's full decoding, errors and all.

// field names a typed field of Record or of a struct inside it.
type field uint8

const (
	fieldNone field = iota
	// Record
	fieldEventVersion
	fieldEventID
	fieldEventTime
	fieldEventSource
	fieldEventName
	fieldEventType
	fieldAWSRegion
	fieldSourceIPAddress
	fieldUserAgent
	fieldErrorCode
	fieldErrorMessage
	fieldReadOnly
	fieldRecipientAccountID
	fieldUserIdentity
	fieldRequestParameters
	fieldResponseElements
	fieldAdditionalEventData
	// UserIdentity
	fieldType
	fieldPrincipalID
	fieldARN
	fieldAccountID
	fieldAccessKeyID
	fieldUserName
	fieldInvokedBy
	fieldSessionContext
	// SessionContext
	fieldSessionIssuer
	fieldAttributes
	// SessionContext.SessionIssuer: fieldType, fieldARN, fieldAccountID, fieldUserName
	// SessionContext.Attributes
	fieldMFAAuthenticated
	fieldCreationDate
	fieldCount
)

// fieldNames are the JSON names of the fields, as Record's tags spell them.
var fieldNames = [fieldCount]string{
	fieldEventVersion: "eventVersion", fieldEventID: "eventID", fieldEventTime: "eventTime", fieldEventSource: "eventSource",
	fieldEventName: "eventName", fieldEventType: "eventType", fieldAWSRegion: "awsRegion", fieldSourceIPAddress: "sourceIPAddress",
	fieldUserAgent: "userAgent", fieldErrorCode: "errorCode", fieldErrorMessage: "errorMessage", fieldReadOnly: "readOnly",
	fieldRecipientAccountID: "recipientAccountId", fieldUserIdentity: "userIdentity", fieldRequestParameters: "requestParameters",
	fieldResponseElements: "responseElements", fieldAdditionalEventData: "additionalEventData",
	fieldType: "type", fieldPrincipalID: "principalId", fieldARN: "arn", fieldAccountID: "accountId", fieldAccessKeyID: "accessKeyId",
	fieldUserName: "userName", fieldInvokedBy: "invokedBy", fieldSessionContext: "sessionContext",
	fieldSessionIssuer: "sessionIssuer", fieldAttributes: "attributes",
	fieldMFAAuthenticated: "mfaAuthenticated", fieldCreationDate: "creationDate",
}

// level is one of the JSON objects whose fields are typed.
type level uint8

const (
	levelRecord level = iota
	levelUserIdentity
	levelSessionContext
	levelSessionIssuer
	levelAttributes
)

// levelFields are the typed fields of each level.
var levelFields = [...][]field{
	levelRecord: {fieldEventVersion, fieldEventID, fieldEventTime, fieldEventSource, fieldEventName, fieldEventType, fieldAWSRegion, fieldSourceIPAddress,
		fieldUserAgent, fieldErrorCode, fieldErrorMessage, fieldReadOnly, fieldRecipientAccountID, fieldUserIdentity, fieldRequestParameters,
		fieldResponseElements, fieldAdditionalEventData},
	levelUserIdentity:   {fieldType, fieldPrincipalID, fieldARN, fieldAccountID, fieldAccessKeyID, fieldUserName, fieldInvokedBy, fieldSessionContext},
	levelSessionContext: {fieldSessionIssuer, fieldAttributes},
	levelSessionIssuer:  {fieldType, fieldARN, fieldAccountID, fieldUserName},
	levelAttributes:     {fieldMFAAuthenticated, fieldCreationDate},
}

// fieldTable finds a level's field by a hash of its name without regard to ASCII case (see
// keyHash): a key can only be, or differ in case from, the field in its slot. Two fields of a
// level in one slot would make the slot fieldCollide, and such keys are compared with every field
// of the level; the current names share no slot (TestFieldTable).
var fieldTable = func() (t [len(levelFields)][64]field) {
	for l, fields := range levelFields {
		for _, f := range fields {
			h := keyHash([]byte(fieldNames[f]))
			if t[l][h] != fieldNone {
				t[l][h] = fieldCollide
			} else {
				t[l][h] = f
			}
		}
	}
	return t
}()

// fieldCollide marks a fieldTable slot shared by two fields.
const fieldCollide = fieldCount

// keyHash hashes a key of three bytes or more, folding ASCII case.
func keyHash(key []byte) uint8 {
	n := len(key)
	return uint8(n+int(key[0]|0x20)+3*int(key[n-1]|0x20)+21*int(key[n-3]|0x20)) & 63
}

// keyField returns the field a key names at level l, or fieldNone. nonASCII says whether the key holds
// a byte ≥ 0x80. It marks the head unsure when encoding/json might match the key to a field by
// rules the skimmer does not follow: a name in another case (encoding/json matches without
// regard to case, even folding the non-ASCII Kelvin sign and long s onto k and s), an escaped
// key, or a field given twice. plain says the answer depends on the key's bytes alone (not on
// seen): the key may be learned (keyBook).
func (r *headReader) keyField(l level, key []byte, escaped, nonASCII bool, seen *[fieldCount]bool) (f field, plain bool) {
	if escaped || nonASCII {
		r.unsure = true
		return fieldNone, false
	}
	f, fold := lookupField(l, key)
	if fold {
		r.unsure = true
		return fieldNone, false
	}
	if f != fieldNone && seen[f] {
		r.unsure = true
	}
	return f, true
}

// lookupField returns the field key names at level l, or fieldNone; fold says the key differs from
// a field's name in case only.
func lookupField(l level, key []byte) (f field, fold bool) {
	if len(key) < 3 || len(key) > maxFieldName {
		return fieldNone, false // no field's name folds to it
	}
	f = fieldTable[l][keyHash(key)]
	if f == fieldCollide {
		for _, g := range levelFields[l] {
			if len(fieldNames[g]) == len(key) && asciiEqualFold(key, fieldNames[g]) {
				f = g
				break
			}
		}
	}
	switch {
	case f == fieldNone || f == fieldCollide:
		return fieldNone, false
	case string(key) == fieldNames[f]:
		return f, false
	}
	return fieldNone, len(key) == len(fieldNames[f]) && asciiEqualFold(key, fieldNames[f])
}

// A keyBook predicts the keys of the typed objects (a record, its userIdentity, …). CloudTrail
// writes an object's keys in much the same order every time, so the key that followed the
// previous one last time is usually the next: when the bytes after the opening quote are that
// key and its closing quote, the key needs neither stringEnd nor keyField. Only keys whose
// field depends on their bytes alone are learned (plain ASCII, no escape, no other case), and
// a prediction is taken only on an exact match of those bytes, so a predicted key is read
// exactly as it would be without the book.
//
// The book learns at most maxKeys-2 keys per level, so that hostile input costs it a bounded
// number of small allocations per Scanner.
type keyBook struct {
	// keys are the learned keys of each level with their closing quote; key id k is keys[k-1].
	keys [len(levelFields)][]string
	// ids find a learned key's id from its bytes: an open-addressing table (linear probing, 0
	// empty) under bookSlot's hash, twice as large as the most keys a level learns, so that a
	// probe always ends and most end at once.
	ids [len(levelFields)][2 * maxKeys]uint8
	// next is the guess after the key with each id (0: at the object's start; unknownKey: after
	// a key not learned, which guesses nothing).
	next [len(levelFields)][maxKeys]keyGuess
}

type keyGuess struct {
	quoted string // the key and its closing quote; empty guesses nothing
	f      field
	id     uint8
}

const (
	maxKeys    = 64
	unknownKey = maxKeys - 1
)

// guess returns the guess for the key after the one with id prev, if the text at i (after its
// opening quote) is that key.
func (kb *keyBook) guess(l level, prev uint8, b []byte, i int) *keyGuess {
	g := &kb.next[l][prev]
	if n := len(g.quoted); n != 0 && n <= len(b)-i && string(b[i:i+n]) == g.quoted {
		return g
	}
	return nil
}

// learn notes that key, naming f, came after the key with id prev, and returns key's id.
func (kb *keyBook) learn(l level, prev uint8, key []byte, f field) uint8 {
	id := uint8(unknownKey)
	slot := bookSlot(key)
	for ; kb.ids[l][slot] != 0; slot = (slot + 1) % (2 * maxKeys) {
		if k := kb.ids[l][slot]; len(kb.keys[l][k-1]) == len(key)+1 && kb.keys[l][k-1][:len(key)] == string(key) {
			id = k
			break
		}
	}
	if id == unknownKey && len(kb.keys[l]) < unknownKey-1 {
		kb.keys[l] = append(kb.keys[l], string(key)+`"`)
		id = uint8(len(kb.keys[l]))
		kb.ids[l][slot] = id
	}
	if id != unknownKey && prev != unknownKey {
		kb.next[l][prev] = keyGuess{quoted: kb.keys[l][id-1], f: f, id: id}
	}
	return id
}

// bookSlot is where a key's id is looked for first in keyBook.ids.
func bookSlot(key []byte) int {
	n := len(key)
	h := n * 131
	if n > 0 {
		h += int(key[0])*31 + int(key[n/2])*7 + int(key[n-1])
	}
	return h % (2 * maxKeys)
}

func asciiEqualFold(b []byte, s string) bool {
	for i, c := range b {
		d := s[i]
		if c|0x20 != d|0x20 || c|0x20 < 'a' || c|0x20 > 'z' {
			if c != d {
				return false
			}
		}
	}
	return true
}

// maxFieldName is the length of the longest field name; longer keys name no field.
const maxFieldName = len("additionalEventData")

// headReader reads heads. It is reused from record to record and belongs to one Scanner.
type headReader struct {
	jsonText // the document
	book     keyBook
	memo     identityMemo
	rec      Record
	session  SessionContext
	readOnly bool
	// otherTimeForm says the eventTime read was not in CloudTrail's own form (readEventTime).
	otherTimeForm bool
	nonASCII      bool // a string of the record holds a byte ≥ 0x80
	unsure        bool
}

// read skims the value at b[i] (a record, or anything else an array of records may hold) and
// returns the offset after it, or -1 if it is not valid JSON; vouched says whether the head in
// r.rec can be trusted.
func (r *headReader) read(i int) (end int, vouched bool) {
	b := r.b
	if i >= len(b) || b[i] != '{' {
		// Not an object: the parser says what is wrong with it.
		end, _ = r.skim(i)
		return end, false
	}
	r.rec = Record{}
	r.unsure, r.nonASCII, r.otherTimeForm = false, false, false
	var seen [fieldCount]bool
	if end = r.object(levelRecord, i, 1, &seen); end < 0 {
		return -1, false
	}
	rec := &r.rec
	if r.unsure || rec.EventName == "" || rec.EventSource == "" || rec.EventTime.IsZero() ||
		end-i > MaxRecordBytes || r.nonASCII && !utf8.Valid(b[i:end]) {
		return end, false
	}
	return end, true
}

// object reads the fields of an object at level l, whose '{' is at b[i], at nesting depth.
func (r *headReader) object(l level, i, depth int, seen *[fieldCount]bool) int {
	b := r.b
	if i = skipBlanks(b, i+1); i < len(b) && b[i] == '}' {
		return i + 1
	}
	prev := uint8(0) // the id of the key before (keyBook)
	for {
		if i >= len(b) || b[i] != '"' {
			return -1
		}
		kstart := i + 1
		var f field
		if g := r.book.guess(l, prev, b, kstart); g != nil {
			i, f, prev = kstart+len(g.quoted), g.f, g.id
			if f != fieldNone && seen[f] {
				r.unsure = true
			}
		} else {
			end, escaped, nonASCII := r.stringEnd(kstart)
			if end < 0 {
				return -1
			}
			r.nonASCII = r.nonASCII || nonASCII
			key := b[kstart : end-1]
			var plain bool
			if f, plain = r.keyField(l, key, escaped, nonASCII, seen); plain {
				prev = r.book.learn(l, prev, key, f)
			} else {
				prev = unknownKey
			}
			i = end
		}
		if i < len(b) && b[i] <= ' ' {
			i = skipBlanks(b, i)
		}
		if i >= len(b) || b[i] != ':' {
			return -1
		}
		if i++; i < len(b) && b[i] <= ' ' {
			i = skipBlanks(b, i)
		}
		if f == fieldNone || r.unsure {
			var h bool
			i, h = r.skim(i)
			r.nonASCII = r.nonASCII || h
		} else {
			seen[f] = true
			i = r.field(l, f, i, depth)
		}
		if i < 0 {
			return -1
		}
		if i < len(b) && b[i] <= ' ' {
			i = skipBlanks(b, i)
		}
		if i >= len(b) {
			return -1
		}
		switch b[i] {
		case ',':
			if i++; i < len(b) && b[i] <= ' ' {
				i = skipBlanks(b, i)
			}
		case '}':
			return i + 1
		default:
			return -1
		}
	}
}

// field reads the value at b[i] of a typed field of level l and returns the offset after it.
func (r *headReader) field(l level, f field, i, depth int) int {
	b := r.b
	if i >= len(b) {
		return -1
	}
	c := b[i]
	switch f {
	case fieldRequestParameters, fieldResponseElements, fieldAdditionalEventData:
		end, h := r.skim(i)
		r.nonASCII = r.nonASCII || h
		return end
	case fieldReadOnly:
		switch c {
		case 't':
			r.readOnly = true
			r.rec.ReadOnly = &r.readOnly
			return literal(b, i, "true")
		case 'f':
			r.readOnly = false
			r.rec.ReadOnly = &r.readOnly
			return literal(b, i, "false")
		}
	case fieldUserIdentity, fieldSessionContext, fieldSessionIssuer, fieldAttributes:
		if c == '{' {
			if depth+1 > maxSkimDepth {
				return -1
			}
			var seen [fieldCount]bool
			switch f {
			case fieldUserIdentity:
				return r.userIdentity(i, depth+1)
			case fieldSessionContext:
				r.session = SessionContext{}
				r.rec.UserIdentity.SessionContext = &r.session
				return r.object(levelSessionContext, i, depth+1, &seen)
			case fieldSessionIssuer:
				return r.object(levelSessionIssuer, i, depth+1, &seen)
			default:
				return r.object(levelAttributes, i, depth+1, &seen)
			}
		}
		if f == fieldSessionContext && c == 'n' {
			r.rec.UserIdentity.SessionContext = nil
		}
	default: // strings
		if c == '"' {
			end, escaped, nonASCII := r.stringEnd(i + 1)
			if end < 0 {
				return -1
			}
			r.nonASCII = r.nonASCII || nonASCII
			raw := b[i+1 : end-1]
			if escaped {
				var s string
				if json.Unmarshal(b[i:end], &s) != nil {
					r.unsure = true
				}
				raw = []byte(s)
			}
			if f == fieldEventTime {
				// CloudTrail's own form first, without a call more (readEventTime would try it
				// first too).
				var ok bool
				if r.rec.EventTime, ok = utcSecond(raw); ok {
					r.otherTimeForm = false
					return end
				}
				if r.rec.EventTime, _, ok = readEventTime(raw); !ok {
					r.unsure = true
				}
				r.otherTimeForm = true
				return end
			}
			var s string
			if len(raw) > 0 {
				s = unsafe.String(&raw[0], len(raw))
			}
			r.setString(l, f, s)
			return end
		}
		if f == fieldEventTime {
			r.unsure = true // null or not a string: the parser says which
		}
	}
	if c == 'n' {
		return literal(b, i, "null") // null leaves a field as it is, as encoding/json does
	}
	r.unsure = true // a type encoding/json would refuse
	end, h := r.skim(i)
	r.nonASCII = r.nonASCII || h
	return end
}

// setString sets a string field of level l.
func (r *headReader) setString(l level, f field, s string) {
	rec := &r.rec
	switch l {
	case levelRecord:
		switch f {
		case fieldEventVersion:
			rec.EventVersion = s
		case fieldEventID:
			rec.EventID = s
		case fieldEventSource:
			rec.EventSource = s
		case fieldEventName:
			rec.EventName = s
		case fieldEventType:
			rec.EventType = s
		case fieldAWSRegion:
			rec.AWSRegion = s
		case fieldSourceIPAddress:
			rec.SourceIPAddress = s
		case fieldUserAgent:
			rec.UserAgent = s
		case fieldErrorCode:
			rec.ErrorCode = s
		case fieldErrorMessage:
			rec.ErrorMessage = s
		case fieldRecipientAccountID:
			rec.RecipientAccountID = s
		}
	case levelUserIdentity:
		id := &rec.UserIdentity
		switch f {
		case fieldType:
			id.Type = s
		case fieldPrincipalID:
			id.PrincipalID = s
		case fieldARN:
			id.ARN = s
		case fieldAccountID:
			id.AccountID = s
		case fieldAccessKeyID:
			id.AccessKeyID = s
		case fieldUserName:
			id.UserName = s
		case fieldInvokedBy:
			id.InvokedBy = s
		}
	case levelSessionIssuer:
		is := &r.session.SessionIssuer
		switch f {
		case fieldType:
			is.Type = s
		case fieldARN:
			is.ARN = s
		case fieldAccountID:
			is.AccountID = s
		case fieldUserName:
			is.UserName = s
		}
	case levelAttributes:
		switch f {
		case fieldMFAAuthenticated:
			r.session.Attributes.MFAAuthenticated = s
		case fieldCreationDate:
			r.session.Attributes.CreationDate = s
		}
	}
}

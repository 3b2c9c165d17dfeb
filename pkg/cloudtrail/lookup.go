package cloudtrail

import (
	"encoding/json"
	"unicode/utf8"
)

// lookupEvent reads an Event of aws cloudtrail lookup-events output (an element of its Events,
// or a line of JSON Lines of them). Its CloudTrailEvent is the record, as JSON text held in a
// string: the text is decoded and read as a record, with every check a record gets, and the
// text is its Raw. A CloudTrailEvent already decoded into an object (jq's fromjson) is read as
// the record too.
// Reference: https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_Event.html
func (p *parser) lookupEvent(raw []byte, at Position) {
	if raw[0] != '{' {
		p.fail(at, "lookup-events Event is %s, not an object", jsonKind(raw[0]))
		return
	}
	if len(raw) > maxEventBytes {
		p.fail(at, "lookup-events Event is %d bytes, over the %d byte limit", len(raw), maxEventBytes)
		return
	}
	if !utf8.Valid(raw) {
		// encoding/json would quietly turn the bad bytes of the text into U+FFFD.
		p.fail(at, "lookup-events Event holds invalid UTF-8")
		return
	}
	// A map keeps keys as they are spelled: the API's are exact, and a look-alike is refused.
	var ev map[string]json.RawMessage
	if err := json.Unmarshal(raw, &ev); err != nil {
		p.fail(errAt(at, raw, err), "%s", describe(truncation(raw, err), "lookup-events Event"))
		return
	}
	what := "lookup-events Event"
	var id string
	if json.Unmarshal(ev["EventId"], &id) == nil && id != "" {
		what += " " + clip([]byte(id), 64)
	}
	text, ok := ev["CloudTrailEvent"]
	switch {
	case !ok:
		p.fail(at, "%s has no CloudTrailEvent (keys are case-sensitive)", what)
		return
	case text[0] == '{':
		p.record(text, at, "")
		return
	case text[0] != '"':
		p.fail(at, "%s: CloudTrailEvent is %s, not a string holding a record's JSON text", what, jsonKind(text[0]))
		return
	}
	var s string
	if err := json.Unmarshal(text, &s); err != nil {
		p.fail(at, "%s: CloudTrailEvent: %v", what, err)
		return
	}
	rec := trimBlanks([]byte(s))
	if len(rec) == 0 {
		p.fail(at, "%s: CloudTrailEvent is empty", what)
		return
	}
	if err := json.Unmarshal(rec, new(skipValue)); err != nil {
		p.fail(at, "%s: CloudTrailEvent is not JSON: %s", what, describe(truncation(rec, err), "record"))
		return
	}
	p.record(rec, at, "")
}

// maxEventBytes is the largest lookup-events Event read: one holding a record of MaxRecordBytes
// as text, escaped at six bytes a byte at the most, and the Event's own fields. A larger one
// could not hold a record that is read, and is refused before it is copied.
const maxEventBytes = 6*MaxRecordBytes + 1<<20

// hasKey reports whether the JSON object data, which is valid JSON, has key at its top level,
// spelled exactly as key (an escaped key is compared as it decodes).
func hasKey(data []byte, key string) bool {
	t := newJSONText(data)
	i := skipBlanks(data, 1)
	for i < len(data) && data[i] == '"' {
		end, escaped, _ := t.stringEnd(i + 1)
		if end < 0 {
			return hasKeyDecoded(data, key)
		}
		if escaped {
			var s string
			if json.Unmarshal(data[i:end], &s) == nil && s == key {
				return true
			}
		} else if string(data[i+1:end-1]) == key {
			return true
		}
		if i = skipBlanks(data, end); i >= len(data) || data[i] != ':' {
			return hasKeyDecoded(data, key)
		}
		if i, _ = t.skim(skipBlanks(data, i+1)); i < 0 {
			return hasKeyDecoded(data, key) // nested deeper than the skimmer follows
		}
		if i = skipBlanks(data, i); i >= len(data) || data[i] != ',' {
			return false
		}
		i = skipBlanks(data, i+1)
	}
	return false
}

// hasKeyDecoded is hasKey through encoding/json.
func hasKeyDecoded(data []byte, key string) bool {
	var keys map[string]skipValue
	if json.Unmarshal(data, &keys) != nil {
		return false
	}
	_, ok := keys[key]
	return ok
}

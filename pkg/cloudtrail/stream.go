package cloudtrail

import (
	"encoding/json"
	"errors"
)

// arrayForm is a form of input whose records are the elements of an array: read by stream, so
// that the elements before a syntax error are still read.
type arrayForm uint8

const (
	// logFileForm is a CloudTrail log file: {"Records":[record, …]}.
	logFileForm arrayForm = iota
	// lookupForm is the output of aws cloudtrail lookup-events: {"Events":[Event, …],
	// "NextToken":…}, each Event holding its record as JSON text (see lookupEvent).
	// Reference: https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupEvents.html
	lookupForm
	// topLevelArray is an array at the top level, of records and EventBridge events (jq -s, and
	// attack-simulation logs) or of lookup-events Events.
	topLevelArray
)

// what names the document in errors.
func (f arrayForm) what() string {
	return [...]string{"log file", "lookup-events output", "array"}[f]
}

// key is the key of the array in the document's object, or "" for an array at the top level.
func (f arrayForm) key() string { return [...]string{"Records", "Events", ""}[f] }

// element names an element in errors.
func (f arrayForm) element() string { return [...]string{"record", "event", "element"}[f] }

// read reads one element, raw, of the array.
func (f arrayForm) read(p *parser, raw []byte, at Position) {
	switch f {
	case logFileForm:
		p.record(raw, at, "")
	case lookupForm:
		p.lookupEvent(raw, at)
	default:
		p.element(raw, at)
	}
}

// stream reads the array of a document of form f, so that the elements before a syntax error
// are still yielded. It returns the offset in data just after the last element it read.
func (p *parser) stream(data []byte, at Position, f arrayForm) int {
	good, exact := p.readArray(data, at, f, false)
	if !exact {
		p.readArray(data, at, f, true)
	}
	return good
}

// readArray is stream. The Decoder is given data through a blankSkipper, which leaves out long
// runs of blanks. Most offsets map back exactly, but the offset in a syntax error about the
// document's own keys and brackets counts either all the bytes read or only those read as
// values (which is which is the Decoder's affair), so with a run left out it cannot be mapped
// back. Such an error is not reported: readArray returns exact false, and the caller reads data
// again with every blank (again true), yielding that error and none of the elements before it,
// which were yielded the first time.
func (p *parser) readArray(data []byte, at Position, f arrayForm, again bool) (good int, exact bool) {
	in := &blankSkipper{data: data, keep: again}
	dec := json.NewDecoder(in)
	a := &arrayReader{f: f, at: at, again: again, exact: true, lines: lineCounter{doc: data, first: at.Line, line: at.Line}}
	if _, err := dec.Token(); err != nil { // '{' or '['
		a.logErr(p, in, err)
		return 0, a.exact
	}
	if f.key() == "" {
		a.elements(p, dec, in, data)
		return a.good, a.exact
	}
	found := false
	for dec.More() && !p.stopped {
		tok, err := dec.Token()
		if err != nil {
			a.logErr(p, in, err)
			return a.good, a.exact
		}
		if key, _ := tok.(string); key != f.key() {
			if err := dec.Decode(new(skipValue)); err != nil {
				a.logErr(p, in, err)
				return a.good, a.exact
			}
			continue
		}
		found = true
		if tok, err := dec.Token(); err != nil {
			a.logErr(p, in, err)
			return a.good, a.exact
		} else if tok != json.Delim('[') {
			p.fail(at, "%s is not an array", f.key())
			return a.good, a.exact
		}
		if !a.elements(p, dec, in, data) {
			return a.good, a.exact
		}
	}
	// encoding/json matched the key without regard to case to send the value here; the
	// document's key is exactly f.key(), and a look-alike must not pass in silence.
	if !found && !p.stopped && a.exact {
		p.fail(at, "%s has no %q array (keys are case-sensitive)", f.what(), f.key())
	}
	return a.good, a.exact
}

// arrayReader reads the elements of an array for readArray. It holds neither the parser nor the
// Decoder: escape analysis would send the parser to the heap.
type arrayReader struct {
	f     arrayForm
	at    Position
	lines lineCounter
	again bool
	exact bool
	good  int // the offset after the last element read
}

func (a *arrayReader) lineAt(off int) int {
	if a.at.Line == 0 {
		return 0
	}
	return a.lines.at(off)
}

// logErr reports an error about the document's own keys and brackets (see readArray).
func (a *arrayReader) logErr(p *parser, in *blankSkipper, err error) {
	var se *json.SyntaxError
	if errors.As(err, &se) && len(in.cuts) > 0 {
		a.exact = false
		return
	}
	p.fail(a.at, "%s", describe(err, a.f.what()))
}

// elements reads the elements of the array whose '[' dec has read, and its ']'. It returns
// false if the reading of the document must stop.
func (a *arrayReader) elements(p *parser, dec *json.Decoder, in *blankSkipper, data []byte) bool {
	for i := 0; dec.More() && !p.stopped; i++ {
		start, comma := elementStart(data, in.offset(dec.InputOffset()))
		at := a.at
		at.Index, at.Line = i, a.lineAt(start)
		if err := dec.Decode(new(skipValue)); err != nil {
			var se *json.SyntaxError
			if errors.As(err, &se) && (comma || i == 0) {
				// The decoder's offsets leave out what Token read: find the break again,
				// counting from the element.
				if uerr := json.Unmarshal(data[start:], new(skipValue)); errors.As(uerr, &se) {
					err = truncation(data[start:], se)
					at.Line = a.lineAt(start + int(se.Offset) - 1)
				}
			} else if errors.As(err, &se) {
				// The Decoder found no comma where start is, and gave as offset its
				// position there.
				se.Offset = int64(in.offset(se.Offset))
			}
			p.fail(at, "%s; %ss after it are unreadable", describe(err, a.f.element()), a.f.element())
			return false
		}
		a.good = in.offset(dec.InputOffset())
		if !a.again {
			p.sawJSON()
			a.f.read(p, data[start:a.good], at)
		}
	}
	if _, err := dec.Token(); err != nil { // ']'
		a.logErr(p, in, err)
		return false
	}
	return !p.stopped
}

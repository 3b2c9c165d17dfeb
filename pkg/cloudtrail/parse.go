package cloudtrail

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"reflect"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"
)

// Limits on what one read accepts, so that hostile input cannot take unbounded memory.
const (
	// MaxRecordBytes is the largest single record accepted. CloudTrail's own records are far
	// smaller; EventBridge caps a whole event at 256 KB.
	MaxRecordBytes = 4 << 20
	// MaxDocumentBytes is the largest line of JSON Lines, or whole multi-line JSON document,
	// accepted. CloudTrail log files are one line each and well under this.
	MaxDocumentBytes = 256 << 20
)

// CloudTrail detail-types that EventBridge uses for CloudTrail records.
// Reference: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-event-cloudtrail.html
var cloudTrailDetailTypes = map[string]bool{
	"AWS API Call via CloudTrail":        true,
	"AWS Console Sign In via CloudTrail": true,
	"AWS Service Event via CloudTrail":   true,
	"AWS Console Action via CloudTrail":  true,
}

// Records reads every record in r, named name in errors. It yields each record with a nil
// error, or a nil record with an *Error. An error about one record, line or document does not
// stop the reading: the records around it are still yielded. A read error (a corrupt gzip
// stream, say) is the last value yielded. An error's Scope says whether it is about one record
// or about the input as a whole.
//
// r may be gzip-compressed (told by its magic bytes) and may hold an EventBridge event, a bare
// record, a CloudTrail log file, the output of aws cloudtrail lookup-events or one of its
// Events, an array of records or events, several of these concatenated, or JSON Lines of them
// (docs/replay.md lists the forms).
func Records(name string, r io.Reader) iter.Seq2[*Record, error] {
	return func(yield func(*Record, error) bool) {
		p := &parser{name: name, yield: yield}
		p.run(r)
	}
}

// Decode parses one JSON value (an EventBridge event, a bare record, a log file, or another
// form Records reads) held in memory, as the Lambda receives it.
func Decode(name string, data []byte) ([]*Record, []error) {
	var recs []*Record
	var errs []error
	p := &parser{name: name, yield: func(r *Record, err error) bool {
		if err != nil {
			errs = append(errs, err)
		} else {
			recs = append(recs, r)
		}
		return true
	}}
	data = trimBlanks(data)
	if json.Valid(data) {
		p.sawJSON()
	}
	p.value(data, Position{Name: name, Index: -1})
	p.finish()
	return recs, errs
}

type parser struct {
	name    string
	yield   func(*Record, error) bool
	stopped bool
	// scan, when set, is the Scanner reading: it lends its buffers, counts, filters records
	// through Want and reads one-line log files its own fast way.
	scan *Scanner
	// found says a JSON value has been found in the input. Until one is, errors are held: if
	// JSON follows, they were about parts of the input (ScopeRecord) and are yielded then, in
	// order; if none does, the input is not JSON at all, and they become one error about it.
	found    bool
	held     []*Error
	heldMore int // errors past maxHeld, counted
}

// maxHeld is how many errors are held while no JSON has been found (a few MB at most). An input
// whose first maxHeld parts hold no JSON value is not JSON: it is reported as such and not read
// further.
const maxHeld = 10000

func (p *parser) emit(rec *Record, err error) bool {
	if p.stopped {
		return false
	}
	if s := p.scan; s != nil && err != nil {
		if IsInputError(err) {
			s.inputErrors.Add(1)
		} else {
			s.recordErrors.Add(1)
		}
	}
	if !p.yield(rec, err) {
		p.stopped = true
	}
	return !p.stopped
}

// fail reports a problem with one part of the input (ScopeRecord), or holds it until a JSON
// value is found (see parser.found).
func (p *parser) fail(pos Position, format string, args ...any) bool {
	e := &Error{Pos: pos, Err: fmt.Errorf(format, args...)}
	if p.found {
		return p.emit(nil, e)
	}
	if len(p.held) < maxHeld {
		p.held = append(p.held, e)
		return !p.stopped
	}
	p.heldMore++
	p.giveUp("the first %d parts of the input hold no JSON value; the rest is not read", maxHeld)
	return false
}

// failInput reports a problem with the input as a whole (ScopeInput). The errors held before
// it are yielded first, as they are: an input that breaks off cannot be said to hold no JSON.
func (p *parser) failInput(pos Position, format string, args ...any) bool {
	p.yieldHeld()
	return p.emit(nil, &Error{Pos: pos, Err: fmt.Errorf(format, args...), Scope: ScopeInput})
}

// sawJSON notes that a JSON value was found in the input, and yields the errors held before it.
func (p *parser) sawJSON() {
	if p.found {
		return
	}
	p.found = true
	p.yieldHeld()
}

// yieldHeld yields the errors held, as they are.
func (p *parser) yieldHeld() {
	for _, e := range p.held {
		if !p.emit(nil, e) {
			break
		}
	}
	p.held = nil
}

// finish turns the errors held when the input ends without JSON into one error about the
// input: the first, with a count of the others.
func (p *parser) finish() {
	if !p.found && len(p.held) > 0 {
		p.giveUp("the input holds no JSON value")
	}
}

// giveUp yields the errors held as one about the input, saying why, and stops the reading.
func (p *parser) giveUp(format string, args ...any) {
	first, more := p.held[0], len(p.held)-1+p.heldMore
	p.held, p.heldMore = nil, 0
	why := fmt.Sprintf(format, args...)
	if more > 0 {
		why += fmt.Sprintf(" (%d more parts are not JSON either)", more)
	}
	p.emit(nil, &Error{Pos: first.Pos, Err: fmt.Errorf("%w; %s", first.Err, why), Scope: ScopeInput})
	p.stopped = true
}

var errLineTooLong = errors.New("line too long")

// run reads r a line at a time, so that JSON Lines and one-line log files of any length take
// memory for one line only. A value that spans lines sends the rest of the input, up to
// MaxDocumentBytes, into memory as one document.
func (p *parser) run(r io.Reader) {
	br, gzipped, err := p.open(r)
	if err != nil {
		p.failInput(Position{Name: p.name, Index: -1}, "gzip header: %w", err)
		return
	}
	lr := &lineReader{br: br, max: MaxDocumentBytes}
	if p.scan != nil {
		lr.bufs = p.scan.lines
		defer func() { p.scan.lines = lr.bufs }()
	}
	seen := false
	for !p.stopped {
		l, ok := lr.next()
		if !ok {
			break
		}
		at := Position{Name: p.name, Line: l.no, Index: -1}
		switch {
		case l.tooLong:
			seen = true
			p.fail(at, "line longer than the %d byte limit", MaxDocumentBytes)
		case len(l.text) == 0:
		case p.scan != nil && p.scan.Want != nil && firstKey(l.text) == "Records" && p.scan.logFile(p, l.text, at):
			seen = true
		case json.Valid(l.text):
			seen = true
			p.sawJSON()
			p.value(l.text, at)
		default:
			seen = true
			p.badLine(lr, l)
		}
	}
	at := Position{Name: p.name, Line: lr.errLine, Index: -1}
	switch {
	case p.stopped:
	case lr.err != io.EOF && !gzipped:
		p.failInput(at, "read: %w", lr.err)
	case lr.err != io.EOF && errors.Is(lr.err, io.ErrUnexpectedEOF):
		p.failInput(at, "gzip stream truncated: %w", lr.err)
	case lr.err != io.EOF:
		p.failInput(at, "gzip stream corrupt: %w", lr.err)
	case !seen:
		p.failInput(Position{Name: p.name, Index: -1}, "empty input: no JSON found")
	default:
		p.finish()
	}
}

// badLine handles a line that is not one JSON value: a broken line of JSON Lines, several values
// on one line, or the first line of a value that spans lines. The next non-blank line tells
// which: if there is none, or it looks like a line of JSON Lines, this line is read on its own.
func (p *parser) badLine(lr *lineReader, first line) {
	first = lr.keep(first)
	var blanks []byte // the blank lines after first, kept in case a value spans them
	next, ok := lr.next()
	for ok && len(next.text) == 0 && !next.tooLong {
		if len(blanks) <= MaxDocumentBytes {
			blanks = append(append(blanks, next.raw...), '\n')
		}
		next, ok = lr.next()
	}
	if !ok || next.tooLong || jsonLine(next.text, next.indented) {
		p.document(first.text, first.no)
		if ok {
			lr.pending = &next
		}
		return
	}

	// A value spans lines: read the rest of the input as one document, byte for byte.
	if len(first.raw)+len(blanks)+len(next.raw)+2 > MaxDocumentBytes {
		p.failInput(Position{Name: p.name, Line: first.no, Index: -1}, "document larger than the %d byte limit", MaxDocumentBytes)
		if lr.err == nil {
			lr.err = io.EOF // the rest is not read
		}
		return
	}
	doc := make([]byte, 0, 64<<10)
	doc = append(append(doc, first.raw...), '\n')
	doc = append(doc, blanks...)
	doc = append(append(doc, next.raw...), '\n')
	if lr.err == nil {
		var err error
		doc, err = readAtMost(lr.br, doc, MaxDocumentBytes)
		lr.err = io.EOF
		if err != nil {
			// What was read before the stream broke is parsed; the read error comes last.
			lr.err, lr.errLine = err, first.no+bytes.Count(doc, newline)
		}
	}
	if len(doc) > MaxDocumentBytes {
		p.failInput(Position{Name: p.name, Line: first.no, Index: -1}, "document larger than the %d byte limit", MaxDocumentBytes)
		return
	}
	p.document(doc, first.no)
}

// readAtMost appends r to buf until the end of r or until buf holds more than max bytes.
// A clean end of input is not an error.
func readAtMost(r io.Reader, buf []byte, max int) ([]byte, error) {
	var more blocks
	err := more.readFrom(r, max+1-len(buf))
	return more.appendTo(buf), err
}

// blocks gathers bytes whose number is not known in advance, to be joined into one slice once.
// A slice grown by append is copied at every growth, and a large one grows by a quarter, so
// gathering n bytes that way allocates about 5n; blocks that double in size, then one copy,
// allocate about 2n.
type blocks struct {
	full [][]byte
	last []byte
	n    int
}

// space returns the free room of the last block, adding a block if it has none.
func (b *blocks) space() []byte {
	if len(b.last) == cap(b.last) {
		if b.last != nil {
			b.full = append(b.full, b.last)
		}
		b.last = make([]byte, 0, min(max(2*cap(b.last), 64<<10), 8<<20))
	}
	return b.last[len(b.last):cap(b.last)]
}

func (b *blocks) write(p []byte) {
	for len(p) > 0 {
		k := copy(b.space(), p)
		b.last, b.n, p = b.last[:len(b.last)+k], b.n+k, p[k:]
	}
}

// readFrom reads r until its end or until more than max bytes are held. A clean end of input
// is not an error.
func (b *blocks) readFrom(r io.Reader, max int) error {
	for b.n < max {
		room := b.space()
		k, err := r.Read(room[:min(len(room), max-b.n)])
		b.last, b.n = b.last[:len(b.last)+k], b.n+k
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// appendTo appends the bytes gathered to dst, growing it at most once.
func (b *blocks) appendTo(dst []byte) []byte {
	dst = slices.Grow(dst, b.n)
	for _, f := range b.full {
		dst = append(dst, f...)
	}
	return append(dst, b.last...)
}

// document reads doc, which began on line firstLine, as a run of JSON values: pretty-printed
// events, records and log files, several values on one line, or lines of JSON Lines. A broken
// value is reported and reading picks up again at the next line that looks like the beginning
// of a value, so that one broken value does not hide the ones after it. No byte is scanned more
// than a few times, so hostile input cannot make the reading quadratic.
func (p *parser) document(doc []byte, firstLine int) {
	lines := lineCounter{doc: doc, first: firstLine, line: firstLine}
	lastEOL, oneLine := -1, false // whether values on the line ending at lastEOL end on it
	for off := 0; !p.stopped; {
		if off = skipBlanks(doc, off); off == len(doc) {
			return
		}
		at := Position{Name: p.name, Line: lines.at(off), Index: -1}
		eol := lineEnd(doc, off)
		if c := doc[off]; c != '{' && c != '[' {
			p.fail(at, "not JSON: line starts with %q", clip(doc[off:eol], 16))
			off = resync(doc, eol)
			continue
		}
		// A value may run on past this line only if the next line does not look like a line
		// of JSON Lines. Deciding before scanning keeps a broken line from being scanned
		// together with all the lines after it, and then each of those again.
		if eol != lastEOL {
			next := skipBlanks(doc, eol)
			lastEOL = eol
			oneLine = next == len(doc) || jsonLine(trimBlanks(doc[next:lineEnd(doc, next)]), next != lineStart(doc, next))
		}
		end := len(doc)
		if oneLine {
			end = eol
		}
		in := &blankSkipper{data: doc[off:end]}
		dec := json.NewDecoder(in)
		err := dec.Decode(new(skipValue))
		switch {
		case err == nil:
			n := off + in.offset(dec.InputOffset())
			p.sawJSON()
			p.value(doc[off:n], at)
			off = n
		case end == eol:
			// A broken line of JSON Lines.
			p.value(trimBlanks(doc[off:eol]), at)
			off = eol
		default:
			// A value that spans lines is broken. Yield what can be read of it, and go on at
			// the first line after the break that looks like the beginning of a value.
			good := p.value(doc[off:], at)
			broke := len(doc)
			var se *json.SyntaxError
			if errors.As(err, &se) && se.Offset > 0 {
				broke = min(off+in.offset(se.Offset-1), len(doc)) // the byte at which the error was found
			}
			off = resync(doc, max(lineStart(doc, broke), off+good, off+1))
		}
	}
}

// jsonLine reports whether a line (without the blanks around it) looks like a line of JSON
// Lines rather than the inside of a value that spans lines: an object that is whole, or that
// begins in the first column and is not an element of an enclosing array (ending in a comma).
func jsonLine(text []byte, indented bool) bool {
	if len(text) == 0 || text[0] != '{' {
		return false
	}
	return !indented && text[len(text)-1] != ',' || json.Valid(text)
}

// resync returns the offset of the first line at or after from that looks like a line of JSON
// Lines, or len(doc).
func resync(doc []byte, from int) int {
	i := from
	if i > 0 && i < len(doc) && doc[i-1] != '\n' {
		i = lineEnd(doc, i) // from is inside a line: start at the next one
	}
	for i < len(doc) {
		eol := lineEnd(doc, i)
		if start := skipBlanks(doc[:eol], i); jsonLine(trimBlanks(doc[start:eol]), start != i) {
			return start
		}
		i = eol + 1
	}
	return len(doc)
}

// value classifies one top-level JSON value and yields the records in it. For a log file,
// lookup-events output or array it returns how many leading bytes of data it read before an
// error; otherwise 0.
func (p *parser) value(data []byte, at Position) int {
	if len(data) == 0 {
		p.failInput(at, "empty input: no JSON found")
		return 0
	}
	switch data[0] {
	case '{':
		return p.object(data, at, false)
	case '[':
		return p.stream(data, at, topLevelArray)
	}
	if !json.Valid(data) {
		p.fail(at, "not JSON: starts with %q", clip(data, 16))
	} else {
		p.fail(at, "expected a JSON object or array (record, event, log file …), found %s", jsonKind(data[0]))
	}
	return 0
}

// element reads an element of an array at the top level: a record, an EventBridge event or a
// lookup-events Event.
func (p *parser) element(raw []byte, at Position) {
	if raw[0] != '{' {
		p.fail(at, "array element is %s, not an object (a record or an EventBridge event)", jsonKind(raw[0]))
		return
	}
	p.object(raw, at, true)
}

// object classifies a JSON object, and yields the records in it. In an array (inArray) it may
// not hold records of its own (a log file or lookup-events output), whose indexes would be lost.
// It returns what value returns.
func (p *parser) object(data []byte, at Position, inArray bool) int {
	if !inArray {
		switch firstKey(data) {
		case "Records":
			return p.stream(data, at, logFileForm)
		case "Events":
			return p.stream(data, at, lookupForm)
		}
	}
	var head struct {
		Records         json.RawMessage `json:"Records"`
		Events          json.RawMessage `json:"Events"`
		DetailType      *string         `json:"detail-type"`
		Source          string          `json:"source"`
		Detail          json.RawMessage `json:"detail"`
		CloudTrailEvent json.RawMessage `json:"CloudTrailEvent"`
		EventName       json.RawMessage `json:"eventName"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		err = truncation(data, err)
		p.fail(errAt(at, data, err), "%s", describe(err, "JSON"))
		return 0
	}
	switch {
	case (head.Records != nil || head.Events != nil) && inArray:
		p.fail(at, "array element is a log file or lookup-events output: give it on its own, not in an array")
	case head.Records != nil:
		return p.stream(data, at, logFileForm)
	case head.Events != nil:
		return p.stream(data, at, lookupForm)
	case head.DetailType != nil:
		if !cloudTrailDetailTypes[*head.DetailType] {
			p.fail(at, "EventBridge event with detail-type %q is not a CloudTrail event", *head.DetailType)
			return 0
		}
		if len(head.Source) < 5 || head.Source[:4] != "aws." {
			// Only AWS services can put events with an aws.* source on a bus; anything else
			// claiming to be CloudTrail is forged or misrouted.
			p.fail(at, "EventBridge event source %q is not an AWS service (aws.*)", head.Source)
			return 0
		}
		if len(head.Detail) == 0 || head.Detail[0] != '{' {
			p.fail(at, "EventBridge event has no detail object")
			return 0
		}
		p.record(head.Detail, at, *head.DetailType)
	case head.CloudTrailEvent != nil:
		p.lookupEvent(data, at)
	case head.EventName != nil:
		// A lookup-events Event without its CloudTrailEvent has an EventName, which
		// encoding/json matches to eventName: its EventId, which no record has, tells it.
		if hasKey(data, "EventId") {
			p.lookupEvent(data, at)
			return 0
		}
		p.record(data, at, "")
	default:
		p.fail(at, "not a CloudTrail record, EventBridge event, log file or lookup-events output: no eventName, detail-type, Records, Events or CloudTrailEvent")
	}
	return 0
}

// maxBlankRun is the longest run of blanks outside strings that a blankSkipper gives whole.
const maxBlankRun = 64

// blankSkipper reads data to an encoding/json Decoder, giving only the first byte of each run of
// more than maxBlankRun blanks outside strings. A Decoder keeps all it has read since the value
// it is reading began (and More and Token keep the blanks they pass), growing its buffer by
// doubling: megabytes of blanks inside a document held in memory would be copied whole, more
// than once. The Decoder reads the same tokens without the rest of the run, since the byte kept
// still ends a number or literal before it, and offset maps its offsets back into data.
type blankSkipper struct {
	data     []byte
	keep     bool // give every byte
	off      int  // the next byte of data to give
	given    int  // bytes given
	inString bool
	escaped  bool
	cuts     []blankCut
}

// blankCut says that the bytes given from at on follow skipped bytes of data (in all) left out.
type blankCut struct{ at, skipped int }

func (s *blankSkipper) Read(p []byte) (int, error) {
	if s.off == len(s.data) {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && s.off < len(s.data) {
		// Give the bytes up to the next one that changes what a blank means, at once.
		rest := s.data[s.off:min(len(s.data), s.off+len(p)-n)]
		k := 0
		switch {
		case s.escaped:
			k, s.escaped = 1, false
		case s.inString:
			for k < len(rest) && rest[k] != '"' && rest[k] != '\\' {
				k++
			}
			if k < len(rest) {
				s.escaped, s.inString = rest[k] == '\\', rest[k] != '"'
				k++
			}
		case s.keep:
			for k < len(rest) && rest[k] != '"' {
				k++
			}
		default:
			for k < len(rest) && rest[k] != '"' && !isBlank(rest[k]) {
				k++
			}
		}
		if k == 0 && !s.keep && isBlank(rest[0]) {
			end := skipBlanks(s.data, s.off)
			if end-s.off > maxBlankRun {
				skipped := end - s.off - 1
				if len(s.cuts) > 0 {
					skipped += s.cuts[len(s.cuts)-1].skipped
				}
				p[n] = rest[0]
				n, s.off = n+1, end
				s.cuts = append(s.cuts, blankCut{at: s.given + n, skipped: skipped})
				continue
			}
			k = min(end-s.off, len(rest))
		}
		if k == 0 { // a quote that begins a string
			s.inString, k = true, 1
		}
		n += copy(p[n:], rest[:k])
		s.off += k
	}
	s.given += n
	return n, nil
}

// offset returns the offset in data of the byte given at offset off.
func (s *blankSkipper) offset(off int64) int {
	i := sort.Search(len(s.cuts), func(i int) bool { return int64(s.cuts[i].at) > off })
	if i == 0 {
		return int(off)
	}
	return int(off) + s.cuts[i-1].skipped
}

// record decodes and checks one CloudTrail record.
func (p *parser) record(raw []byte, at Position, detailType string) {
	if len(raw) > MaxRecordBytes {
		p.fail(at, "record is %d bytes, over the %d byte limit", len(raw), MaxRecordBytes)
		return
	}
	if len(raw) == 0 || raw[0] != '{' {
		p.fail(at, "record is not a JSON object")
		return
	}
	if !utf8.Valid(raw) {
		// encoding/json would quietly turn the bad bytes into U+FFFD, and Raw would no longer
		// be evidence of what the decoded fields said.
		p.fail(at, "record holds invalid UTF-8")
		return
	}
	rec := &Record{}
	// eventTime is decoded apart, to say what is wrong with it: time.Time's own errors do not
	// name the field.
	type plain Record
	var fields = struct {
		*plain
		EventTime json.RawMessage `json:"eventTime"`
	}{plain: (*plain)(rec)}
	if err := json.Unmarshal(raw, &fields); err != nil {
		p.fail(at, "%s", describe(err, "record"))
		return
	}
	switch {
	case rec.EventName == "":
		p.fail(at, "record has no eventName")
		return
	case rec.EventSource == "":
		p.fail(at, "record %s has no eventSource", rec.EventName)
		return
	}
	cloudTrailForm, ok := p.eventTime(rec, fields.EventTime, at)
	if !ok {
		return
	}
	rec.Raw = append(json.RawMessage(nil), raw...)
	rec.Pos = at
	rec.DetailType = detailType
	if s := p.scan; s != nil {
		s.records.Add(1)
		s.decoded.Add(1)
		if !cloudTrailForm {
			s.otherTimeForm.Add(1)
		}
		if !s.wants(rec) {
			return
		}
		s.yielded.Add(1)
	}
	p.emit(rec, nil)
}

// eventTime reads a record's eventTime, raw, into rec, or says what is wrong with it.
// cloudTrailForm says it was in CloudTrail's own form (readEventTime).
func (p *parser) eventTime(rec *Record, raw json.RawMessage, at Position) (cloudTrailForm, ok bool) {
	var text string
	switch {
	case len(raw) == 0 || string(raw) == "null":
		p.fail(at, "record %s has no eventTime", rec.EventName)
	case json.Unmarshal(raw, &text) != nil:
		p.fail(at, "record %s eventTime %s is not a string", rec.EventName, clip(raw, 40))
	default:
		rec.EventTime, cloudTrailForm, ok = readEventTime([]byte(text))
		switch {
		case !ok:
			p.fail(at, "record %s eventTime %q is not an RFC 3339 time, nor an export's 2006-01-02 15:04:05 (UTC)", rec.EventName, clip([]byte(text), 40))
		case rec.EventTime.IsZero():
			ok = false
			p.fail(at, "record %s has no eventTime (it is the zero time)", rec.EventName)
		}
	}
	return cloudTrailForm, ok
}

// skipValue is decoded into to find where a value ends, without copying it.
type skipValue struct{}

func (*skipValue) UnmarshalJSON([]byte) error { return nil }

// truncation returns io.ErrUnexpectedEOF if err, from reading data, is data ending early;
// otherwise err. (A syntax error in data's last byte has the same offset.)
func truncation(data []byte, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) && se.Offset >= int64(len(data)) {
		if derr := json.NewDecoder(&blankSkipper{data: data}).Decode(new(skipValue)); errors.Is(derr, io.ErrUnexpectedEOF) {
			return derr
		}
	}
	return err
}

// errAt moves at to the line of a syntax error in data, which began on at's line.
func errAt(at Position, data []byte, err error) Position {
	var se *json.SyntaxError
	if at.Line > 0 && errors.As(err, &se) && se.Offset > 0 && se.Offset <= int64(len(data)) {
		at.Line += bytes.Count(data[:se.Offset-1], newline)
	}
	return at
}

// describe turns an encoding/json error into a sentence that names the field or offset.
func describe(err error, what string) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("invalid %s at byte %d: %v", what, se.Offset, se)
	case errors.As(err, &te):
		// The record is decoded through an embedded alias type, whose name encoding/json puts
		// in front of the JSON path.
		field := strings.TrimPrefix(te.Field, "plain.")
		if field == "" {
			field = "(top level)"
		}
		return fmt.Sprintf("%s field %s: expected %s, found JSON %s", what, field, jsonKindOf(te.Type), te.Value)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return fmt.Sprintf("truncated %s: unexpected end of input", what)
	}
	return fmt.Sprintf("%s: %v", what, err)
}

// kindOf names the JSON a Go type is decoded from.
func jsonKindOf(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Pointer:
		return jsonKindOf(t.Elem())
	}
	return "a number"
}

// lineReader reads lines with one line of look-ahead (pending). The text of a line stays valid
// until the next line is read, and, once kept (keep), until the second non-blank line after it
// has been read. A line that is whole in the reader's buffer is handed out where it lies, not
// copied (inPlace): most lines are used up before the next is read.
type lineReader struct {
	br      *bufio.Reader
	max     int
	bufs    [2][]byte
	cur     int // which of bufs holds the last non-blank line
	no      int // number of the last line read
	pending *line
	err     error // what ended the input: io.EOF or a read error
	errLine int   // the line being read when a read error happened
}

type line struct {
	raw      []byte // the line as read, without its newline (and without a run of blanks over maxIndent)
	text     []byte // raw without the blanks around it
	no       int
	indented bool // began with blanks
	tooLong  bool
	inPlace  bool // raw is in the bufio.Reader's buffer, valid until its next read
}

func (lr *lineReader) next() (line, bool) {
	if l := lr.pending; l != nil {
		lr.pending = nil
		return *l, true
	}
	if lr.err != nil {
		return line{}, false
	}
	i := 1 - lr.cur
	raw, dropped, n, inPlace, err := readLine(lr.br, lr.bufs[i][:0], lr.max)
	if !inPlace {
		lr.bufs[i] = raw
	}
	if n == 0 {
		lr.err, lr.errLine = err, lr.no+1
		return line{}, false
	}
	lr.no++
	text := trimBlanks(raw)
	l := line{raw: raw, text: text, no: lr.no, tooLong: err == errLineTooLong, inPlace: inPlace,
		indented: dropped > 0 || len(text) > 0 && raw[0] != text[0]}
	if err != nil && err != errLineTooLong {
		// A read error ends the input, but what was read of the line is still parsed: a
		// truncated log file keeps the records before the cut.
		lr.err, lr.errLine = err, lr.no
	}
	if len(l.text) > 0 && !inPlace {
		lr.cur = i
	}
	return l, true
}

// keep makes l outlast the reading of the lines after it, as a line read into the reader's
// own buffers does: a line handed out in place is copied into the buffer the next line will
// not be read into.
func (lr *lineReader) keep(l line) line {
	if !l.inPlace {
		return l
	}
	i := 1 - lr.cur
	lr.bufs[i] = append(lr.bufs[i][:0], l.raw...)
	if len(l.text) > 0 {
		lr.cur = i
	}
	l.raw, l.inPlace = lr.bufs[i], false
	l.text = trimBlanks(l.raw)
	return l
}

// maxIndent is the longest run of blanks at the start of a line that readLine keeps. Longer runs
// are dropped as they are read, so that whitespace takes no memory however much of it there is.
const maxIndent = 4 << 10

// readLine reads one line into buf and returns it without its newline. If the line begins with
// more than maxIndent blanks, they are left out and dropped counts them. n is the number of
// bytes consumed, 0 only at the end of input. A line over max bytes is consumed and reported as
// errLineTooLong.
//
// A line that outgrows buf is gathered in blocks and joined once (see blocks). A line that is
// whole in br's buffer, without blanks to drop, is returned where it lies there (inPlace), not
// in buf.
func readLine(br *bufio.Reader, buf []byte, max int) (text []byte, dropped, n int, inPlace bool, err error) {
	tooLong, blank := false, true // blank: no more than blanks read so far
	var more blocks               // the rest of a line that did not fit in buf
	for {
		first := n == 0
		chunk, err := br.ReadSlice('\n')
		n += len(chunk)
		if err == nil {
			chunk = chunk[:len(chunk)-1]
		}
		// The whole line in one chunk, not over max, with no run of blanks to drop before it:
		// as it lies.
		if first && err != bufio.ErrBufferFull && len(chunk) <= max && (len(chunk) <= maxIndent || !isBlank(chunk[maxIndent])) {
			return chunk, 0, n, true, err
		}
		if blank && !tooLong {
			k := 0
			for k < len(chunk) && (chunk[k] == ' ' || chunk[k] == '\t' || chunk[k] == '\r') {
				k++
			}
			blank = k == len(chunk)
			if dropped > 0 || len(buf)+k > maxIndent {
				dropped += len(buf) + k
				buf, chunk = buf[:0], chunk[k:]
			}
		}
		switch {
		case tooLong:
		case len(buf)+more.n+len(chunk) > max:
			tooLong, buf, more = true, buf[:0], blocks{}
		case more.n == 0 && (len(buf)+len(chunk) <= cap(buf) || len(buf) < 64<<10):
			buf = append(buf, chunk...)
		default:
			more.write(chunk)
		}
		switch {
		case err == bufio.ErrBufferFull:
			continue
		case tooLong && (err == nil || err == io.EOF):
			return buf, dropped, n, false, errLineTooLong
		}
		return more.appendTo(buf), dropped, n, false, err
	}
}

// lineCounter gives the line of offsets in doc, which begins on line first. It is quick when
// asked about offsets in increasing order.
type lineCounter struct {
	doc              []byte
	first, off, line int
}

func (c *lineCounter) at(off int) int {
	if off < c.off {
		c.off, c.line = 0, c.first
	}
	c.line += bytes.Count(c.doc[c.off:off], newline)
	c.off = off
	return c.line
}

var newline = []byte{'\n'}

// skipBlanks returns the offset of the first byte at or after i that is not JSON whitespace.
func skipBlanks(b []byte, i int) int {
	for i < len(b) && isBlank(b[i]) {
		i++
	}
	return i
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func trimBlanks(b []byte) []byte { return bytes.Trim(b, " \t\r\n") }

// lineEnd returns the offset of the newline ending the line that holds i, or len(b).
func lineEnd(b []byte, i int) int {
	if j := bytes.IndexByte(b[i:], '\n'); j >= 0 {
		return i + j
	}
	return len(b)
}

// lineStart returns the offset of the beginning of the line that holds i.
func lineStart(b []byte, i int) int {
	return bytes.LastIndexByte(b[:i], '\n') + 1
}

// elementStart returns where the array element after off begins, past blanks and a comma, and
// whether there was a comma.
func elementStart(data []byte, off int) (int, bool) {
	off = skipBlanks(data, off)
	if off < len(data) && data[off] == ',' {
		return skipBlanks(data, off+1), true
	}
	return off, false
}

// firstKey returns the first key of a JSON object cheaply, or "" if it cannot tell.
func firstKey(data []byte) string {
	i := skipBlanks(data, 1)
	if i >= len(data) || data[i] != '"' {
		return ""
	}
	end := bytes.IndexByte(data[i+1:], '"')
	if end < 0 {
		return ""
	}
	return string(data[i+1 : i+1+end])
}

func jsonKind(c byte) string {
	switch c {
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

func clip(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
	}
	return string(b)
}

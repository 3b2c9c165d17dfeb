package cloudtrail

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/klauspost/compress/gzip"
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

// Position says where a record or an error was found.
type Position struct {
	Name string // the file name, URL or "-" for standard input
	Line int    // 1-based line of JSON Lines input; 0 when the input is a single document
	// Index is the 0-based index in a {"Records":[…]} array, or -1 when the value was not in one.
	Index int
}

func (p Position) String() string {
	s := p.Name
	if p.Line > 0 {
		s += ":" + strconv.Itoa(p.Line)
	}
	if p.Index >= 0 {
		s += " record " + strconv.Itoa(p.Index)
	}
	return s
}

// Error is a problem with one part of the input. Reading goes on after it unless it is the
// last value Records yields.
type Error struct {
	Pos Position
	Err error
}

func (e *Error) Error() string { return e.Pos.String() + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Records reads every record in r, named name in errors. It yields each record with a nil
// error, or a nil record with an *Error. An error about one record, line or document does not
// stop the reading: the records around it are still yielded. A read error (a corrupt gzip
// stream, say) is the last value yielded.
//
// r may be gzip-compressed (told by its magic bytes) and may hold an EventBridge event, a bare
// record, a CloudTrail log file, several of these concatenated, or JSON Lines of them.
func Records(name string, r io.Reader) iter.Seq2[*Record, error] {
	return func(yield func(*Record, error) bool) {
		p := &parser{name: name, yield: yield}
		p.run(r)
	}
}

// Decode parses one JSON value (an EventBridge event, a bare record or a log file) held in
// memory, as the Lambda receives it.
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
	p.value(bytes.TrimSpace(data), Position{Name: name, Index: -1})
	return recs, errs
}

type parser struct {
	name    string
	yield   func(*Record, error) bool
	stopped bool
}

func (p *parser) emit(rec *Record, err error) bool {
	if p.stopped {
		return false
	}
	if !p.yield(rec, err) {
		p.stopped = true
	}
	return !p.stopped
}

func (p *parser) fail(pos Position, format string, args ...any) bool {
	return p.emit(nil, &Error{Pos: pos, Err: fmt.Errorf(format, args...)})
}

var errLineTooLong = fmt.Errorf("line longer than %d bytes", MaxDocumentBytes)

func (p *parser) run(r io.Reader) {
	at := Position{Name: p.name, Index: -1}
	br := bufio.NewReaderSize(r, 64<<10)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			p.fail(at, "gzip: %w", err)
			return
		}
		defer zr.Close()
		br = bufio.NewReaderSize(zr, 64<<10)
	}

	var buf []byte
	lineNo, seen := 0, false
	for !p.stopped {
		line, err := readLine(br, buf, MaxDocumentBytes)
		buf = line[:0]
		if len(line) > 0 || err == errLineTooLong {
			lineNo++
		}
		at := Position{Name: p.name, Line: lineNo, Index: -1}
		switch {
		case err == errLineTooLong:
			seen = true
			p.fail(at, "%w", err)
			continue
		case err != nil && err != io.EOF:
			p.fail(at, "read: %w", err)
			return
		}
		trimmed := bytes.TrimSpace(line)
		if len(trimmed) > 0 {
			if !seen && !json.Valid(trimmed) {
				// The first line is not a whole JSON value: either a multi-line document or
				// not JSON at all. Either way the rest is read as one document.
				p.document(br, trimmed, lineNo)
				return
			}
			seen = true
			p.value(trimmed, at)
		}
		if err == io.EOF {
			break
		}
	}
	if !seen && !p.stopped {
		p.fail(Position{Name: p.name, Index: -1}, "empty input: no JSON found")
	}
}

// readLine reads one line, without its newline, into buf. A line over max bytes is consumed and
// reported as errLineTooLong.
func readLine(br *bufio.Reader, buf []byte, max int) ([]byte, error) {
	tooLong := false
	for {
		chunk, err := br.ReadSlice('\n')
		if !tooLong && len(buf)+len(chunk) <= max {
			buf = append(buf, chunk...)
		} else {
			tooLong, buf = true, buf[:0]
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if tooLong && (err == nil || err == io.EOF) {
			return buf, errLineTooLong
		}
		return bytes.TrimSuffix(buf, []byte{'\n'}), err
	}
}

// document reads the rest of the input after first (which began on line firstLine) as one
// multi-line JSON text: a pretty-printed event or log file, or several of them concatenated.
func (p *parser) document(br *bufio.Reader, first []byte, firstLine int) {
	at := Position{Name: p.name, Index: -1}
	if c := first[0]; c != '{' && c != '[' {
		p.fail(at, "not JSON: input starts with %q", clip(first, 16))
		return
	}
	rest, err := io.ReadAll(io.LimitReader(br, MaxDocumentBytes+1))
	if err != nil {
		p.fail(at, "read: %w", err)
		return
	}
	if len(first)+len(rest) > MaxDocumentBytes {
		p.fail(at, "document larger than %d bytes", MaxDocumentBytes)
		return
	}
	doc := append(append(append([]byte{}, first...), '\n'), rest...)
	dec := json.NewDecoder(bytes.NewReader(doc))
	for !p.stopped {
		start := dec.InputOffset()
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if err == io.EOF {
			return
		}
		line := firstLine + bytes.Count(doc[:start], []byte{'\n'})
		if err != nil {
			var se *json.SyntaxError
			if errors.As(err, &se) {
				off := int(se.Offset)
				line = firstLine + bytes.Count(doc[:min(off, len(doc))], []byte{'\n'})
				// Salvage the records before the break in a log file.
				p.value(bytes.TrimSpace(doc[start:]), Position{Name: p.name, Line: line, Index: -1})
				return
			}
			p.fail(Position{Name: p.name, Line: line, Index: -1}, "%w", err)
			return
		}
		p.value(raw, Position{Name: p.name, Index: -1})
	}
}

// value classifies one top-level JSON value and yields the records in it.
func (p *parser) value(data []byte, at Position) {
	if len(data) == 0 {
		p.fail(at, "empty input: no JSON found")
		return
	}
	if data[0] != '{' {
		if !json.Valid(data) {
			p.fail(at, "not JSON: starts with %q", clip(data, 16))
		} else {
			p.fail(at, "expected a JSON object (event, record or log file), found %s", kind(data[0]))
		}
		return
	}
	if !utf8.Valid(data) {
		p.fail(at, "invalid UTF-8 in JSON text")
		return
	}
	if firstKey(data) == "Records" {
		p.logFile(data, at)
		return
	}
	var head struct {
		Records    json.RawMessage `json:"Records"`
		DetailType *string         `json:"detail-type"`
		Source     string          `json:"source"`
		Detail     json.RawMessage `json:"detail"`
		EventName  json.RawMessage `json:"eventName"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		p.fail(at, "%s", describe(err, "JSON"))
		return
	}
	switch {
	case head.Records != nil:
		p.logFile(data, at)
	case head.DetailType != nil:
		if !cloudTrailDetailTypes[*head.DetailType] {
			p.fail(at, "EventBridge event with detail-type %q is not a CloudTrail event", *head.DetailType)
			return
		}
		if len(head.Source) < 5 || head.Source[:4] != "aws." {
			// Only AWS services can put events with an aws.* source on a bus; anything else
			// claiming to be CloudTrail is forged or misrouted.
			p.fail(at, "EventBridge event source %q is not an AWS service (aws.*)", head.Source)
			return
		}
		if len(head.Detail) == 0 || head.Detail[0] != '{' {
			p.fail(at, "EventBridge event has no detail object")
			return
		}
		p.record(head.Detail, at, *head.DetailType)
	case head.EventName != nil:
		p.record(data, at, "")
	default:
		p.fail(at, "not a CloudTrail record, EventBridge event or log file: no eventName, detail-type or Records")
	}
}

// logFile streams the Records array of a CloudTrail log file, so that records before a syntax
// error are still yielded.
func (p *parser) logFile(data []byte, at Position) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if _, err := dec.Token(); err != nil { // '{'
		p.fail(at, "%s", describe(err, "log file"))
		return
	}
	for dec.More() && !p.stopped {
		tok, err := dec.Token()
		if err != nil {
			p.fail(at, "%s", describe(err, "log file"))
			return
		}
		if key, _ := tok.(string); key != "Records" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				p.fail(at, "%s", describe(err, "log file"))
				return
			}
			continue
		}
		if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
			p.fail(at, "Records is not an array")
			return
		}
		for i := 0; dec.More() && !p.stopped; i++ {
			rat := at
			rat.Index = i
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				p.fail(rat, "%s; records after it are unreadable", describe(err, "record"))
				return
			}
			p.record(raw, rat, "")
		}
		if _, err := dec.Token(); err != nil { // ']'
			p.fail(at, "%s", describe(err, "log file"))
			return
		}
	}
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
	rec := &Record{}
	if err := json.Unmarshal(raw, rec); err != nil {
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
	case rec.EventTime.IsZero():
		p.fail(at, "record %s has no eventTime", rec.EventName)
		return
	}
	rec.Raw = append(json.RawMessage(nil), raw...)
	rec.Pos = at
	rec.DetailType = detailType
	p.emit(rec, nil)
}

// describe turns an encoding/json error into a sentence that names the field or offset.
func describe(err error, what string) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	var pe *time.ParseError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("invalid %s at byte %d: %v", what, se.Offset, se)
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = "(top level)"
		}
		return fmt.Sprintf("%s field %s: expected %s, found JSON %s", what, field, te.Type, te.Value)
	case errors.As(err, &pe):
		return fmt.Sprintf("%s eventTime %q is not an RFC 3339 time", what, pe.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Sprintf("truncated %s: unexpected end of input", what)
	}
	return fmt.Sprintf("%s: %v", what, err)
}

// firstKey returns the first key of a JSON object cheaply, or "" if it cannot tell.
func firstKey(data []byte) string {
	i := 1
	for i < len(data) && (data[i] == ' ' || data[i] == '\n' || data[i] == '\r' || data[i] == '\t') {
		i++
	}
	if i >= len(data) || data[i] != '"' {
		return ""
	}
	end := bytes.IndexByte(data[i+1:], '"')
	if end < 0 {
		return ""
	}
	return string(data[i+1 : i+1+end])
}

func kind(c byte) string {
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

package cloudtrail

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
)

// Hostile input, as the issue lists it: nesting hundreds of thousands deep, truncated and
// invalid UTF-8 JSON, NaN, wrong types everywhere, Records that is not an array, empty files,
// binary junk, corrupt gzip, gzip that expands to tens of megabytes of whitespace, a single
// 16 MB field. Each is refused with an error that says where and what, nothing panics, the good
// records beside it are still read, and memory stays bounded: measured as bytes allocated
// (runtime.MemStats), never by time, with bounds generous enough not to be flaky. parse_test.go
// holds the shapes each is refused with; this file holds them beside good records, through the
// Lambda's Decode as well as Records, and with their memory.

// allocated returns what f allocated, in bytes.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func deepArrays(n int) string  { return strings.Repeat("[", n) + strings.Repeat("]", n) }
func deepObjects(n int) string { return strings.Repeat(`{"a":`, n) + "1" + strings.Repeat("}", n) }

// hostileRecords are single records (each one line) that must be refused, with what the
// error says and the most a read of one may allocate.
func hostileRecords(t testing.TB) []struct {
	name     string
	line     string
	errHas   string
	maxAlloc uint64
} {
	r2 := record("AttachUserPolicy", "id-2")
	field16MB := strings.Repeat("a", 16<<20)
	return []struct {
		name     string
		line     string
		errHas   string
		maxAlloc uint64
	}{
		{"arrays nested 300,000 deep", edit(t, r2, `{"userName":"bob"}`, deepArrays(300000)), "max depth", 32 << 20},
		{"objects nested 300,000 deep", edit(t, r2, `{"userName":"bob"}`, deepObjects(300000)), "max depth", 32 << 20},
		{"nesting 300,000 deep, never closed", edit(t, r2, `{"userName":"bob"}`, strings.Repeat(`[{"a":`, 150000)), "max depth", 32 << 20},
		{"NaN", edit(t, r2, `"readOnly":false`, `"readOnly":NaN`), "invalid character 'N'", 1 << 20},
		{"Infinity", edit(t, r2, `"readOnly":false`, `"readOnly":Infinity`), "invalid character 'I'", 1 << 20},
		{"-Infinity in parameters", edit(t, r2, `{"userName":"bob"}`, `{"maxSessionDuration":-Infinity}`), "invalid character 'I'", 1 << 20},
		{"a number past float64", edit(t, r2, `"readOnly":false`, `"readOnly":1e999999`), "readOnly", 1 << 20},
		{"eventTime a number", edit(t, r2, `"2024-05-01T12:00:00Z"`, `1714564800`), "eventTime", 1 << 20},
		{"truncated", r2[:len(r2)/3], "truncated", 1 << 20},
		{"invalid UTF-8 in a key", edit(t, r2, `"awsRegion"`, "\"aws\xc0Region\""), "UTF-8", 1 << 20},
		{"invalid UTF-8 in a value", edit(t, r2, `"198.51.100.7"`, "\"198.51.\xed\xa0\x80\""), "UTF-8", 1 << 20},
		{"a raw control byte in a string", edit(t, r2, `"aws-cli/2.15.0"`, "\"aws-cli\x00/2\""), "invalid character", 1 << 20},
		{"a 16 MB field", edit(t, r2, `"aws-cli/2.15.0"`, `"`+field16MB+`"`), fmt.Sprintf("%d byte limit", MaxRecordBytes), 256 << 20},
		{"a 16 MB key", edit(t, r2, `"readOnly":false`, `"`+field16MB+`":1`), fmt.Sprintf("%d byte limit", MaxRecordBytes), 256 << 20},
		{"Records a string", `{"Records":"` + r2[:40] + `"}`, "not an array", 1 << 20},
		{"Records a number", `{"Records":7}`, "not an array", 1 << 20},
		{"Records true", `{"Records":true}`, "not an array", 1 << 20},
		{"an array of arrays of records", "[[" + r2 + "]]", "array element is an array", 1 << 20},
		{"null", "null", "null", 1 << 20},
	}
}

// TestHostileLineBetweenGoodRecords puts each hostile record on the middle line of JSON Lines,
// plain and gzipped: the records on the lines around it are read, and the middle line gives
// errors only, each naming line 2.
func TestHostileLineBetweenGoodRecords(t *testing.T) {
	r1, r3 := record("CreateUser", "id-1"), record("CreateAccessKey", "id-3")
	for _, tc := range hostileRecords(t) {
		input := lines(r1, tc.line, r3)
		for _, zip := range []bool{false, true} {
			name := tc.name
			data := []byte(input)
			if zip {
				name += " gzipped"
				data = gzipped(t, data)
			}
			t.Run(name, func(t *testing.T) {
				var got []yielded
				alloc := allocated(func() { got = collect(t, file, bytes.NewReader(data)) })
				checkBeside(t, input, got, 2, tc.errHas)
				sameAsScanner(t, data, got)
				// The gzip reader's window and buffers come on top.
				if bound := tc.maxAlloc + 4<<20; alloc > bound {
					t.Errorf("allocated %d MB reading a %d MB input, bound %d MB", alloc>>20, len(input)>>20, bound>>20)
				}
			})
		}
	}
}

// checkBeside checks what was read of records id-1 and id-3 around a hostile part on line bad:
// both records, in order, and at least one error, every error naming line bad and saying what.
func checkBeside(t *testing.T, input string, got []yielded, bad int, errHas string) {
	t.Helper()
	var ids []string
	errs := 0
	for _, g := range got {
		if g.rec != nil {
			ids = append(ids, g.rec.EventID)
			checkRaw(t, []byte(input), g.rec)
			continue
		}
		errs++
		var e *Error
		if !errors.As(g.err, &e) || e.Pos.Line != bad {
			t.Errorf("error %.200v is not an *Error on line %d", g.err, bad)
		} else if !strings.Contains(e.Error(), errHas) {
			t.Errorf("error %.200q does not say %q", e, errHas)
		}
	}
	if !slices.Equal(ids, []string{"id-1", "id-3"}) || errs == 0 {
		t.Errorf("records %v and %d errors; want id-1 and id-3 around at least one error", ids, errs)
	}
}

// TestHostileEventDecode is the Lambda's path: one EventBridge event, held in memory, with a
// hostile record as its detail or a hostile envelope. No record comes out, one error names the
// event, and the read allocates little more than the event.
func TestHostileEventDecode(t *testing.T) {
	type tcase struct {
		name, event, errHas string
		maxAlloc            uint64
	}
	var tests []tcase
	for _, h := range hostileRecords(t) {
		if h.line[0] != '{' || strings.HasPrefix(h.line, `{"Records"`) {
			continue // not a record: the envelope cases below cover these shapes
		}
		tests = append(tests, tcase{"detail: " + h.name, envelope(apiCall, "aws.iam", h.line), h.errHas, h.maxAlloc})
	}
	r1 := record("CreateUser", "id-1")
	env := envelope(apiCall, "aws.iam", r1)
	tests = append(tests, []tcase{
		{"empty", "", "empty", 1 << 20},
		{"blanks only", " \n\t ", "empty", 1 << 20},
		{"truncated envelope", env[:len(env)-30], "truncated", 1 << 20},
		{"detail a string", envelope(apiCall, "aws.iam", `"`+strings.ReplaceAll(r1, `"`, `\"`)+`"`), "no detail object", 1 << 20},
		{"detail an array", envelope(apiCall, "aws.iam", "["+r1+"]"), "no detail object", 1 << 20},
		{"detail null", envelope(apiCall, "aws.iam", "null"), "no detail object", 1 << 20},
		{"detail-type a number", strings.Replace(env, `"detail-type":"`+apiCall+`"`, `"detail-type":7`, 1), "detail-type", 1 << 20},
		{"source an object", strings.Replace(env, `"source":"aws.iam"`, `"source":{"aws":"iam"}`, 1), "source", 1 << 20},
		{"source forged", envelope(apiCall, "aws", r1), "not an AWS service", 1 << 20},
		{"source in another case", envelope(apiCall, "AWS.iam", r1), "not an AWS service", 1 << 20},
		{"detail-type not CloudTrail's", envelope("AWS API Call via CloudTrail ", "aws.iam", r1), "not a CloudTrail event", 1 << 20},
		{"NaN envelope field", strings.Replace(env, `"version":"0"`, `"version":NaN`, 1), "invalid character 'N'", 1 << 20},
		{"invalid UTF-8 in the envelope", strings.Replace(env, `"region":"us-east-1"`, "\"region\":\"us-\xffeast-1\"", 1), "", 1 << 20},
		{"nesting 300,000 deep in the envelope", strings.Replace(env, `"resources":[]`, `"resources":`+deepArrays(300000), 1), "max depth", 32 << 20},
		{"binary junk", string(junk(64<<10, 3)), "not JSON", 1 << 20},
		{"a gzipped event", string(gzipped(t, []byte(env))), "not JSON", 1 << 20},
		{"a 16 MB envelope field", strings.Replace(env, `"resources":[]`, `"resources":["`+strings.Repeat("a", 16<<20)+`"]`, 1), "", 160 << 20},
	}...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var recs []*Record
			var errs []error
			alloc := allocated(func() { recs, errs = Decode("event", []byte(tc.event)) })
			if tc.errHas == "" {
				// Bytes outside the detail are not evidence and not checked: the event may be
				// read, but never yields more than its one record.
				if len(recs)+len(errs) != 1 {
					t.Errorf("%d records and errors %v; want one or the other", len(recs), errs)
				}
			} else {
				if len(recs) != 0 || len(errs) != 1 {
					t.Fatalf("%d records, errors %.300v; want one error", len(recs), errs)
				}
				var e *Error
				if !errors.As(errs[0], &e) || e.Pos.Name != "event" || !strings.Contains(e.Error(), tc.errHas) {
					t.Errorf("error %.300q is not an *Error naming the event and saying %q", errs[0], tc.errHas)
				}
			}
			if alloc > tc.maxAlloc {
				t.Errorf("allocated %d MB decoding a %d MB event, bound %d MB", alloc>>20, len(tc.event)>>20, tc.maxAlloc>>20)
			}
		})
	}
}

// TestHostileLogFile puts hostile elements between good records of a CloudTrail log file. A
// record that is valid JSON but wrong is refused alone; a syntax break makes the records after
// it unreadable (a log file is one JSON value), and the records before it are still read.
func TestHostileLogFile(t *testing.T) {
	r1, r2, r3 := record("CreateUser", "id-1"), record("AttachUserPolicy", "id-2"), record("CreateAccessKey", "id-3")
	for _, tc := range []struct {
		name   string
		bad    string
		errHas string
		after  bool // whether the record after the bad one is read
	}{
		{"a 16 MB field", edit(t, r2, `"aws-cli/2.15.0"`, `"`+strings.Repeat("a", 16<<20)+`"`), "byte limit", true},
		{"eventName an array", edit(t, r2, `"eventName":"AttachUserPolicy"`, `"eventName":["AttachUserPolicy"]`), "eventName", true},
		{"userIdentity a number", edit(t, r2, `"userIdentity":{`, `"userIdentity":7,"x":{`), "userIdentity", true},
		{"a record that is null", "null", "not a JSON object", true},
		{"a record that is a number", "1e999999", "not a JSON object", true},
		{"invalid UTF-8", edit(t, r2, `"bob"`, "\"b\xffb\""), "UTF-8", true},
		{"NaN", edit(t, r2, `"readOnly":false`, `"readOnly":NaN`), "invalid character 'N'", false},
		{"nesting 300,000 deep", edit(t, r2, `{"userName":"bob"}`, deepArrays(300000)), "max depth", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			input := logFile(r1, tc.bad, r3)
			var got []yielded
			alloc := allocated(func() { got = collect(t, file, strings.NewReader(input)) })
			sameAsScanner(t, []byte(input), got)
			var ids []string
			var errs []error
			for _, g := range got {
				if g.rec != nil {
					ids = append(ids, g.rec.EventID)
				} else {
					errs = append(errs, g.err)
				}
			}
			want := []string{"id-1"}
			if tc.after {
				want = append(want, "id-3")
			}
			if !slices.Equal(ids, want) || len(errs) != 1 || !strings.Contains(errs[0].Error(), tc.errHas) {
				t.Errorf("records %v, errors %.300v; want %v and one error saying %q", ids, errs, want, tc.errHas)
			}
			var e *Error
			if len(errs) == 1 && (!errors.As(errs[0], &e) || e.Pos.Index != 1) {
				t.Errorf("error %.200v does not name record 1", errs[0])
			}
			if bound := uint64(16*len(input)) + 8<<20; alloc > bound {
				t.Errorf("allocated %d MB reading a %d MB log file, bound %d MB", alloc>>20, len(input)>>20, bound>>20)
			}
		})
	}
}

// TestWrongTypesEverywhere gives every field of a record, and of its userIdentity, each JSON
// type in turn. Nothing panics; what is read is a checked record or an error naming the field;
// and the good record on the next line is always read.
func TestWrongTypesEverywhere(t *testing.T) {
	good := record("CreateUser", "id-1")
	var fields map[string]json.RawMessage
	if err := json.Unmarshal([]byte(good), &fields); err != nil {
		t.Fatal(err)
	}
	values := []string{`7`, `-0.5e3`, `"x"`, `""`, `true`, `null`, `[]`, `[1,"a",null]`, `{}`, `{"a":[{}]}`}
	// The fields read typed, and the JSON they must hold (or null): anything else is refused.
	typed := map[string]byte{"userIdentity": '{'}
	for _, f := range []string{"eventVersion", "eventID", "eventTime", "eventSource", "eventName", "eventType", "awsRegion",
		"sourceIPAddress", "userAgent", "recipientAccountId", "errorCode", "errorMessage"} {
		typed[f] = '"'
	}
	mutate := func(path []string, v string) string {
		m := map[string]json.RawMessage{}
		for k, x := range fields {
			m[k] = x
		}
		if len(path) == 1 {
			m[path[0]] = json.RawMessage(v)
		} else {
			var inner map[string]json.RawMessage
			if err := json.Unmarshal(m[path[0]], &inner); err != nil {
				t.Fatal(err)
			}
			inner[path[1]] = json.RawMessage(v)
			m[path[0]], _ = json.Marshal(inner)
		}
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	var paths [][]string
	for k := range fields {
		paths = append(paths, []string{k})
	}
	var identity map[string]json.RawMessage
	if err := json.Unmarshal(fields["userIdentity"], &identity); err != nil {
		t.Fatal(err)
	}
	for k := range identity {
		paths = append(paths, []string{"userIdentity", k})
	}
	paths = append(paths, []string{"userIdentity", "sessionContext"})
	slices.SortFunc(paths, func(a, b []string) int { return strings.Compare(strings.Join(a, "."), strings.Join(b, ".")) })

	next := record("CreateAccessKey", "id-3")
	for _, path := range paths {
		name := strings.Join(path, ".")
		t.Run(name, func(t *testing.T) {
			for _, v := range values {
				bad := mutate(path, v)
				input := lines(bad, next)
				got := collect(t, file, strings.NewReader(input))
				if len(got) != 2 || got[1].rec == nil || got[1].rec.EventID != "id-3" {
					t.Fatalf("%s = %s: got %v; want one value for the line, then record id-3", name, v, got)
				}
				first := got[0]
				if first.rec != nil {
					checkRaw(t, []byte(input), first.rec)
					if r := first.rec; r.EventName == "" || r.EventSource == "" || r.EventTime.IsZero() {
						t.Errorf("%s = %s: a record without eventName, eventSource or eventTime: %+v", name, v, r)
					}
					if want, ok := typed[path[0]]; ok && len(path) == 1 && v != "null" && v[0] != want {
						t.Errorf("%s = %s: read as a record; a wrong type in a typed field must be refused", name, v)
					}
					continue
				}
				var e *Error
				if !errors.As(first.err, &e) || e.Pos.Line != 1 {
					t.Errorf("%s = %s: %v is not an *Error on line 1", name, v, first.err)
				}
			}
		})
	}
}

// TestHostileBinaryAndGzip: binary junk, gzip of binary junk, and corrupt gzip, each followed by
// what cannot be reached after it. Every read ends with errors only, naming the input.
func TestHostileBinaryAndGzip(t *testing.T) {
	r1 := record("CreateUser", "id-1")
	good := gzipped(t, []byte(r1+"\n"))
	for _, tc := range []struct {
		name    string
		input   []byte
		records int
	}{
		{"binary junk then a record", append(junk(32<<10, 1), "\n"+r1+"\n"...), 1},
		{"gzip of binary junk", gzipped(t, junk(32<<10, 2)), 0},
		{"gzip magic then junk", append([]byte{0x1f, 0x8b}, junk(1024, 3)...), 0},
		{"a good gzip member, then a corrupt one", append(append([]byte{}, good...), 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff, 0xde, 0xad), 1},
		{"a gzip member cut in its header", good[:6], 0},
		{"empty", nil, 0},
		{"empty gzip", gzipped(t, nil), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := collect(t, file, bytes.NewReader(tc.input))
			recs := 0
			for _, g := range got {
				if g.rec != nil {
					recs++
					continue
				}
				var e *Error
				if !errors.As(g.err, &e) || e.Pos.Name != file {
					t.Errorf("error %v does not name %s", g.err, file)
				}
			}
			if recs != tc.records || len(got) == recs {
				t.Errorf("%d records and %d errors; want %d records and an error", recs, len(got)-recs, tc.records)
			}
		})
	}
}

// TestGzipOfWhitespaceInsideADocument reads gzip that expands to 32 MB of whitespace inside a
// log file (TestRecordsWhitespaceBomb has it at the start of lines, where it is dropped as read):
// both records are read, and memory stays within a few times the expanded size.
func TestGzipOfWhitespaceInsideADocument(t *testing.T) {
	r1, r3 := record("CreateUser", "id-1"), record("CreateAccessKey", "id-3")
	const size = 32 << 20
	for _, tc := range []struct{ name, unit, head, tail string }{
		{"on the record's line", " \t", `{"Records":[` + r1 + ",", r3 + "]}\n"},
		{"as blank lines in a pretty-printed file", " \n", "{\"Records\":[\n" + r1 + ",\n", r3 + "\n]}\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			zw, err := gzip.NewWriterLevel(&b, gzip.BestSpeed)
			if err != nil {
				t.Fatal(err)
			}
			zw.Write([]byte(tc.head))
			chunk := []byte(strings.Repeat(tc.unit, (1<<20)/len(tc.unit)))
			for range size >> 20 {
				zw.Write(chunk)
			}
			zw.Write([]byte(tc.tail))
			if err := zw.Close(); err != nil {
				t.Fatal(err)
			}
			var got []yielded
			alloc := allocated(func() { got = collect(t, file, &b) })
			var ids []string
			for _, g := range got {
				if g.rec == nil {
					t.Errorf("error %v", g.err)
					continue
				}
				ids = append(ids, g.rec.EventID)
			}
			if !slices.Equal(ids, []string{"id-1", "id-3"}) {
				t.Errorf("records %v, want id-1 and id-3", ids)
			}
			// The line or document is held once (readLine and readAtMost gather it in blocks,
			// then join them), and encoding/json's Decoder is not given the run (blankSkipper).
			if bound := uint64(4 * size); alloc > bound {
				t.Errorf("%d MB allocated reading %d MB of whitespace inside one document, bound %d MB",
					alloc>>20, size>>20, bound>>20)
			}
		})
	}
}

// TestLongBlankRunsBeforeAnError reads documents broken after runs of blanks long enough that
// encoding/json's Decoder is not given them (see blankSkipper): each error says what and where
// exactly as it did when the Decoder read every blank (the expected values are what it said
// then), the records before it are yielded once, and reading goes on after it.
func TestLongBlankRunsBeforeAnError(t *testing.T) {
	r1, r2, r3 := record("CreateUser", "id-1"), record("AttachUserPolicy", "id-2"), record("CreateAccessKey", "id-3")
	run := strings.Repeat(" \t", 100)
	blankLines := strings.Repeat("  \n", 100)
	const (
		id1     = `record CreateUser id-1 at trail.json:1 record 0 ("")`
		id2     = `record AttachUserPolicy id-2 at trail.json:1 record 1 ("")`
		id3     = `record CreateAccessKey id-3 at trail.json:2 ("")`
		literal = "invalid character '}' in literal true (expecting 'e')"
	)
	for _, tc := range []struct {
		name, doc string
		want      []string
	}{
		{"a broken record after a run", `{"Records":[` + r1 + "," + run + `{"eventName":tru}]}` + "\n" + r3 + "\n", []string{id1,
			"error trail.json:1 record 1: invalid record at byte 17: " + literal + "; records after it are unreadable", id3}},
		{"no comma after a run", `{"Records":[` + r1 + run + r2 + "]}\n" + r3 + "\n", []string{id1,
			"error trail.json:1 record 1: invalid record at byte 869: expected comma after array element; records after it are unreadable", id3}},
		// The Decoder's offset in these two counts only some bytes; the log file is read again
		// with every blank to give it.
		{"a broken key after the records, runs before it", `{"Records":[` + r1 + "," + run + r2 + "]," + run + `"x":tru}` + "\n" + r3 + "\n", []string{id1, id2,
			"error trail.json:1: invalid log file at byte 1536: " + literal, id3}},
		{"a missing bracket after runs", `{"Records":[` + r1 + "," + run + r2 + run + "}\n" + r3 + "\n", []string{id1, id2,
			"error trail.json:1: invalid log file at byte 1733: invalid character '}' after array element", id3}},
		{"blank lines, then a broken record", "{\"Records\":[\n" + r1 + ",\n" + blankLines + "{\"eventName\": tru}\n]}\n" + r3 + "\n", []string{
			`record CreateUser id-1 at trail.json:2 record 0 ("")`,
			"error trail.json:103 record 1: invalid record at byte 18: " + literal + "; records after it are unreadable",
			"error trail.json:103: invalid JSON at byte 18: " + literal,
			`record CreateAccessKey id-3 at trail.json:105 ("")`}},
		{"blank lines, then a broken key", "{\"Records\":[\n" + r1 + ",\n" + blankLines + r2 + "\n],\n" + blankLines + "\"x\": tru}\n" + r3 + "\n", []string{
			`record CreateUser id-1 at trail.json:2 record 0 ("")`,
			`record AttachUserPolicy id-2 at trail.json:103 record 1 ("")`,
			"error trail.json:1: invalid log file at byte 1638: " + literal,
			`record CreateAccessKey id-3 at trail.json:206 ("")`}},
		{"cut short after blank lines", "{\"Records\":[\n" + r1 + ",\n" + blankLines, []string{
			`record CreateUser id-1 at trail.json:2 record 0 ("")`,
			"error trail.json:103 record 1: truncated record: unexpected end of input; records after it are unreadable"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, g := range collect(t, file, strings.NewReader(tc.doc)) {
				got = append(got, g.String())
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("read\n\t%q\nwant\n\t%q", got, tc.want)
			}
		})
	}
}

// sameAsScanner checks that a Scanner (the replay's fast path, which skims one-line log files
// without encoding/json) reads data exactly as Records did.
func sameAsScanner(t *testing.T, data []byte, want []yielded) {
	t.Helper()
	var s Scanner
	var got []yielded
	for rec, err := range s.Records(file, bytes.NewReader(data)) {
		got = append(got, yielded{rec, err})
	}
	str := func(ys []yielded) []string {
		var out []string
		for _, y := range ys {
			out = append(out, y.String())
		}
		return out
	}
	if !slices.Equal(str(got), str(want)) {
		t.Errorf("a Scanner read\n\t%.500q\nwhere Records read\n\t%.500q", str(got), str(want))
	}
}

// junk is n bytes of seeded random data.
func junk(n int, seed uint64) []byte {
	b := make([]byte, n)
	rng := rand.New(rand.NewPCG(seed, 7))
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

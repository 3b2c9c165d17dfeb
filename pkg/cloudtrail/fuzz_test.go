package cloudtrail

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/klauspost/compress/gzip"
)

// FuzzRecords feeds arbitrary bytes, as they are and gzip-compressed, through Records and Decode.
// Whatever the input, nothing panics and every value yielded is a checked record or an *Error.
func FuzzRecords(f *testing.F) {
	r1, r2 := record("CreateUser", "id-1"), record("AttachUserPolicy", "id-2")
	seeds := []string{
		"", " \n", "NaN", "[]", `"x"`, "{}", `{"Records":null}`, `{"Records":{}}`, `{"Records":[1,null,"x",{}]}`,
		r1, r2 + "\n" + r1, r1 + r2, r1[:len(r1)/2] + "\n" + r2,
		envelope(apiCall, "aws.iam", r1), envelope(signIn, "aws.signin", consoleLogin("l")),
		envelope(apiCall, "evil", r1), envelope("Scheduled Event", "aws.events", "{}"),
		logFile(r1, r2), logFile(r1, `{"eventName":5}`, r2), logFile(r1, r2)[:len(r1)+20],
		pretty(f, logFile(r1, r2)), pretty(f, envelope(apiCall, "aws.iam", r1)) + "\n" + pretty(f, r2),
		strings.TrimSuffix(pretty(f, r1), "}") + "\n" + pretty(f, r2),
		"{\n\"Records\":[\n" + r1 + ",\n" + r2 + "\n]}",
		strings.ReplaceAll(r1, `"2024-05-01T12:00:00Z"`, `"0001-01-01T00:00:00Z"`),
		strings.ReplaceAll(r1, "alice", "al\xffce"),
		`{"eventName":"x","eventSource":"y","eventTime":"2024-01-01T00:00:00Z","x":` + strings.Repeat("[", 20000) + "}",
		"junk\n" + r1 + "\r\n\r\n  " + logFile(r2) + "\n}\n",
	}
	all := seedsOf("shape", seeds...)
	all = append(all, namedSeeds("form", formInputs(f), 64<<10)...)
	hostile := map[string]string{}
	for _, h := range hostileRecords(f) {
		hostile[h.name] = h.line
	}
	all = append(all, namedSeeds("hostile", hostile, 64<<10)...)
	all = append(all, seed{"gzip-json-lines", gzipped(f, []byte(r1+"\n"+r2))}) // mutated gzip exercises the corrupt-stream paths
	all = append(all, sharedEventSeeds(f)...)
	addSeeds(f, all)

	f.Fuzz(func(t *testing.T, data []byte) {
		checkAnyInput(t, gunzipped(data), collect(t, "fuzz.json", bytes.NewReader(data)))
		checkAnyInput(t, data, collect(t, "fuzz.json", bytes.NewReader(gzipped(t, data))))

		recs, errs := Decode("fuzz.json", data)
		var got []yielded
		for _, r := range recs {
			got = append(got, yielded{rec: r})
		}
		for _, err := range errs {
			got = append(got, yielded{err: err})
		}
		checkAnyInput(t, data, got)
	})
}

// checkAnyInput checks what was read from plain (or its gzip): records that the rules can use,
// cut from the input (or the text of a string in it: a lookup-events CloudTrailEvent), and
// errors that say where they are and what they spoil.
func checkAnyInput(t *testing.T, plain []byte, got []yielded) {
	t.Helper()
	if len(got) > len(plain)+1 {
		t.Fatalf("%d values from %d bytes", len(got), len(plain))
	}
	records := 0
	for _, g := range got {
		if g.rec != nil {
			records++
		}
	}
	for _, g := range got {
		if g.err != nil {
			var e *Error
			if !errors.As(g.err, &e) || e.Pos.Name != "fuzz.json" || !strings.HasPrefix(e.Error(), e.Pos.String()+": ") {
				t.Errorf("error %v (%T) does not name its position", g.err, g.err)
			}
			if e != nil && (e.Scope > ScopeInput || records > 0 && strings.Contains(e.Error(), "holds no JSON value")) {
				t.Errorf("error %v: scope %v beside %d records", e, e.Scope, records)
			}
			continue
		}
		r := g.rec
		if r.EventName == "" || r.EventSource == "" || r.EventTime.IsZero() {
			t.Errorf("record without eventName, eventSource or eventTime: %+v", r)
		}
		if r.Pos.Name != "fuzz.json" || !utf8.Valid(r.Raw) || !bytes.Contains(plain, r.Raw) && !inString(plain, r.Raw) {
			t.Errorf("record at %v: Raw %q is not cut from the input", r.Pos, r.Raw)
		}
	}
}

// inString reports whether raw is, but for blanks around it, the text of a JSON string in data.
func inString(data, raw []byte) bool {
	for i := bytes.IndexByte(data, '"'); i >= 0; {
		// i may be a closing quote: what follows it is then not a string, and the next quote
		// is tried.
		var s string
		if end, _, _ := stringEnd(data, i+1); end > 0 && json.Unmarshal(data[i:end], &s) == nil && string(trimBlanks([]byte(s))) == string(raw) {
			return true
		}
		next := bytes.IndexByte(data[i+1:], '"')
		if next < 0 {
			break
		}
		i += 1 + next
	}
	return false
}

// gunzipped returns what can be read of data if it is gzip-compressed, else data.
func gunzipped(data []byte) []byte {
	if len(data) < 2 || data[0] != 0x1f || data[1] != 0x8b {
		return data
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil
	}
	plain, _ := io.ReadAll(io.LimitReader(zr, 1<<30))
	return plain
}

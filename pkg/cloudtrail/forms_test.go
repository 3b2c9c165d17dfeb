package cloudtrail

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// The forms of input that issue 16 adds: eventTime as exports write it, arrays at the top level
// (jq -s, attack-simulation logs) and the output of aws cloudtrail lookup-events. Each is read
// by Records and, the same, by a Scanner (formInputs are among scannerInputs).

// withTime is r with its eventTime written as text.
func withTime(t testing.TB, r, text string) string {
	t.Helper()
	i := strings.Index(r, `"eventTime":"`) + len(`"eventTime":"`)
	end := strings.IndexByte(r[i:], '"')
	if i < len(`"eventTime":"`) || end < 0 {
		t.Fatalf("withTime: no eventTime in %q", r)
	}
	return r[:i] + text + r[i+end:]
}

// lookupEvent wraps a record in an Event of lookup-events output, its CloudTrailEvent the
// record's JSON text, as the AWS CLI prints it.
// Reference: https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_Event.html
func lookupEvent(t testing.TB, rec string) string {
	t.Helper()
	var r struct {
		EventID, EventName, EventSource string
	}
	if err := json.Unmarshal([]byte(rec), &r); err != nil {
		t.Fatalf("lookupEvent: %v", err)
	}
	text, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	return `{"EventId":"` + r.EventID + `","EventName":"` + r.EventName + `","ReadOnly":"false",` +
		`"AccessKeyId":"AKIAEXAMPLEKEY","EventTime":1714564800.0,"EventSource":"` + r.EventSource + `",` +
		`"Username":"alice","Resources":[{"ResourceType":"AWS::IAM::User","ResourceName":"bob"}],` +
		`"CloudTrailEvent":` + string(text) + `}`
}

// lookupOutput is the output of lookup-events holding events, with a NextToken.
func lookupOutput(events ...string) string {
	return `{"Events":[` + strings.Join(events, ",") + `],"NextToken":"eyJ2IjoyfQ=="}`
}

// formInputs are inputs in the new forms, for the Scanner's equivalence tests and the fuzzers.
func formInputs(t testing.TB) map[string]string {
	r1, r2, r3 := record("CreateUser", "id-1"), record("AttachUserPolicy", "id-2"), record("CreateAccessKey", "id-3")
	login := consoleLogin("login-1")
	ev := func(r string) string { return lookupEvent(t, r) }
	in := map[string]string{
		"export times in a log file": logFile(withTime(t, r1, "2022-09-27 17:09:18"), withTime(t, r2, "2024-11-25 17:51:21.000000000"),
			withTime(t, r3, "2022-09-27T17:09:18"), withTime(t, login, "2024-11-25T17:51:21.000000000Z"), r1),
		"export times, JSON Lines":      lines(withTime(t, r1, "2022-09-27 17:09:18"), r2, withTime(t, r3, "2024-11-25 17:51:21.5")),
		"placeholder times":             logFile(withTime(t, r1, "..."), withTime(t, r2, ""), withTime(t, r3, "<eventTime>"), r1),
		"array of records":              "[" + r1 + "," + r2 + "," + r3 + "]",
		"array pretty-printed (jq -s)":  pretty(t, "["+r1+","+envelope(apiCall, "aws.iam", r2)+","+envelope(signIn, "aws.signin", login)+"]"),
		"array of events and a bad one": "[" + envelope(apiCall, "aws.iam", r1) + `,{"eventName":5},` + envelope(apiCall, "evil", r2) + "," + r3 + "]",
		"array with a syntax break":     "[" + r1 + "," + edit(t, r2, `"eventName":"AttachUserPolicy"`, `"eventName":AttachUserPolicy"`) + "," + r3 + "]",
		"array cut short":               ("[" + r1 + "," + r2 + "," + r3 + "]")[:len(r1)+len(r2)/2],
		"array of scalars and arrays":   `[1,"x",null,[],[` + r1 + `]]`,
		"array holding a log file":      "[" + logFile(r1) + "," + r2 + "]",
		"empty array":                   "[]",
		"JSON Lines of arrays":          lines("["+r1+"]", "["+r2+","+r3+"]"),
		"lookup-events output":          lookupOutput(ev(r1), ev(r2), ev(login)),
		"lookup-events output pretty":   pretty(t, lookupOutput(ev(r1), ev(withTime(t, r2, "2022-09-27 17:09:18")), ev(login))),
		"lookup-events JSON Lines":      lines(ev(r1), ev(r2), ev(r3)),
		"lookup-events array (jq -s)":   "[" + ev(r1) + "," + ev(r2) + "]",
		"lookup-events bad events": lookupOutput(ev(r1), `{"EventId":"e-2","EventName":"CreateUser"}`,
			`{"EventId":"e-3","CloudTrailEvent":"{\"eventName\":"}`, `{"EventId":"e-4","CloudTrailEvent":7}`,
			`{"EventId":"e-5","CloudTrailEvent":"{\"x\":1}"}`, `{"EventId":"e-6","CloudTrailEvent":""}`,
			`{"EventId":"e-7","cloudTrailEvent":"{}"}`, "\"e-8\"", `{"EventId":"e-9","CloudTrailEvent":"`+strings.Repeat(" ", 3)+`"}`,
			ev(r3)),
		"lookup-events decoded CloudTrailEvent": lookupOutput(`{"EventId":"id-1","CloudTrailEvent":` + r1 + `}`),
		"lookup-events event without text, JSON Lines": lines(ev(r1), `{"EventId":"e-2","EventName":"CreateUser","EventSource":"iam.amazonaws.com",`+
			`"EventTime":"2024-05-01T12:00:00+00:00"}`, ev(r3)),
		"lookup-events Events in another case": `{"events":[` + ev(r1) + `]}`,
		"lookup-events Events not an array":    `{"Events":{"a":1}}`,
		"lookup-events cut short":              lookupOutput(ev(r1), ev(r2), ev(r3))[:len(ev(r1))+len(ev(r2))+40],
		"lookup-events event with invalid UTF-8": lookupOutput(ev(r1), edit(t, ev(r2), `\"alice\"`, "\\\"al\xffce\\\""),
			edit(t, ev(r3), `"Username":"alice"`, "\"Username\":\"al\xffce\""), ev(r1)),
		"lookup-events event, escaped text": lookupOutput(strings.Replace(ev(r1), `\"eventName\"`, `\u0022eventName\u0022`, 1)),
	}
	return in
}

// TestForms reads each new form, plain and gzipped, and checks what comes out.
func TestForms(t *testing.T) {
	r1, r2, r3 := record("CreateUser", "id-1"), record("AttachUserPolicy", "id-2"), record("CreateAccessKey", "id-3")
	login := consoleLogin("login-1")
	in := formInputs(t)
	pr := in["array pretty-printed (jq -s)"]
	lp := in["lookup-events output pretty"]
	// A record's Raw is the text of its CloudTrailEvent: checkRaw finds it among these.
	texts := strings.Join([]string{r1, r2, r3, login, withTime(t, r2, "2022-09-27 17:09:18")}, "\n")
	tests := []struct {
		name string
		want []want
	}{
		{"export times in a log file", []want{rec("id-1", 1, 0), rec("id-2", 1, 1), rec("id-3", 1, 2), rec("login-1", 1, 3), rec("id-1", 1, 4)}},
		{"export times, JSON Lines", []want{rec("id-1", 1, -1), rec("id-2", 2, -1), rec("id-3", 3, -1)}},
		{"placeholder times", []want{fails(1, 0, "CreateUser", "eventTime", `"..."`, "RFC 3339"),
			fails(1, 1, "AttachUserPolicy", "eventTime", `""`), fails(1, 2, "CreateAccessKey", "<eventTime>"), rec("id-1", 1, 3)}},
		{"array of records", []want{rec("id-1", 1, 0), rec("id-2", 1, 1), rec("id-3", 1, 2)}},
		{"array pretty-printed (jq -s)", []want{rec("id-1", 2, 0),
			{id: "id-2", detailType: apiCall, pos: Position{Name: file, Line: lineOf(t, pr, `"detail-type": "`+apiCall) - 3, Index: 1}},
			{id: "login-1", detailType: signIn, pos: Position{Name: file, Line: lineOf(t, pr, `"detail-type": "`+signIn) - 3, Index: 2}}}},
		{"array of events and a bad one", []want{{id: "id-1", detailType: apiCall, pos: Position{Name: file, Line: 1, Index: 0}},
			fails(1, 1, "eventName", "string"), fails(1, 2, "source", "evil"), rec("id-3", 1, 3)}},
		{"array with a syntax break", []want{rec("id-1", 1, 0), fails(1, 1, "invalid character", "elements after it are unreadable")}},
		{"array cut short", []want{rec("id-1", 1, 0), fails(1, 1, "truncated")}},
		{"array of scalars and arrays", []want{fails(1, 0, "array element is a number"), fails(1, 1, "array element is a string"),
			fails(1, 2, "array element is null"), fails(1, 3, "array element is an array"), fails(1, 4, "array element is an array")}},
		{"array holding a log file", []want{fails(1, 0, "log file", "not in an array"), rec("id-2", 1, 1)}},
		{"empty array", nil},
		{"JSON Lines of arrays", []want{rec("id-1", 1, 0), rec("id-2", 2, 0), rec("id-3", 2, 1)}},
		{"lookup-events output", []want{rec("id-1", 1, 0), rec("id-2", 1, 1), rec("login-1", 1, 2)}},
		{"lookup-events output pretty", []want{rec("id-1", lineOf(t, lp, `"EventId": "id-1"`)-1, 0),
			rec("id-2", lineOf(t, lp, `"EventId": "id-2"`)-1, 1), rec("login-1", lineOf(t, lp, `"EventId": "login-1"`)-1, 2)}},
		{"lookup-events JSON Lines", []want{rec("id-1", 1, -1), rec("id-2", 2, -1), rec("id-3", 3, -1)}},
		{"lookup-events array (jq -s)", []want{rec("id-1", 1, 0), rec("id-2", 1, 1)}},
		{"lookup-events bad events", []want{rec("id-1", 1, 0),
			fails(1, 1, "lookup-events Event e-2 has no CloudTrailEvent"),
			fails(1, 2, "e-3", "CloudTrailEvent is not JSON", "truncated"),
			fails(1, 3, "e-4", "CloudTrailEvent is a number, not a string"),
			fails(1, 4, "record has no eventName"),
			fails(1, 5, "e-6", "CloudTrailEvent is empty"),
			fails(1, 6, "e-7", "has no CloudTrailEvent (keys are case-sensitive)"),
			fails(1, 7, "lookup-events Event is a string, not an object"),
			fails(1, 8, "e-9", "CloudTrailEvent is empty"),
			rec("id-3", 1, 9)}},
		{"lookup-events decoded CloudTrailEvent", []want{rec("id-1", 1, 0)}},
		{"lookup-events event without text, JSON Lines", []want{rec("id-1", 1, -1), fails(2, -1, "e-2 has no CloudTrailEvent"), rec("id-3", 3, -1)}},
		{"lookup-events Events in another case", []want{fails(1, -1, `no "Events" array`, "case-sensitive")}},
		{"lookup-events Events not an array", []want{fails(1, -1, "Events is not an array")}},
		{"lookup-events cut short", []want{rec("id-1", 1, 0), rec("id-2", 1, 1), fails(1, 2, "truncated event", "events after it are unreadable")}},
		{"lookup-events event with invalid UTF-8", []want{rec("id-1", 1, 0), fails(1, 1, "UTF-8"), fails(1, 2, "UTF-8"), rec("id-1", 1, 3)}},
		{"lookup-events event, escaped text", []want{rec("id-1", 1, 0)}},
	}
	for name := range in {
		if !slices.ContainsFunc(tests, func(tc struct {
			name string
			want []want
		}) bool {
			return tc.name == name
		}) {
			t.Errorf("form input %q is not checked here", name)
		}
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			input, ok := in[tc.name]
			if !ok {
				t.Fatalf("no input %q", tc.name)
			}
			t.Run("plain", func(t *testing.T) {
				checkYields(t, []byte(input+"\n"+texts), collect(t, file, strings.NewReader(input)), tc.want)
			})
			t.Run("gzip", func(t *testing.T) {
				checkYields(t, []byte(input+"\n"+texts), collect(t, file, bytes.NewReader(gzipped(t, []byte(input)))), tc.want)
			})
		})
	}
}

// TestLookupEventOverLimit: an Event too large to hold a record that would be read is refused
// before its text is copied, and the Events around it are read.
func TestLookupEventOverLimit(t *testing.T) {
	r1, r3 := record("CreateUser", "id-1"), record("CreateAccessKey", "id-3")
	big := `{"EventId":"e-2","CloudTrailEvent":"` + strings.Repeat("a", maxEventBytes) + `"}`
	input := lookupOutput(lookupEvent(t, r1), big, lookupEvent(t, r3))
	var got []yielded
	alloc := allocated(func() { got = collect(t, file, strings.NewReader(input)) })
	checkYields(t, []byte(input+"\n"+r1+"\n"+r3), got, []want{rec("id-1", 1, 0),
		fails(1, 1, "lookup-events Event is", fmt.Sprintf("over the %d byte limit", maxEventBytes)), rec("id-3", 1, 2)})
	// Reading the line and the array, as for any large value, takes about 5 times its size;
	// copying the Event and decoding its text would take more.
	if bound := uint64(5*len(input)) + 8<<20; alloc > bound {
		t.Errorf("allocated %d MB reading a %d MB input, bound %d MB", alloc>>20, len(input)>>20, bound>>20)
	}
}

// TestFormsRecordFields checks what the new forms put in a record: the time read as UTC, the
// lookup-events record's Raw its JSON text, and an EventBridge event's detail-type.
func TestFormsRecordFields(t *testing.T) {
	r1 := record("CreateUser", "id-1")
	t.Run("export time", func(t *testing.T) {
		recs, errs := Decode("x", []byte(withTime(t, r1, "2024-11-25 17:51:21.250000000")))
		if len(errs) != 0 || len(recs) != 1 {
			t.Fatalf("%v %v", recs, errs)
		}
		if want := time.Date(2024, 11, 25, 17, 51, 21, 250e6, time.UTC); recs[0].EventTime != want {
			t.Errorf("eventTime %#v, want %#v", recs[0].EventTime, want)
		}
	})
	t.Run("lookup-events Raw", func(t *testing.T) {
		recs, errs := Decode("x", []byte(lookupOutput(lookupEvent(t, r1))))
		if len(errs) != 0 || len(recs) != 1 {
			t.Fatalf("%v %v", recs, errs)
		}
		if string(recs[0].Raw) != r1 || recs[0].UserIdentity.UserName != "alice" || recs[0].DetailType != "" {
			t.Errorf("Raw %q, want the CloudTrailEvent's text %q", recs[0].Raw, r1)
		}
	})
	t.Run("array of EventBridge events", func(t *testing.T) {
		recs, errs := Decode("x", []byte("["+envelope(apiCall, "aws.iam", r1)+"]"))
		if len(errs) != 0 || len(recs) != 1 || recs[0].DetailType != apiCall || string(recs[0].Raw) != r1 ||
			recs[0].Pos != (Position{Name: "x", Index: 0}) {
			t.Fatalf("%+v %v", recs, errs)
		}
	})
}

// TestErrorScope: an error about one record leaves the input read (ScopeRecord); an input that
// is not gzip-decodable, breaks off, is empty or holds no JSON at all gets an error about the
// input (ScopeInput). A Scanner counts both, per input by Sub.
func TestErrorScope(t *testing.T) {
	r1, r2 := record("CreateUser", "id-1"), record("AttachUserPolicy", "id-2")
	zipped := gzipped(t, []byte(lines(r1, r2)))
	corrupt := append(append([]byte{}, zipped[:10]...), 0xff, 0xff, 0xff, 0xff, 0x00, 0x01, 0x02)
	for _, tc := range []struct {
		name    string
		input   []byte
		records int
		scopes  []Scope // of the errors, in order
		errHas  string  // in the last error
	}{
		{"clean log file", []byte(logFile(r1, r2)), 2, nil, ""},
		{"a bad record in a log file", []byte(logFile(r1, `{"eventName":5}`, r2)), 2, []Scope{ScopeRecord}, "eventName"},
		{"a junk line in JSON Lines", []byte(lines(r1, "junk", r2)), 2, []Scope{ScopeRecord}, "not JSON"},
		{"a junk first line, then records", []byte(lines("# exported", r1, r2)), 2, []Scope{ScopeRecord}, "not JSON"},
		{"a log file broken in the middle", []byte(logFile(r1, r2)[:len(r1)+40]), 1, []Scope{ScopeRecord}, "truncated"},
		{"JSON that is not CloudTrail", []byte(`{"hello":"world"}`), 0, []Scope{ScopeRecord}, "not a CloudTrail record"},
		{"an array of numbers", []byte(`[1]`), 0, []Scope{ScopeRecord}, "array element"},
		{"binary junk", junk(64<<10, 1), 0, []Scope{ScopeInput}, "the input holds no JSON value"},
		{"NaN", []byte("NaN"), 0, []Scope{ScopeInput}, `not JSON: line starts with "NaN"; the input holds no JSON value`},
		{"one truncated record", []byte(r1[:50]), 0, []Scope{ScopeInput}, "truncated"},
		{"text lines", []byte("a,b,c\n1,2,3\n"), 0, []Scope{ScopeInput}, `not JSON: line starts with "a,b,c"; the input holds no JSON value`},
		{"text and a broken line", []byte("a,b,c\n{\"x\":\n"), 0, []Scope{ScopeInput}, "(1 more parts are not JSON either)"},
		{"empty", nil, 0, []Scope{ScopeInput}, "empty"},
		{"corrupt gzip header", []byte{0x1f, 0x8b, 0, 0, 0}, 0, []Scope{ScopeInput}, "gzip header"},
		{"corrupt gzip body", corrupt, 0, []Scope{ScopeInput}, "gzip stream corrupt"},
		{"gzip cut short", zipped[:len(zipped)-4], 2, []Scope{ScopeInput}, "gzip stream truncated"},
		{"gzip cut short in a line", chop(gzipped(t, []byte(r1[:50])), 4), 0, []Scope{ScopeRecord, ScopeInput}, "gzip stream truncated"},
		{"not JSON for maxHeld lines, then a record", []byte(strings.Repeat("{junk\n", maxHeld+5) + r1), 0, []Scope{ScopeInput},
			"the first 10000 parts of the input hold no JSON value; the rest is not read (10000 more parts"},
		{"not JSON for fewer lines, then a record", []byte(strings.Repeat("{junk\n", 50) + r1), 1, scopes(50, ScopeRecord), "invalid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := collect(t, file, bytes.NewReader(tc.input))
			records := 0
			var gotScopes []Scope
			var last error
			for _, y := range got {
				if y.rec != nil {
					records++
					continue
				}
				var e *Error
				if !errors.As(y.err, &e) {
					t.Fatalf("error %v is not an *Error", y.err)
				}
				gotScopes, last = append(gotScopes, e.Scope), y.err
			}
			if records != tc.records || !equalScopes(gotScopes, tc.scopes) {
				t.Fatalf("%d records, errors of scope %v; want %d records, %v (errors: %v)", records, gotScopes, tc.records, tc.scopes, got)
			}
			if last != nil && !strings.Contains(last.Error(), tc.errHas) {
				t.Errorf("last error %q does not say %q", last, tc.errHas)
			}
			if last != nil && IsInputError(last) != (tc.scopes[len(tc.scopes)-1] == ScopeInput) {
				t.Errorf("IsInputError(%v) = %v", last, IsInputError(last))
			}

			// A Scanner counts the same, per input: read after another input, by Sub.
			s := &Scanner{Want: func(*Record) bool { return false }}
			for range s.Records(file, strings.NewReader(logFile(r1, "1"))) {
			}
			before := s.Stats()
			for range s.Records(file, bytes.NewReader(tc.input)) {
			}
			d := s.Stats().Sub(before)
			var recordErrs, inputErrs int64
			for _, sc := range tc.scopes {
				if sc == ScopeInput {
					inputErrs++
				} else {
					recordErrs++
				}
			}
			if d.Records != int64(tc.records) || d.RecordErrors != recordErrs || d.InputErrors != inputErrs || d.Input != int64(len(tc.input)) {
				t.Errorf("Scanner counted %+v for this input; want %d records, %d record errors, %d input errors, %d bytes",
					d, tc.records, recordErrs, inputErrs, len(tc.input))
			}
		})
	}
	t.Run("Decode", func(t *testing.T) {
		_, errs := Decode("event", []byte(`{"eventName":`))
		if len(errs) != 1 || !IsInputError(errs[0]) {
			t.Errorf("Decode of a truncated event: %v, want one error about the input", errs)
		}
		_, errs = Decode("event", []byte(logFile(r1, "1")))
		if len(errs) != 1 || IsInputError(errs[0]) {
			t.Errorf("Decode of a log file with a bad record: %v, want one error about the record", errs)
		}
	})
}

func scopes(n int, s Scope) []Scope {
	out := make([]Scope, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func equalScopes(a, b []Scope) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestOtherTimeFormCounted: a Scanner counts the records whose eventTime was not in CloudTrail's
// own form, whether it decoded them or skipped them on their heads.
func TestOtherTimeFormCounted(t *testing.T) {
	r1, r2 := record("CreateUser", "id-1"), record("AttachUserPolicy", "id-2")
	input := logFile(withTime(t, r1, "2022-09-27 17:09:18"), r2, withTime(t, r2, "2024-05-01T14:00:00+02:00"),
		withTime(t, r1, "2024-11-25T17:51:21.000000000Z"), withTime(t, r1, "..."), r1)
	for _, v := range wantVariants {
		for _, data := range [][]byte{[]byte(input), gzipped(t, []byte(input)), []byte(pretty(t, input))} {
			s := &Scanner{Want: v.want}
			for range s.Records(file, bytes.NewReader(data)) {
			}
			if st := s.Stats(); st.Records != 5 || st.OtherTimeForm != 3 || st.RecordErrors != 1 {
				t.Errorf("want %s: %+v; want 5 records, 3 with another time form, 1 error", v.name, st)
			}
		}
	}
}

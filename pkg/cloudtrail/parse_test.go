package cloudtrail

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
)

const (
	apiCall = "AWS API Call via CloudTrail"
	signIn  = "AWS Console Sign In via CloudTrail"
	file    = "trail.json" // a gzipped input keeps this name: the parser must go by magic bytes
)

// record returns a compact CloudTrail record of an IAM call by an IAM user.
func record(eventName, eventID string) string {
	return `{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLEPRINCIPAL",` +
		`"arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333","accessKeyId":"AKIAEXAMPLEKEY",` +
		`"userName":"alice"},"eventTime":"2024-05-01T12:00:00Z","eventSource":"iam.amazonaws.com",` +
		`"eventName":"` + eventName + `","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.7",` +
		`"userAgent":"aws-cli/2.15.0","requestParameters":{"userName":"bob"},"responseElements":null,` +
		`"requestID":"0f3c3a0e-1111-4a3b-9c1d-000000000001","eventID":"` + eventID + `","readOnly":false,` +
		`"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333",` +
		`"eventCategory":"Management"}`
}

// consoleLogin returns a compact ConsoleLogin record, as EventBridge delivers with the
// "AWS Console Sign In via CloudTrail" detail-type.
func consoleLogin(eventID string) string {
	return `{"eventVersion":"1.09","userIdentity":{"type":"Root","principalId":"111122223333",` +
		`"arn":"arn:aws:iam::111122223333:root","accountId":"111122223333"},"eventTime":"2024-05-01T12:05:00Z",` +
		`"eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":"us-east-1",` +
		`"sourceIPAddress":"203.0.113.9","userAgent":"Mozilla/5.0","requestParameters":null,` +
		`"responseElements":{"ConsoleLogin":"Success"},"additionalEventData":{"MFAUsed":"No"},` +
		`"eventID":"` + eventID + `","readOnly":false,"eventType":"AwsConsoleSignIn","managementEvent":true,` +
		`"recipientAccountId":"111122223333","eventCategory":"Management"}`
}

// envelope wraps detail in an EventBridge event.
func envelope(detailType, source, detail string) string {
	return `{"version":"0","id":"6a7e8feb-b491-4cf7-a9f1-bf3703467718","detail-type":"` + detailType +
		`","source":"` + source + `","account":"111122223333","time":"2024-05-01T12:00:01Z",` +
		`"region":"us-east-1","resources":[],"detail":` + detail + `}`
}

// logFile returns a CloudTrail S3 log file holding records.
func logFile(records ...string) string {
	return `{"Records":[` + strings.Join(records, ",") + `]}`
}

func lines(values ...string) string { return strings.Join(values, "\n") }

// edit replaces the one occurrence of old in s.
func edit(t testing.TB, s, old, new string) string {
	t.Helper()
	if strings.Count(s, old) != 1 {
		t.Fatalf("edit: %q occurs %d times, want once", old, strings.Count(s, old))
	}
	return strings.Replace(s, old, new, 1)
}

// pretty indents JSON the way jq and the AWS CLI print it.
func pretty(t testing.TB, s string) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Indent(&b, []byte(s), "", "  "); err != nil {
		t.Fatalf("indent: %v", err)
	}
	return b.String()
}

func gzipped(t testing.TB, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// lineOf returns the 1-based line of doc on which the only occurrence of marker begins.
func lineOf(t testing.TB, doc, marker string) int {
	t.Helper()
	if strings.Count(doc, marker) != 1 {
		t.Fatalf("lineOf: %q occurs %d times, want once", marker, strings.Count(doc, marker))
	}
	return 1 + strings.Count(doc[:strings.Index(doc, marker)], "\n")
}

// yielded is one value Records yielded.
type yielded struct {
	rec *Record
	err error
}

func (y yielded) String() string {
	if y.err != nil {
		return "error " + y.err.Error()
	}
	return fmt.Sprintf("record %s %s at %v (%q)", y.rec.EventName, y.rec.EventID, y.rec.Pos, y.rec.DetailType)
}

// collect reads everything Records yields, checking that each value is a record or an error.
func collect(t testing.TB, name string, r io.Reader) []yielded {
	t.Helper()
	var got []yielded
	for rec, err := range Records(name, r) {
		if (rec == nil) == (err == nil) {
			t.Fatalf("Records yielded record %v with error %v: want exactly one", rec, err)
		}
		got = append(got, yielded{rec, err})
	}
	return got
}

// want describes a value Records should yield: a record with eventID id, or an error whose
// text holds every word in errHas.
type want struct {
	id         string
	detailType string
	pos        Position
	errHas     []string
}

func rec(id string, line, index int) want {
	return want{id: id, pos: Position{Name: file, Line: line, Index: index}}
}

func recDT(id, detailType string, line int) want {
	return want{id: id, detailType: detailType, pos: Position{Name: file, Line: line, Index: -1}}
}

func fails(line, index int, words ...string) want {
	return want{pos: Position{Name: file, Line: line, Index: index}, errHas: words}
}

// checkYields compares what Records yielded for the uncompressed input plain with wants.
func checkYields(t *testing.T, plain []byte, got []yielded, wants []want) {
	t.Helper()
	if len(got) != len(wants) {
		var b strings.Builder
		for _, g := range got {
			b.WriteString("\n\t" + g.String())
		}
		t.Fatalf("got %d values, want %d:%s", len(got), len(wants), b.String())
	}
	for i, w := range wants {
		g := got[i]
		if w.errHas == nil {
			if g.rec == nil {
				t.Errorf("value %d: got %v, want record %s at %v", i, g.err, w.id, w.pos)
				continue
			}
			if g.rec.EventID != w.id || g.rec.Pos != w.pos || g.rec.DetailType != w.detailType {
				t.Errorf("value %d: got record %s at %#v detail-type %q, want %s at %#v detail-type %q",
					i, g.rec.EventID, g.rec.Pos, g.rec.DetailType, w.id, w.pos, w.detailType)
			}
			checkRaw(t, plain, g.rec)
			continue
		}
		var e *Error
		if !errors.As(g.err, &e) {
			t.Errorf("value %d: got %v, want an *Error at %v", i, g, w.pos)
			continue
		}
		if e.Pos != w.pos {
			t.Errorf("value %d: error %q at %#v, want at %#v", i, e, e.Pos, w.pos)
		}
		msg := e.Error()
		if !strings.HasPrefix(msg, w.pos.String()+": ") {
			t.Errorf("value %d: error %q does not begin with its position %q", i, msg, w.pos)
		}
		for _, word := range w.errHas {
			if !strings.Contains(msg, word) {
				t.Errorf("value %d: error %q does not say %q", i, msg, word)
			}
		}
	}
}

// checkRaw checks that rec.Raw is the record's own bytes, cut from the input unchanged.
func checkRaw(t *testing.T, plain []byte, rec *Record) {
	t.Helper()
	var id struct {
		EventID string `json:"eventID"`
	}
	if err := json.Unmarshal(rec.Raw, &id); err != nil || id.EventID != rec.EventID {
		t.Errorf("record %s: Raw %.60q is not the record (%v)", rec.EventID, rec.Raw, err)
	}
	if !bytes.Contains(plain, rec.Raw) {
		t.Errorf("record %s: Raw %.60q… is not a part of the input", rec.EventID, rec.Raw)
	}
	if rec.Raw[0] != '{' || rec.Raw[len(rec.Raw)-1] != '}' {
		t.Errorf("record %s: Raw %q has bytes around the object", rec.EventID, rec.Raw)
	}
}

// runBoth checks input as it is and gzip-compressed under the same name.
func runBoth(t *testing.T, input string, wants []want) {
	t.Helper()
	t.Run("plain", func(t *testing.T) {
		checkYields(t, []byte(input), collect(t, file, strings.NewReader(input)), wants)
	})
	t.Run("gzip", func(t *testing.T) {
		zipped := gzipped(t, []byte(input))
		checkYields(t, []byte(input), collect(t, file, bytes.NewReader(zipped)), wants)
	})
}

func TestRecordsShapes(t *testing.T) {
	r1, r2, r3, r4 := record("CreateUser", "id-1"), record("AttachUserPolicy", "id-2"),
		record("CreateAccessKey", "id-3"), record("PutUserPolicy", "id-4")
	login := consoleLogin("login-1")

	prettyLog := pretty(t, logFile(r1, r2, r3))
	// Every pretty-printed record is as many lines long; record 0 begins on line 3.
	recordLines := strings.Count(pretty(t, r1), "\n") + 1
	prettyEnv, prettyBare := pretty(t, envelope(apiCall, "aws.iam", r1)), pretty(t, r2)
	concatenated := prettyEnv + "\n" + prettyBare + "\n\n" + pretty(t, logFile(r3, r4)) + "\n"
	bare2 := 1 + strings.Count(prettyEnv, "\n") + 1
	log3 := bare2 + strings.Count(prettyBare, "\n") + 2

	tests := []struct {
		name  string
		input string
		want  []want
	}{
		{"EventBridge API call", envelope(apiCall, "aws.iam", r1), []want{recDT("id-1", apiCall, 1)}},
		{"EventBridge console sign-in", envelope(signIn, "aws.signin", login), []want{recDT("login-1", signIn, 1)}},
		{"EventBridge pretty-printed", prettyEnv, []want{recDT("id-1", apiCall, 1)}},
		{"bare record", r1, []want{rec("id-1", 1, -1)}},
		{"bare record after blanks, with a final newline", "  \t" + r1 + "\n", []want{rec("id-1", 1, -1)}},
		{"log file", logFile(r1, r2, r3), []want{rec("id-1", 1, 0), rec("id-2", 1, 1), rec("id-3", 1, 2)}},
		{"log file with Records not first", `{"digest":{"a":[1]},"Records":[` + r1 + "," + r2 + "]}",
			[]want{rec("id-1", 1, 0), rec("id-2", 1, 1)}},
		{"log file with no records", `{"Records":[]}`, nil},
		{"log file pretty-printed", prettyLog, []want{
			rec("id-1", 3, 0), rec("id-2", 3+recordLines, 1), rec("id-3", 3+2*recordLines, 2)}},
		{"JSON Lines mixing shapes", lines(envelope(apiCall, "aws.iam", r1), r2, logFile(r3, r4),
			envelope(signIn, "aws.signin", login)), []want{
			recDT("id-1", apiCall, 1), rec("id-2", 2, -1), rec("id-3", 3, 0), rec("id-4", 3, 1),
			recDT("login-1", signIn, 4)}},
		{"blank lines", "\n" + r1 + "\n\n  \t \n" + r2 + "\n\n", []want{rec("id-1", 2, -1), rec("id-2", 5, -1)}},
		{"CRLF line endings", r1 + "\r\n" + logFile(r2) + "\r\n\r\n" + r3 + "\r\n",
			[]want{rec("id-1", 1, -1), rec("id-2", 2, 0), rec("id-3", 4, -1)}},
		{"concatenated pretty-printed objects", concatenated, []want{
			recDT("id-1", apiCall, 1), rec("id-2", bare2, -1), rec("id-3", log3+2, 0),
			rec("id-4", log3+2+recordLines, 1)}},
		{"concatenated on one line", r1 + r2 + " " + logFile(r3),
			[]want{rec("id-1", 1, -1), rec("id-2", 1, -1), rec("id-3", 1, 0)}},
		{"compact line then pretty-printed object", r1 + "\n" + prettyBare + "\n" + r3,
			[]want{rec("id-1", 1, -1), rec("id-2", 2, -1), rec("id-3", 2+recordLines, -1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { runBoth(t, tt.input, tt.want) })
	}
}

// TestRecordsRaw checks that Raw is byte for byte the record as written, whatever its layout.
func TestRecordsRaw(t *testing.T) {
	odd := "{ \"eventName\" : \"CreateUser\",\n    \"eventSource\":\"iam.amazonaws.com\" ,\"eventTime\":" +
		"\"2024-05-01T12:00:00Z\",\t\"eventID\":\"odd\", \"requestParameters\": {\"userName\": \"b\\u00f6b\"} }"
	oneLine := strings.ReplaceAll(odd, "\n", "")
	tests := []struct {
		name, input, raw string
	}{
		{"bare record", oneLine, oneLine},
		{"bare record with CRLF", oneLine + "\r\n", oneLine},
		{"log record", `{"Records":[  ` + oneLine + ` ]}`, oneLine},
		{"EventBridge detail", envelope(apiCall, "aws.iam", oneLine), oneLine},
		{"multi-line EventBridge detail", "{\"detail-type\": \"" + apiCall + "\",\n \"source\": \"aws.iam\",\n" +
			" \"detail\": " + odd + "\n}", odd},
		{"multi-line log record", "{\n\"Records\": [\n  " + odd + "\n]}", odd},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := collect(t, file, strings.NewReader(tt.input))
			if len(got) != 1 || got[0].rec == nil {
				t.Fatalf("got %v, want one record", got)
			}
			if string(got[0].rec.Raw) != tt.raw {
				t.Errorf("Raw = %q, want %q", got[0].rec.Raw, tt.raw)
			}
			var params struct{ UserName string }
			if err := got[0].rec.Param(&params); err != nil || params.UserName != "böb" {
				t.Errorf("Param: %q, %v; want böb", params.UserName, err)
			}
		})
	}
}

func TestRecordsErrors(t *testing.T) {
	r1, r2, r3, r4 := record("CreateUser", "id-1"), record("AttachUserPolicy", "id-2"),
		record("CreateAccessKey", "id-3"), record("PutUserPolicy", "id-4")
	half := func(s string) string { return s[:len(s)/2] }
	deep := strings.Repeat("[", 100000) + strings.Repeat("]", 100000)
	big := edit(t, r2, `"userAgent":"aws-cli/2.15.0"`, `"userAgent":"`+strings.Repeat("a", 16<<20)+`"`)
	badUTF8 := edit(t, r2, `"userName":"bob"`, "\"userName\":\"b\xffb\"")
	prettyLog := pretty(t, logFile(r1, r2, record("DeleteUser", "id-3"), r4))
	brokenPretty := edit(t, prettyLog, `"DeleteUser"`, `DeleteUser"`)
	prettyTrunc := pretty(t, r1)
	prettyTrunc = prettyTrunc[:len(prettyTrunc)-10]
	unclosed := strings.TrimSuffix(pretty(t, r1), "}") + "\n" + pretty(t, r2)
	recordLines := strings.Count(pretty(t, r1), "\n") + 1

	tests := []struct {
		name  string
		input string
		want  []want
	}{
		{"empty file", "", []want{fails(0, -1, "empty")}},
		{"whitespace-only file", " \n\t\r\n  \n", []want{fails(0, -1, "empty")}},
		{"truncated single document", half(r1), []want{fails(1, -1, "truncated")}},
		{"truncated pretty-printed document", prettyTrunc, []want{fails(1, -1, "truncated")}},
		{"truncated first JSON Lines line", lines(half(r1), r2, r3),
			[]want{fails(1, -1, "truncated"), rec("id-2", 2, -1), rec("id-3", 3, -1)}},
		{"truncated middle JSON Lines line", lines(r1, half(r2), r3),
			[]want{rec("id-1", 1, -1), fails(2, -1, "truncated"), rec("id-3", 3, -1)}},
		{"truncated last JSON Lines line", lines(r1, r2, half(r3)),
			[]want{rec("id-1", 1, -1), rec("id-2", 2, -1), fails(3, -1, "truncated")}},
		{"two truncated lines in a row", lines(half(r1), half(r2), r3, "", r4),
			[]want{fails(1, -1, "truncated"), fails(2, -1, "truncated"), rec("id-3", 3, -1), rec("id-4", 5, -1)}},
		{"eventName a number", edit(t, r1, `"eventName":"CreateUser"`, `"eventName":5`),
			[]want{fails(1, -1, "eventName", "string", "number")}},
		{"userIdentity a string", edit(t, r1, `"userIdentity":{`, `"userIdentity":"alice","x":{`),
			[]want{fails(1, -1, "userIdentity", "object", "string")}},
		{"eventTime not a time", edit(t, r1, `"2024-05-01T12:00:00Z"`, `"yesterday"`),
			[]want{fails(1, -1, "eventTime", "yesterday", "RFC 3339")}},
		{"eventTime a number", edit(t, r1, `"2024-05-01T12:00:00Z"`, `1714564800`),
			[]want{fails(1, -1, "eventTime", "1714564800")}},
		{"Records an object", `{"Records":{"eventName":"x"}}`, []want{fails(1, -1, "Records", "not an array")}},
		{"Records null", `{"Records":null}`, []want{fails(1, -1, "Records", "not an array")}},
		{"Records null, not first", `{"digest":1,"Records":null}`, []want{fails(1, -1, "Records", "not an array")}},
		{"log file with a record of the wrong type", logFile(r1, edit(t, r2, `"userIdentity":{`, `"userIdentity":7,"x":{`), r3),
			[]want{rec("id-1", 1, 0), fails(1, 1, "userIdentity", "number"), rec("id-3", 1, 2)}},
		{"log file with a record that is not an object", logFile(r1, `"oops"`, r3),
			[]want{rec("id-1", 1, 0), fails(1, 1, "not a JSON object"), rec("id-3", 1, 2)}},
		{"log file with a syntax break in the middle",
			logFile(r1, r2, edit(t, r3, `"eventName":"CreateAccessKey"`, `"eventName":CreateAccessKey"`), r4),
			[]want{rec("id-1", 1, 0), rec("id-2", 1, 1), fails(1, 2, "invalid character", "unreadable")}},
		{"log file missing a comma", `{"Records":[` + r1 + " " + r2 + "," + r3 + "]}",
			[]want{rec("id-1", 1, 0), fails(1, 1, "expected comma", "unreadable")}},
		{"log file cut short", half(logFile(r1, r2, r3, r4)),
			[]want{rec("id-1", 1, 0), fails(1, 1, "truncated")}},
		{"pretty-printed log file with a syntax break", brokenPretty, []want{
			rec("id-1", 3, 0), rec("id-2", 3+recordLines, 1),
			fails(lineOf(t, brokenPretty, `DeleteUser"`), 2, "invalid character", "unreadable")}},
		{"pretty-printed object missing its closing brace", unclosed, []want{
			fails(lineOf(t, unclosed, "\n{")+1, -1, "invalid character '{'"), rec("id-2", lineOf(t, unclosed, "\n{")+1, -1)}},
		{"junk between pretty-printed objects", pretty(t, r1) + "\n],\n" + pretty(t, r2), []want{
			rec("id-1", 1, -1), fails(recordLines+1, -1, "not JSON", "],"), rec("id-2", recordLines+2, -1)}},
		{"missing eventName", edit(t, r1, `"eventName":"CreateUser",`, ""), []want{fails(1, -1, "eventName")}},
		{"missing eventSource", edit(t, r1, `"eventSource":"iam.amazonaws.com",`, ""),
			[]want{fails(1, -1, "no eventSource")}},
		{"missing eventTime", edit(t, r1, `"eventTime":"2024-05-01T12:00:00Z",`, ""), []want{fails(1, -1, "no eventTime")}},
		{"null eventTime", edit(t, r1, `"2024-05-01T12:00:00Z"`, `null`), []want{fails(1, -1, "no eventTime")}},
		{"log file record missing eventName", logFile(r1, edit(t, r2, `"eventName":"AttachUserPolicy",`, ""), r3),
			[]want{rec("id-1", 1, 0), fails(1, 1, "no eventName"), rec("id-3", 1, 2)}},
		{"EventBridge event not from CloudTrail", lines(
			envelope("EC2 Instance State-change Notification", "aws.ec2", `{"instance-id":"i-1","state":"running"}`),
			envelope(apiCall, "aws.iam", r1)),
			[]want{fails(1, -1, "detail-type", "EC2 Instance State-change Notification", "not a CloudTrail"),
				recDT("id-1", apiCall, 2)}},
		{"EventBridge event with a forged source", envelope(apiCall, "custom.attacker", r1),
			[]want{fails(1, -1, "source", "custom.attacker", "aws.")}},
		{"EventBridge event without detail", `{"detail-type":"` + apiCall + `","source":"aws.iam"}`,
			[]want{fails(1, -1, "no detail")}},
		{"EventBridge detail not a record", envelope(apiCall, "aws.iam", `{"x":1}`),
			[]want{fails(1, -1, "no eventName")}},
		{"not CloudTrail at all", `{"hello":"world"}`, []want{fails(1, -1, "not a CloudTrail record")}},
		{"junk line between records", lines(r1, "hello world", r2),
			[]want{rec("id-1", 1, -1), fails(2, -1, "not JSON", "hello"), rec("id-2", 3, -1)}},
		{"invalid UTF-8 in a string", badUTF8, []want{fails(1, -1, "UTF-8")}},
		{"invalid UTF-8 in one log record", logFile(r1, badUTF8, r3),
			[]want{rec("id-1", 1, 0), fails(1, 1, "UTF-8"), rec("id-3", 1, 2)}},
		{"NaN value", edit(t, r1, `"readOnly":false`, `"readOnly":NaN`), []want{fails(1, -1, "invalid character 'N'")}},
		{"NaN alone", "NaN", []want{fails(1, -1, "not JSON", "NaN")}},
		{"array of numbers at top level", "[1,2]", []want{fails(1, 0, "array element is a number"), fails(1, 1, "array element is a number")}},
		{"string at top level", `"hello"`, []want{fails(1, -1, "string")}},
		{"deep nesting", edit(t, r1, `{"userName":"bob"}`, deep), []want{fails(1, -1, "max depth")}},
		{"deep nesting between good lines", lines(r1, edit(t, r2, `{"userName":"bob"}`, deep), r3),
			[]want{rec("id-1", 1, -1), fails(2, -1, "max depth"), rec("id-3", 3, -1)}},
		{"deep unclosed nesting", edit(t, r1, `{"userName":"bob"}`, strings.Repeat("[", 100000)),
			[]want{fails(1, -1, "max depth")}},
		{"deep nesting in a log record", logFile(r1, edit(t, r2, `{"userName":"bob"}`, deep)),
			[]want{rec("id-1", 1, 0), fails(1, 1, "max depth")}},
		{"record over MaxRecordBytes", big, []want{fmtFails(1, -1, "4194304 byte limit")}},
		{"record over MaxRecordBytes between good lines", lines(r1, big, r3),
			[]want{rec("id-1", 1, -1), fmtFails(2, -1, "4194304 byte limit"), rec("id-3", 3, -1)}},
		{"record over MaxRecordBytes in a log file", logFile(r1, big, r3),
			[]want{rec("id-1", 1, 0), fmtFails(1, 1, "4194304 byte limit"), rec("id-3", 1, 2)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { runBoth(t, tt.input, tt.want) })
	}
}

// fmtFails is fails for a message that names MaxRecordBytes; it guards against the constant
// changing under the test.
func fmtFails(line, index int, words ...string) want {
	for i, w := range words {
		words[i] = strings.Replace(w, "4194304", fmt.Sprint(MaxRecordBytes), 1)
	}
	return fails(line, index, words...)
}

func TestRecordsBinaryJunk(t *testing.T) {
	for seed := range uint64(8) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			junk := make([]byte, 64<<10)
			rng := rand.New(rand.NewPCG(seed, 1))
			for i := range junk {
				junk[i] = byte(rng.Uint32())
			}
			got := collect(t, file, bytes.NewReader(junk))
			if len(got) == 0 {
				t.Fatal("no error for random bytes")
			}
			for _, g := range got {
				var e *Error
				if !errors.As(g.err, &e) || !strings.HasPrefix(e.Error(), file) {
					t.Errorf("got %v, want only errors naming %s", g, file)
				}
			}
		})
	}
}

func TestRecordsGzip(t *testing.T) {
	r1, r2, r3 := record("CreateUser", "id-1"), record("AttachUserPolicy", "id-2"), record("CreateAccessKey", "id-3")
	jsonl := []byte(lines(r1, r2, r3) + "\n")
	zipped := gzipped(t, jsonl)
	prettyLog := pretty(t, logFile(r1, r2, r3))
	recordLines := strings.Count(pretty(t, r1), "\n") + 1
	// A valid gzip header (10 bytes) followed by a deflate block of the reserved type 3.
	corrupt := append(append([]byte{}, zipped[:10]...), 0xff, 0xff, 0xff, 0xff, 0x00, 0x01, 0x02)

	tests := []struct {
		name  string
		input []byte
		plain string // what the input holds uncompressed, for checking Raw
		want  []want
	}{
		{"two gzip members, as cat a.gz b.gz makes", append(gzipped(t, []byte(r1+"\n")), gzipped(t, []byte(r2))...),
			r1 + "\n" + r2, []want{rec("id-1", 1, -1), rec("id-2", 2, -1)}},
		{"corrupt header", []byte{0x1f, 0x8b, 0x00, 0x00, 0x00}, "", []want{fails(0, -1, "gzip")}},
		{"valid header, corrupt body", corrupt, "", []want{fails(1, -1, "gzip", "corrupt")}},
		{"JSON Lines, trailer cut off", zipped[:len(zipped)-4], string(jsonl), []want{
			rec("id-1", 1, -1), rec("id-2", 2, -1), rec("id-3", 3, -1), fails(4, -1, "gzip", "truncated")}},
		{"pretty-printed log file, trailer cut off", chop(gzipped(t, []byte(prettyLog)), 4), prettyLog, []want{
			rec("id-1", 3, 0), rec("id-2", 3+recordLines, 1), rec("id-3", 3+2*recordLines, 2),
			fails(strings.Count(prettyLog, "\n")+1, -1, "gzip", "truncated")}},
		{"checksum wrong", flipCRC(zipped), string(jsonl), []want{
			rec("id-1", 1, -1), rec("id-2", 2, -1), rec("id-3", 3, -1), fails(4, -1, "gzip", "corrupt")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkYields(t, []byte(tt.plain), collect(t, file, bytes.NewReader(tt.input)), tt.want)
		})
	}
}

func chop(b []byte, n int) []byte { return b[:len(b)-n] }

// flipCRC corrupts the CRC-32 in a gzip trailer.
func flipCRC(zipped []byte) []byte {
	b := append([]byte{}, zipped...)
	b[len(b)-8] ^= 0xff
	return b
}

// TestRecordsGzipCutShort cuts a gzipped file at every length: what arrives is the first records
// in order, then errors only, the last of them about the gzip stream.
func TestRecordsGzipCutShort(t *testing.T) {
	var recs []string
	for i := range 50 {
		recs = append(recs, record("CreateUser", fmt.Sprint("id-", i)))
	}
	for _, tt := range []struct{ name, input string }{
		{"JSON Lines", lines(recs...)},
		{"log file", logFile(recs...)},
		{"pretty-printed log file", pretty(t, logFile(recs...))},
	} {
		t.Run(tt.name, func(t *testing.T) {
			zipped := gzipped(t, []byte(tt.input))
			for n := 2; n < len(zipped); n += 7 { // 2: the gzip magic
				got := collect(t, file, bytes.NewReader(zipped[:n]))
				if len(got) == 0 || got[len(got)-1].err == nil || !strings.Contains(got[len(got)-1].err.Error(), "gzip") {
					t.Fatalf("cut at %d of %d: last value is not a gzip error: %v", n, len(zipped), got)
				}
				i := 0
				for ; got[i].rec != nil; i++ {
					if got[i].rec.EventID != fmt.Sprint("id-", i) {
						t.Fatalf("cut at %d of %d: value %d is %v, want record id-%d", n, len(zipped), i, got[i], i)
					}
				}
				for _, g := range got[i:] {
					if g.rec != nil {
						t.Fatalf("cut at %d of %d: record %v after an error", n, len(zipped), g)
					}
				}
			}
		})
	}
}

// TestRecordsWhitespaceBomb reads gzip that expands to 48 MB of whitespace before a record.
func TestRecordsWhitespaceBomb(t *testing.T) {
	r1 := record("CreateUser", "id-1")
	for _, tt := range []struct {
		name string
		unit string // repeated to fill 48 MB
	}{
		{"spaces on the record's line", " \t "},
		{"blank lines", " \r\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			zw, err := gzip.NewWriterLevel(&b, gzip.BestSpeed)
			if err != nil {
				t.Fatal(err)
			}
			chunk := []byte(strings.Repeat(tt.unit, (1<<20)/len(tt.unit)))
			for range 48 {
				zw.Write(chunk)
			}
			zw.Write([]byte(r1))
			if err := zw.Close(); err != nil {
				t.Fatal(err)
			}
			line := 1 + 48*strings.Count(string(chunk), "\n")

			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			got := collect(t, file, &b)
			runtime.ReadMemStats(&after)

			checkYields(t, []byte(r1), got, []want{rec("id-1", line, -1)})
			// The whitespace is skipped, not kept: what is allocated does not grow with it.
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
				t.Errorf("allocated %d MB reading 48 MB of whitespace", alloc>>20)
			}
		})
	}
}

// TestRecordsBrokenLinesScannedOnce reads thousands of broken lines, each of which a JSON
// scanner would follow through the 2 MB after it. Read in time proportional to the input this
// takes well under a second; a parser that rescans from every line takes hours, and the test
// fails by timing out.
func TestRecordsBrokenLinesScannedOnce(t *testing.T) {
	const n = 3000
	input := "{\n\"x\"\n" + strings.Repeat("{\"a\":[\n", n) + strings.Repeat("1,\n", 1<<20) + record("CreateUser", "id-1")
	t.Run("many values on a line before a long one", func(t *testing.T) {
		// Whether the values on a line may run past it is decided once for the line, not
		// once for each value by validating the (here 4 MB) line after it.
		long := "{" + strings.Repeat(" ", 4<<20) + `"x":[}`
		input := "{\n\"x\"\n" + strings.Repeat("{}", 5000) + "\n  " + long + "\n"
		if got := collect(t, file, strings.NewReader(input)); len(got) < 5000 {
			t.Errorf("got %d values, want an error for each of the 5000 {}", len(got))
		}
	})
	got := collect(t, file, strings.NewReader(input))
	if len(got) < n+1 {
		t.Fatalf("got %d values, want an error for each of the %d broken lines and a record", len(got), n)
	}
	// Reading picks up again at the record: it is a line of its own after the broken ones.
	if last := got[len(got)-1]; last.rec == nil || last.rec.EventID != "id-1" {
		t.Errorf("last value %v, want record id-1", last)
	}
	for _, g := range got[:len(got)-1] {
		if g.rec != nil {
			t.Errorf("record %v among the broken lines", g)
		}
	}
}

func TestRecordsStopsEarly(t *testing.T) {
	r1, r2, r3 := record("CreateUser", "id-1"), record("AttachUserPolicy", "id-2"), record("CreateAccessKey", "id-3")
	for _, tt := range []struct {
		name  string
		input string
		after int // values taken before breaking out
	}{
		{"JSON Lines", lines(r1, r2, r3), 2},
		{"log file", logFile(r1, r2, r3), 1},
		{"pretty-printed log file", pretty(t, logFile(r1, r2, r3)), 2},
		{"concatenated pretty-printed", pretty(t, r1) + pretty(t, r2) + pretty(t, r3), 1},
		{"at an error", lines("junk", "junk", r1), 1},
		{"at an error in a log file", logFile(r1, `1`, r3), 2},
		{"at the empty-input error", "", 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// A yield after the loop has been left panics in the range-over-func machinery.
			n := 0
			for range Records(file, strings.NewReader(tt.input)) {
				n++
				if n == tt.after {
					break
				}
			}
			if n != tt.after {
				t.Errorf("took %d values before the break, want %d", n, tt.after)
			}
		})
	}
}

func TestDecode(t *testing.T) {
	r1, r2 := record("CreateUser", "id-1"), record("AttachUserPolicy", "id-2")
	at := Position{Name: "event", Index: -1}
	for _, tt := range []struct {
		name   string
		input  string
		ids    []string
		errHas []string // words of the one error expected, if any
	}{
		{"EventBridge envelope", envelope(apiCall, "aws.iam", r1), []string{"id-1"}, nil},
		{"pretty-printed envelope with blanks around", "\n " + pretty(t, envelope(apiCall, "aws.iam", r1)) + "\n\n",
			[]string{"id-1"}, nil},
		{"log file", logFile(r1, r2), []string{"id-1", "id-2"}, nil},
		{"log file with a bad record", logFile(r1, `{"eventName":5}`, r2), []string{"id-1", "id-2"},
			[]string{"event record 1:", "eventName"}},
		{"truncated", envelope(apiCall, "aws.iam", r1)[:100], nil, []string{"event: ", "truncated"}},
		{"empty", "", nil, []string{"event: ", "empty"}},
		{"not CloudTrail", envelope("Scheduled Event", "aws.events", "{}"), nil,
			[]string{"event: ", "Scheduled Event", "not a CloudTrail"}},
		{"two events", r1 + r2, nil, []string{"event: ", "invalid"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			recs, errs := Decode("event", []byte(tt.input))
			var ids []string
			for _, r := range recs {
				ids = append(ids, r.EventID)
				if r.Pos.Name != "event" || r.Pos.Line != 0 || !bytes.Contains([]byte(tt.input), r.Raw) {
					t.Errorf("record %s at %#v with Raw %.40q…", r.EventID, r.Pos, r.Raw)
				}
			}
			if fmt.Sprint(ids) != fmt.Sprint(tt.ids) {
				t.Errorf("records %v, want %v", ids, tt.ids)
			}
			if tt.errHas == nil {
				if len(errs) != 0 {
					t.Errorf("errors %v, want none", errs)
				}
				return
			}
			if len(errs) != 1 {
				t.Fatalf("errors %v, want one", errs)
			}
			var e *Error
			if !errors.As(errs[0], &e) || e.Pos.Name != at.Name {
				t.Errorf("error %v is not an *Error naming %q", errs[0], at.Name)
			}
			for _, w := range tt.errHas {
				if !strings.Contains(errs[0].Error(), w) {
					t.Errorf("error %q does not say %q", errs[0], w)
				}
			}
		})
	}
	t.Run("envelope fields", func(t *testing.T) {
		recs, errs := Decode("event", []byte(envelope(signIn, "aws.signin", consoleLogin("login-1"))))
		if len(recs) != 1 || len(errs) != 0 {
			t.Fatalf("got %v, %v; want one record", recs, errs)
		}
		r := recs[0]
		if r.DetailType != signIn || r.Pos != at || string(r.Raw) != consoleLogin("login-1") ||
			r.EventSource != "signin.amazonaws.com" || !r.IsRoot() || r.ActorARN() != "arn:aws:iam::111122223333:root" ||
			r.EventTime.Format("15:04") != "12:05" {
			t.Errorf("got %+v", r)
		}
	})
}

func TestReadLine(t *testing.T) {
	type read struct {
		text    string
		dropped int
		err     error
	}
	for _, tt := range []struct {
		name  string
		input string
		max   int // 4 if 0
		want  []read
	}{
		{"lines", "ab\ncd", 0, []read{{"ab", 0, nil}, {"cd", 0, io.EOF}}},
		{"final newline", "ab\n", 0, []read{{"ab", 0, nil}}},
		{"blank lines", "\n \t\n", 0, []read{{"", 0, nil}, {" \t", 0, nil}}},
		{"CR kept for the caller", "ab\r\n", 0, []read{{"ab\r", 0, nil}}},
		{"line at the limit", "abcd\nx", 0, []read{{"abcd", 0, nil}, {"x", 0, io.EOF}}},
		{"line over the limit", "abcde\nx", 0, []read{{"", 0, errLineTooLong}, {"x", 0, io.EOF}}},
		{"last line over the limit", "x\nabcdefgh", 0, []read{{"x", 0, nil}, {"", 0, errLineTooLong}}},
		{"indentation kept and counted", " ab\n    ab\n", 0, []read{{" ab", 0, nil}, {"", 0, errLineTooLong}}},
		{"long run of blanks dropped", strings.Repeat(" \t", maxIndent) + "abcd\n" + strings.Repeat(" ", maxIndent+1) + "\n",
			maxIndent + 8, []read{{"abcd", 2 * maxIndent, nil}, {"", maxIndent + 1, nil}}},
		{"long line across buffer refills", strings.Repeat("z", 40) + "\nok", 0, []read{{"", 0, errLineTooLong}, {"ok", 0, io.EOF}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			br := bufio.NewReaderSize(strings.NewReader(tt.input), 16)
			max := tt.max
			if max == 0 {
				max = 4
			}
			var got []read
			for {
				text, dropped, n, _, err := readLine(br, nil, max)
				if n == 0 {
					if err != io.EOF {
						t.Fatalf("end of input: %v, want io.EOF", err)
					}
					break
				}
				got = append(got, read{string(text), dropped, err})
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

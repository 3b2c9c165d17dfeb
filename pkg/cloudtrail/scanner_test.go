package cloudtrail

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// wantVariants are the Want functions the Scanner is checked with: everything, nothing, and
// choices that read typed fields at every level of a head.
var wantVariants = []struct {
	name string
	want func(*Record) bool
}{
	{"all", func(*Record) bool { return true }},
	{"none", func(*Record) bool { return false }},
	{"typed fields", func(r *Record) bool {
		sc := r.UserIdentity.SessionContext
		return r.EventName == "AttachUserPolicy" || r.UserIdentity.Type == "Root" || strings.HasPrefix(r.ErrorCode, "Access") ||
			r.ReadOnly != nil && !*r.ReadOnly && len(r.EventID)%2 == 0 || sc != nil && sc.Attributes.MFAAuthenticated == "true" ||
			r.EventTime.Minute() == 5 || r.Pos.Index == 1
	}},
}

// scanned is what a Scanner yielded, the heads Want was asked about, and its stats.
type scanned struct {
	got   []yielded
	heads []Record
	stats ScanStats
}

func scanAll(t testing.TB, data []byte, want func(*Record) bool) scanned {
	t.Helper()
	var out scanned
	s := &Scanner{Want: func(r *Record) bool {
		if r.Raw == nil {
			out.heads = append(out.heads, cloneHead(r))
		}
		return want(r)
	}}
	for rec, err := range s.Records(file, bytes.NewReader(data)) {
		if (rec == nil) == (err == nil) {
			t.Fatalf("Scanner yielded record %v with error %v: want exactly one", rec, err)
		}
		out.got = append(out.got, yielded{rec, err})
	}
	out.stats = s.Stats()
	return out
}

// cloneHead copies a head out of the Scanner's buffer.
func cloneHead(r *Record) Record {
	c := *r
	for _, p := range []*string{&c.EventVersion, &c.EventID, &c.EventSource, &c.EventName, &c.EventType, &c.AWSRegion,
		&c.SourceIPAddress, &c.UserAgent, &c.ErrorCode, &c.ErrorMessage, &c.RecipientAccountID, &c.UserIdentity.Type,
		&c.UserIdentity.PrincipalID, &c.UserIdentity.ARN, &c.UserIdentity.AccountID, &c.UserIdentity.AccessKeyID,
		&c.UserIdentity.UserName, &c.UserIdentity.InvokedBy} {
		*p = strings.Clone(*p)
	}
	if r.ReadOnly != nil {
		v := *r.ReadOnly
		c.ReadOnly = &v
	}
	if r.UserIdentity.SessionContext != nil {
		sc := *r.UserIdentity.SessionContext
		sc.SessionIssuer.Type, sc.SessionIssuer.ARN = strings.Clone(sc.SessionIssuer.Type), strings.Clone(sc.SessionIssuer.ARN)
		sc.SessionIssuer.AccountID, sc.SessionIssuer.UserName = strings.Clone(sc.SessionIssuer.AccountID), strings.Clone(sc.SessionIssuer.UserName)
		sc.Attributes.MFAAuthenticated, sc.Attributes.CreationDate = strings.Clone(sc.Attributes.MFAAuthenticated), strings.Clone(sc.Attributes.CreationDate)
		c.UserIdentity.SessionContext = &sc
	}
	return c
}

// headOf is a decoded record as a head would show it.
func headOf(r *Record) Record {
	c := *r
	c.Raw, c.RequestParameters, c.ResponseElements, c.AdditionalEventData, c.DetailType = nil, nil, nil, nil, ""
	return c
}

// checkScanner reads data with Records and with a Scanner under every Want, and checks that the
// Scanner yields exactly what Records yields less the records Want refuses, and that every head
// it offered Want holds the typed fields of the record decoded at its position.
func checkScanner(t *testing.T, data []byte) {
	t.Helper()
	ref := collect(t, file, bytes.NewReader(data))
	byPos := map[Position][]*Record{} // several when a line holds two Records arrays
	for _, y := range ref {
		if y.rec != nil {
			byPos[y.rec.Pos] = append(byPos[y.rec.Pos], y.rec)
		}
	}
	counts := expectedStats(t, ref)
	for _, v := range wantVariants {
		var expect []yielded
		for _, y := range ref {
			if y.err != nil || v.want(y.rec) {
				expect = append(expect, y)
			}
		}
		got := scanAll(t, data, v.want)
		if d := diffYields(expect, got.got); d != "" {
			t.Errorf("want %s: Scanner differs from Records: %s", v.name, d)
		}
		st := got.stats
		st.Decoded, st.Yielded, st.Input, st.Bytes = 0, 0, 0, 0
		if st != counts {
			t.Errorf("want %s: Scanner counted %+v; Records read %+v", v.name, st, counts)
		}
		for _, h := range got.heads {
			full := byPos[h.Pos]
			if len(full) == 0 {
				t.Errorf("want %s: head at %v, where Records read no record", v.name, h.Pos)
				continue
			}
			if !slices.ContainsFunc(full, func(r *Record) bool { return reflect.DeepEqual(h, headOf(r)) }) {
				t.Errorf("want %s: head at %v\n%+v\nwant the decoded record's fields\n%+v", v.name, h.Pos, h, headOf(full[0]))
			}
		}
	}
}

// expectedStats counts what Records yielded as a Scanner counts it: records, those whose
// eventTime (read again from Raw) is not in CloudTrail's form, and errors by scope.
func expectedStats(t testing.TB, ref []yielded) ScanStats {
	t.Helper()
	var st ScanStats
	for _, y := range ref {
		var e *Error
		switch {
		case y.rec != nil:
			st.Records++
			var f struct {
				EventTime string `json:"eventTime"`
			}
			if err := json.Unmarshal(y.rec.Raw, &f); err != nil {
				t.Fatalf("record at %v: %v", y.rec.Pos, err)
			}
			if s := f.EventTime; len(s) != 20 || s[10] != 'T' || s[19] != 'Z' {
				st.OtherTimeForm++
			}
		case !errors.As(y.err, &e):
			t.Fatalf("error %v is not an *Error", y.err)
		case e.Scope == ScopeInput:
			st.InputErrors++
		case e.Scope == ScopeRecord:
			st.RecordErrors++
		default:
			t.Fatalf("error %v has scope %d", e, e.Scope)
		}
	}
	return st
}

func diffYields(want, got []yielded) string {
	for i := 0; i < max(len(want), len(got)); i++ {
		switch {
		case i >= len(want):
			return fmt.Sprintf("extra value %d: %v", i, got[i])
		case i >= len(got):
			return fmt.Sprintf("missing value %d: %v", i, want[i])
		case (want[i].err == nil) != (got[i].err == nil):
			return fmt.Sprintf("value %d: %v, want %v", i, got[i], want[i])
		case want[i].err != nil && want[i].err.Error() != got[i].err.Error():
			return fmt.Sprintf("value %d: error %q, want %q", i, got[i].err, want[i].err)
		case want[i].err != nil && IsInputError(want[i].err) != IsInputError(got[i].err):
			return fmt.Sprintf("value %d: error %q about the input %v, want %v", i, got[i].err, IsInputError(got[i].err), IsInputError(want[i].err))
		case want[i].rec != nil && !reflect.DeepEqual(want[i].rec, got[i].rec):
			return fmt.Sprintf("value %d: record\n%+v\nwant\n%+v", i, got[i].rec, want[i].rec)
		}
	}
	return ""
}

// scannerInputs are inputs for the Scanner's fast path and for every reason it has to decline.
func scannerInputs(t testing.TB) map[string]string {
	r1, r2, r3 := record("CreateUser", "id-1"), record("AttachUserPolicy", "id-2"), record("CreateAccessKey", "id-3")
	root := consoleLogin("login-1")
	rec := func(old, new string) string { return edit(t, r2, old, new) }
	// encoding/json decodes a second sessionContext into the first: mfaAuthenticated stays.
	sessionTwice := rec(`"userName":"alice"}`, `"userName":"alice","sessionContext":{"attributes":{"mfaAuthenticated":"true"}},"sessionContext":{"webIdFederationData":{}}}`)
	in := map[string]string{
		"log file":                   logFile(r1, r2, r3, root),
		"realistic log file":         string(realisticLogFile(50)),
		"empty log file":             `{"Records":[]}`,
		"log file with spaces":       `{ "Records" : [ ` + r1 + ` , ` + r2 + ` ] , "x" : 1 } `,
		"Records not first":          `{"digest":{"a":[1,2.5e3,-0,true,false,null,"\u00e9"]},"Records":[` + r1 + "," + r2 + "]}",
		"two Records arrays":         `{"Records":[` + r1 + `],"Records":[` + r2 + "]}",
		"Records null":               `{"Records":null}`,
		"Records an object":          `{"Records":{}}`,
		"Records not records":        `{"Records":[1,null,"x",[],{},true]}`,
		"trailing garbage":           logFile(r1, r2) + "x",
		"two documents on a line":    logFile(r1) + logFile(r2),
		"truncated":                  logFile(r1, r2)[:len(r1)+40],
		"truncated in a string":      logFile(r1, r2)[:len(r1)+len(r2)/2],
		"missing comma":              `{"Records":[` + r1 + r2 + "]}",
		"JSON Lines of log files":    lines(logFile(r1), logFile(r2, r3), logFile(root)),
		"pretty log file":            pretty(t, logFile(r1, r2)),
		"event and bare record":      lines(envelope(apiCall, "aws.iam", r1), r2, logFile(r3)),
		"key in another case":        logFile(r1, rec(`"eventName":"AttachUserPolicy"`, `"EventName":"AttachUserPolicy"`)),
		"key in another case, twice": logFile(rec(`"eventName":"AttachUserPolicy"`, `"eventName":"AttachUserPolicy","EVENTNAME":"ListUsers"`)),
		// The key book has learned r2's keys from the records before each variant.
		// A key twice is learned too, and then predicted: still refused as a head.
		"variants after learned keys": logFile(r2, r2, rec(`"eventName":"AttachUserPolicy"`, `"eventName":"ListUsers","eventName":"AttachUserPolicy"`),
			rec(`"eventName":"AttachUserPolicy"`, `"eventName":"ListUsers","eventName":"AttachUserPolicy"`),
			r2, rec(`"eventName":"AttachUserPolicy"`, `"EventName":"AttachUserPolicy"`), r2, rec(`"eventName":"AttachUserPolicy"`, `"event\u004eame":"AttachUserPolicy"`),
			r2, rec(`"eventName":"AttachUserPolicy"`, `"eventNameX":"AttachUserPolicy"`), r2, rec(`"eventName":"AttachUserPolicy"`, `"eventNam":"AttachUserPolicy"`),
			r2, rec(`"type":"IAMUser"`, `"type":"Root","type":"IAMUser"`), r2, sessionTwice, sessionTwice),
		"typed key twice":                      logFile(rec(`"eventName":"AttachUserPolicy"`, `"eventName":"ListUsers","eventName":"AttachUserPolicy"`)),
		"nested key twice":                     logFile(rec(`"type":"IAMUser"`, `"type":"Root","type":"IAMUser"`)),
		"escaped key":                          logFile(rec(`"eventName":"AttachUserPolicy"`, `"event\u004eame":"AttachUserPolicy"`)),
		"non-ASCII key folding":                logFile(rec(`"accessKeyId"`, "\"access\u212aeyId\"")),
		"long non-ASCII key":                   logFile(rec(`"eventVersion"`, "\"\u212a\u212a\u212a\u212a\u212a\u212a\u212aeventVersion\"")),
		"escaped values":                       logFile(rec(`"eventName":"AttachUserPolicy"`, `"eventName":"Attach\u0055serPolicy"`), rec(`"alice"`, `"al\"i\\ce\/\n"`)),
		"escaped eventTime":                    logFile(rec(`"2024-05-01T12:00:00Z"`, `"2024-05-01T12:00:00\u005a"`)),
		"non-ASCII values":                     logFile(rec(`"alice"`, `"alicé 日本"`), rec(`"aws-cli/2.15.0"`, `"aws-cli/2.15.0 ünïcödé"`)),
		"invalid UTF-8":                        logFile(r1, rec(`"aws-cli/2.15.0"`, "\"aws-cli/\xff\""), r3),
		"invalid UTF-8 in a key":               logFile(rec(`"requestID"`, "\"request\xffID\"")),
		"control character":                    logFile(r1, rec(`"aws-cli/2.15.0"`, "\"aws-cli/\x01\"")),
		"bad escape":                           logFile(r1, rec(`"aws-cli/2.15.0"`, `"aws-cli/\x"`)),
		"bad unicode escape":                   logFile(r1, rec(`"aws-cli/2.15.0"`, `"aws-cli/\u12g4"`)),
		"lone surrogate":                       logFile(rec(`"alice"`, `"\ud800"`)),
		"eventTime not RFC 3339":               logFile(r1, rec(`"2024-05-01T12:00:00Z"`, `"May 1st"`), r3),
		"eventTime null":                       logFile(rec(`"2024-05-01T12:00:00Z"`, `null`)),
		"eventTime a number":                   logFile(rec(`"2024-05-01T12:00:00Z"`, `1714564800`)),
		"eventTime zero":                       logFile(rec(`"2024-05-01T12:00:00Z"`, `"0001-01-01T00:00:00Z"`)),
		"eventTime missing":                    logFile(rec(`"eventTime":"2024-05-01T12:00:00Z",`, ``)),
		"eventTime with offset":                logFile(rec(`"2024-05-01T12:00:00Z"`, `"2024-05-01T14:00:00.123+02:00"`)),
		"eventName missing":                    logFile(rec(`"eventName":"AttachUserPolicy",`, ``)),
		"eventName empty":                      logFile(rec(`"eventName":"AttachUserPolicy"`, `"eventName":""`)),
		"eventName null":                       logFile(rec(`"eventName":"AttachUserPolicy"`, `"eventName":null`)),
		"eventSource missing":                  logFile(rec(`"eventSource":"iam.amazonaws.com",`, ``)),
		"eventName a number":                   logFile(r1, rec(`"eventName":"AttachUserPolicy"`, `"eventName":5`), r3),
		"eventName an array":                   logFile(rec(`"eventName":"AttachUserPolicy"`, `"eventName":["AttachUserPolicy"]`)),
		"readOnly true":                        logFile(rec(`"readOnly":false`, `"readOnly":true`)),
		"readOnly null":                        logFile(rec(`"readOnly":false`, `"readOnly":null`)),
		"readOnly a string":                    logFile(rec(`"readOnly":false`, `"readOnly":"false"`)),
		"readOnly a number":                    logFile(rec(`"readOnly":false`, `"readOnly":0`)),
		"userIdentity null":                    logFile(rec(`"userIdentity":{`, `"userIdentity":null,"x":{`)),
		"userIdentity a string":                logFile(rec(`"userIdentity":{`, `"userIdentity":"me","x":{`)),
		"userIdentity an array":                logFile(rec(`"userIdentity":{`, `"userIdentity":[],"x":{`)),
		"userIdentity type a number":           logFile(rec(`"type":"IAMUser"`, `"type":1`)),
		"userIdentity type null":               logFile(rec(`"type":"IAMUser"`, `"type":null`)),
		"sessionContext":                       string(realisticLogFile(3)),
		"sessionContext null":                  logFile(rec(`"userName":"alice"}`, `"userName":"alice","sessionContext":null}`)),
		"sessionContext empty":                 logFile(rec(`"userName":"alice"}`, `"userName":"alice","sessionContext":{}}`)),
		"sessionContext a string":              logFile(rec(`"userName":"alice"}`, `"userName":"alice","sessionContext":"x"}`)),
		"sessionIssuer wrong type":             logFile(rec(`"userName":"alice"}`, `"userName":"alice","sessionContext":{"sessionIssuer":{"arn":7}}}`)),
		"attributes wrong type":                logFile(rec(`"userName":"alice"}`, `"userName":"alice","sessionContext":{"attributes":[]}}`)),
		"attributes mfa a bool":                logFile(rec(`"userName":"alice"}`, `"userName":"alice","sessionContext":{"attributes":{"mfaAuthenticated":true}}}`)),
		"sessionContext fields":                logFile(rec(`"userName":"alice"}`, `"userName":"alice","sessionContext":{"sessionIssuer":{"type":"Role","arn":"a","accountId":"1","userName":"u","principalId":"p"},"attributes":{"mfaAuthenticated":"true","creationDate":"d"},"webIdFederationData":{}}}`)),
		"untyped fields of any kind":           logFile(rec(`"eventCategory":"Management"`, `"eventCategory":{"a":[1,{"b":null}]},"resources":[{"ARN":"x"}],"managementEvent":1e-3`)),
		"raw fields of any kind":               logFile(rec(`"requestParameters":{"userName":"bob"}`, `"requestParameters":"x"`), rec(`"responseElements":null`, `"responseElements":[1,2]`)),
		"bad number":                           logFile(rec(`"managementEvent":true`, `"managementEvent":01`)),
		"bad number 2":                         logFile(rec(`"managementEvent":true`, `"managementEvent":-`)),
		"bad number 3":                         logFile(rec(`"managementEvent":true`, `"managementEvent":1.`)),
		"bad number 4":                         logFile(rec(`"managementEvent":true`, `"managementEvent":1e`)),
		"bad literal":                          logFile(rec(`"managementEvent":true`, `"managementEvent":tru`)),
		"deep nesting":                         logFile(rec(`"managementEvent":true`, `"managementEvent":`+strings.Repeat("[", 600)+strings.Repeat("]", 600))),
		"too deep":                             logFile(rec(`"managementEvent":true`, `"managementEvent":`+strings.Repeat("[", 20000)+strings.Repeat("]", 20000))),
		"record over the size limit":           logFile(r1, rec(`"managementEvent":true`, `"managementEvent":"`+strings.Repeat("x", MaxRecordBytes)+`"`), r3),
		"empty key and object":                 logFile(rec(`"managementEvent":true`, `"":{}`)),
		"whitespace inside":                    logFile(strings.ReplaceAll(r1, `":`, "\" :\t"), strings.ReplaceAll(r2, `,"`, ", \r\"")),
		"CRLF and blank lines":                 "\r\n" + logFile(r1) + "\r\n\r\n" + logFile(r2) + "\r\n",
		"object with Records key only":         `{"Records":[` + r1 + `]}` + "\n" + `{"Records":[]}`,
		"a megabyte of spaces between records": `{"Records":[` + r1 + "," + strings.Repeat(" ", 1<<20) + r3 + "]}",
		"a megabyte-long string":               logFile(r1, rec(`"aws-cli/2.15.0"`, `"`+strings.Repeat("a", 1<<20)+`"`), r3),
		// r2's userIdentity is long enough for the memo (identityMemo): each pair's second copy
		// is read from it, and each variant must not be.
		"identities remembered": logFile(r2, r2, rec(`"alice"}`, `"alicf"}`), r2, rec(`"userName":"alice"}`, `"userName":"alice","invokedBy":"x"}`),
			rec(`"alice"}`, `"alicé 日本"}`), rec(`"alice"}`, `"alicé 日本"}`), rec(`"alice"}`, "\"al\xffce\"}"), rec(`"alice"}`, "\"al\xffce\"}"),
			rec(`"alice"}`, `"al\"ice"}`), rec(`"alice"}`, `"al\"ice"}`), rec(`"type":"IAMUser"`, `"type":"Root","type":"IAMUser"`),
			rec(`"type":"IAMUser"`, `"type":"Root","type":"IAMUser"`), rec(`"type":"IAMUser"`, `"Type":"IAMUser"`), rec(`"type":"IAMUser"`, `"Type":"IAMUser"`),
			rec(`"type":"IAMUser"`, `"type":7`), rec(`"type":"IAMUser"`, `"type":7`), sessionTwice, sessionTwice, r2,
			rec(`"userName":"alice"}`, `"userName":"alice","sessionContext":{"sessionIssuer":{"type":"Role","arn":"a","accountId":"1","userName":"u"},"attributes":{"mfaAuthenticated":"true","creationDate":"d"}}}`),
			rec(`"userName":"alice"}`, `"userName":"alice","sessionContext":{"sessionIssuer":{"type":"Role","arn":"a","accountId":"1","userName":"u"},"attributes":{"mfaAuthenticated":"true","creationDate":"d"}}}`),
			rec(`"userName":"alice"}`, `"userName":"alice","sessionContext":null}`), rec(`"userName":"alice"}`, `"userName":"alice","sessionContext":null}`),
			rec(`"userName":"alice"}`, `"userName":"alice","x":"`+strings.Repeat("y", 5000)+`"}`), rec(`"userName":"alice"}`, `"userName":"alice","x":"`+strings.Repeat("y", 5000)+`"}`), r2),
		"identity remembered, then cut short": logFile(r2, r2, r2)[:len(logFile(r2, r2, r2))-len(r2)+60],
	}
	for name, input := range formInputs(t) {
		in["form: "+name] = input
	}
	return in
}

func TestScannerMatchesRecords(t *testing.T) {
	for name, input := range scannerInputs(t) {
		t.Run(name, func(t *testing.T) {
			checkScanner(t, []byte(input))
			checkScanner(t, gzipped(t, []byte(input)))
		})
	}
	t.Run("shared events in a log file", func(t *testing.T) {
		var recs []string
		for _, e := range sharedEvents(t) {
			var ev struct {
				Detail json.RawMessage `json:"detail"`
			}
			var b bytes.Buffer
			if json.Unmarshal(e, &ev) == nil && len(ev.Detail) > 0 && json.Compact(&b, ev.Detail) == nil {
				recs = append(recs, b.String())
			}
			checkScanner(t, e)
		}
		if len(recs) == 0 {
			t.Skip("no shared events")
		}
		checkScanner(t, []byte(logFile(recs...)))
	})
}

// TestScannerSkipsUndecoded checks that the fast path is taken: records Want refuses in a log
// file are counted, never decoded.
func TestScannerSkipsUndecoded(t *testing.T) {
	const n = 200
	data := realisticLogFile(n)
	for _, input := range [][]byte{data, gzipped(t, data)} {
		s := &Scanner{Want: func(r *Record) bool { return r.Pos.Index == 7 }}
		var got []string
		for rec, err := range s.Records(file, bytes.NewReader(input)) {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, rec.EventID)
		}
		st := s.Stats()
		if len(got) != 1 || st.Records != n || st.Decoded != 1 || st.Yielded != 1 || st.Bytes != int64(len(data)) || st.Input != int64(len(input)) {
			t.Errorf("yielded %v, stats %+v; want one record of %d, one decoded, %d bytes of JSON from %d of input", got, st, n, len(data), len(input))
		}
	}
}

// TestScannerReuse reads inputs of every kind one after another with one Scanner, as a replay
// worker does, checking that nothing carries over from one to the next.
func TestScannerReuse(t *testing.T) {
	s := &Scanner{Want: wantVariants[2].want}
	inputs := scannerInputs(t)
	names := slices.Sorted(maps.Keys(inputs))
	for _, name := range names {
		for _, data := range [][]byte{[]byte(inputs[name]), gzipped(t, []byte(inputs[name]))} {
			ref := collect(t, file, bytes.NewReader(data))
			var expect, got []yielded
			for _, y := range ref {
				if y.err != nil || wantVariants[2].want(y.rec) {
					expect = append(expect, y)
				}
			}
			for rec, err := range s.Records(file, bytes.NewReader(data)) {
				got = append(got, yielded{rec, err})
			}
			if d := diffYields(expect, got); d != "" {
				t.Errorf("%s, after the others: %s", name, d)
			}
		}
	}
}

func FuzzScanner(f *testing.F) {
	addSeeds(f, append(namedSeeds("input", scannerInputs(f), 64<<10), sharedLogFiles(f)...))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkScanner(t, data)
		// Gzipped, the decompressed text is read through the Scanner's larger buffer, where a
		// log file's line is read in place.
		checkScanner(t, gzipped(t, data))
	})
}

// Package cloudtrailserver is a local CloudTrail for tests: an httptest server that speaks
// LookupEvents in its real wire protocol (AWS JSON 1.1: POST /, X-Amz-Target
// com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents as botocore and the AWS
// CLI send it, or CloudTrail_20131101.LookupEvents as the Go SDK v2 does, Content-Type
// application/x-amz-json-1.1, times in epoch seconds), over a stored set of events. It filters
// them by the one look-up attribute and the time range, returns them newest first in pages
// with NextToken, refuses requests the service refuses (two attributes, MaxResults over 50, a
// token reused with other parameters, an unsigned request), can answer ThrottlingException or
// another error for the next calls, and records every call.
//
// moto does not serve LookupEvents, hence this server; point an SDK client at URL with
// BaseEndpoint (or AWS_ENDPOINT_URL), as tests point clients at moto_server.
// Reference: https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupEvents.html
package cloudtrailserver

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Target is the X-Amz-Target header of a LookupEvents request, with the service model's
// targetPrefix (botocore, the AWS CLI). ShortTarget is the same operation as the Go SDK v2
// names it, by the Smithy service shape alone; the service answers both.
const (
	Target      = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents"
	ShortTarget = "CloudTrail_20131101.LookupEvents"
)

const contentType = "application/x-amz-json-1.1"

// attributeKeys are the keys LookupEvents filters on.
// Reference: https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupAttribute.html
var attributeKeys = map[string]func(Event, string) bool{
	"EventId":     func(e Event, v string) bool { return e.EventID == v },
	"EventName":   func(e Event, v string) bool { return e.EventName == v },
	"EventSource": func(e Event, v string) bool { return e.EventSource == v },
	"Username":    func(e Event, v string) bool { return e.Username == v },
	"AccessKeyId": func(e Event, v string) bool { return e.AccessKeyID == v },
	"ReadOnly":    func(e Event, v string) bool { return e.ReadOnly == v },
	"ResourceType": func(e Event, v string) bool {
		return slices.ContainsFunc(e.Resources, func(r Resource) bool { return r.Type == v })
	},
	"ResourceName": func(e Event, v string) bool {
		return slices.ContainsFunc(e.Resources, func(r Resource) bool { return r.Name == v })
	},
}

// Server is a running local CloudTrail.
type Server struct {
	*httptest.Server
	mu       sync.Mutex
	events   []Event
	failures []Failure
	calls    []Call
}

// Failure is how the server answers one upcoming call instead of serving it.
type Failure struct {
	Status  int    // HTTP status, 400 for CloudTrail's client errors
	Type    string // the error code, e.g. ThrottlingException or AccessDeniedException
	Message string
}

// Call is one LookupEvents call the server received.
type Call struct {
	Time   time.Time // when it arrived
	Target string    // its X-Amz-Target
	// Attribute is the look-up, "EventName=CreateAccessKey", or "" for none.
	Attribute  string
	Start, End time.Time // zero when not given
	MaxResults int       // 0 when not given
	NextToken  string
	Error      string // the error code answered, or "" for a page of events
}

// Start runs the server until the test ends.
func Start(t testing.TB) *Server {
	s := &Server{}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// Add stores events.
func (s *Server) Add(events ...Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, events...)
}

// AddRecords stores the Event history entry of each CloudTrail record (see EventFromRecord),
// failing the test on a record it cannot read.
func (s *Server) AddRecords(t testing.TB, records ...[]byte) {
	t.Helper()
	for _, raw := range records {
		ev, err := EventFromRecord(raw)
		if err != nil {
			t.Fatalf("cloudtrailserver: %v: %.80s", err, raw)
		}
		s.Add(ev)
	}
}

// FailNext makes the next len(f) calls fail as described, in order.
func (s *Server) FailNext(f ...Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = append(s.failures, f...)
}

// Throttle makes the next n calls fail with ThrottlingException, as LookupEvents answers
// callers over its rate.
func (s *Server) Throttle(n int) {
	for range n {
		s.FailNext(Failure{Status: http.StatusBadRequest, Type: "ThrottlingException", Message: "Rate exceeded"})
	}
}

// Calls returns the calls received so far, in order of arrival.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// CallsByAttribute counts the calls received per look-up attribute ("EventName=X"), failed
// ones included.
func (s *Server) CallsByAttribute() map[string]int {
	n := map[string]int{}
	for _, c := range s.Calls() {
		n[c.Attribute]++
	}
	return n
}

// request is LookupEvents' input on the wire.
type request struct {
	StartTime        *float64 `json:"StartTime"`
	EndTime          *float64 `json:"EndTime"`
	EventCategory    string   `json:"EventCategory"`
	LookupAttributes []struct {
		AttributeKey   string `json:"AttributeKey"`
		AttributeValue string `json:"AttributeValue"`
	} `json:"LookupAttributes"`
	MaxResults *int    `json:"MaxResults"`
	NextToken  *string `json:"NextToken"`
}

// wireEvent is one element of LookupEvents' output on the wire.
type wireEvent struct {
	EventID         string         `json:"EventId,omitempty"`
	EventName       string         `json:"EventName,omitempty"`
	ReadOnly        string         `json:"ReadOnly,omitempty"`
	AccessKeyID     string         `json:"AccessKeyId,omitempty"`
	EventTime       *json.Number   `json:"EventTime,omitempty"`
	EventSource     string         `json:"EventSource,omitempty"`
	Username        string         `json:"Username,omitempty"`
	Resources       []wireResource `json:"Resources,omitempty"`
	CloudTrailEvent string         `json:"CloudTrailEvent,omitempty"`
}

type wireResource struct {
	ResourceType string `json:"ResourceType,omitempty"`
	ResourceName string `json:"ResourceName,omitempty"`
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	call := Call{Time: time.Now(), Target: r.Header.Get("X-Amz-Target")}
	code, status, msg := s.check(r)
	var req request
	if code == "" {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			code, status, msg = "SerializationException", http.StatusBadRequest, err.Error()
		}
	}
	if code == "" {
		call.Attribute, call.Start, call.End, call.NextToken = attribute(req), seconds(req.StartTime), seconds(req.EndTime), deref(req.NextToken)
		if req.MaxResults != nil {
			call.MaxResults = *req.MaxResults
		}
	}

	s.mu.Lock()
	if code == "" && len(s.failures) > 0 {
		f := s.failures[0]
		s.failures = s.failures[1:]
		code, status, msg = f.Type, f.Status, f.Message
	}
	var events []wireEvent
	var next string
	if code == "" {
		events, next, code, msg = s.lookup(req)
		status = http.StatusBadRequest
	}
	call.Error = code
	s.calls = append(s.calls, call)
	s.mu.Unlock()

	w.Header().Set("Content-Type", contentType)
	w.Header().Set("X-Amzn-RequestId", strconv.Itoa(len(s.Calls())))
	if code != "" {
		w.WriteHeader(status)
		writeJSON(w, map[string]string{"__type": code, "message": msg})
		return
	}
	out := map[string]any{"Events": events}
	if next != "" {
		out["NextToken"] = next
	}
	writeJSON(w, out)
}

// check refuses what the service's front end refuses before reading the request.
func (s *Server) check(r *http.Request) (code string, status int, msg string) {
	switch {
	case r.Method != http.MethodPost || r.URL.Path != "/":
		return "UnknownOperationException", http.StatusNotFound, r.Method + " " + r.URL.Path
	case r.Header.Get("X-Amz-Target") != Target && r.Header.Get("X-Amz-Target") != ShortTarget:
		return "UnknownOperationException", http.StatusBadRequest, "unknown X-Amz-Target " + r.Header.Get("X-Amz-Target")
	case r.Header.Get("Content-Type") != contentType:
		return "SerializationException", http.StatusBadRequest, "Content-Type " + r.Header.Get("Content-Type")
	case !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") || !strings.Contains(r.Header.Get("Authorization"), "/cloudtrail/aws4_request"):
		return "MissingAuthenticationTokenException", http.StatusForbidden, "request not signed for cloudtrail with SigV4"
	}
	return "", 0, ""
}

// lookup answers one page. It holds s.mu.
func (s *Server) lookup(req request) (page []wireEvent, next, code, msg string) {
	if len(req.LookupAttributes) > 1 {
		return nil, "", "InvalidLookupAttributesException", "You cannot specify more than one lookup attribute."
	}
	match := func(Event) bool { return true }
	if len(req.LookupAttributes) == 1 {
		a := req.LookupAttributes[0]
		f, ok := attributeKeys[a.AttributeKey]
		if !ok || a.AttributeValue == "" || len(a.AttributeValue) > 2000 {
			return nil, "", "InvalidLookupAttributesException", fmt.Sprintf("invalid lookup attribute %s=%q", a.AttributeKey, a.AttributeValue)
		}
		match = func(e Event) bool { return f(e, a.AttributeValue) }
	}
	size := 50
	if req.MaxResults != nil {
		if *req.MaxResults < 1 || *req.MaxResults > 50 {
			return nil, "", "InvalidMaxResultsException", fmt.Sprintf("MaxResults %d is not between 1 and 50", *req.MaxResults)
		}
		size = *req.MaxResults
	}
	start, end := seconds(req.StartTime), seconds(req.EndTime)
	if !start.IsZero() && !end.IsZero() && start.After(end) {
		return nil, "", "InvalidTimeRangeException", "StartTime is after EndTime"
	}
	switch req.EventCategory {
	case "", "insight":
	default:
		return nil, "", "InvalidEventCategoryException", "unknown EventCategory " + req.EventCategory
	}
	offset := 0
	query := queryKey(req)
	if req.NextToken != nil {
		var ok bool
		if offset, ok = parseToken(*req.NextToken, query); !ok {
			return nil, "", "InvalidNextTokenException", "Invalid NextToken, or one used with other parameters."
		}
	}

	var found []Event
	for _, e := range s.events {
		// The store holds management events only: an Insights look-up finds none.
		if req.EventCategory == "" && match(e) && (start.IsZero() || !e.EventTime.Before(start)) && (end.IsZero() || !e.EventTime.After(end)) {
			found = append(found, e)
		}
	}
	slices.SortStableFunc(found, func(a, b Event) int { // newest first, as the service answers
		return cmp.Or(b.EventTime.Compare(a.EventTime), cmp.Compare(a.EventID, b.EventID))
	})
	offset = min(offset, len(found))
	stop := min(offset+size, len(found))
	page = make([]wireEvent, 0, stop-offset)
	for _, e := range found[offset:stop] {
		page = append(page, wire(e))
	}
	if stop < len(found) {
		next = token(stop, query)
	}
	return page, next, "", ""
}

func wire(e Event) wireEvent {
	w := wireEvent{
		EventID: e.EventID, EventName: e.EventName, ReadOnly: e.ReadOnly, AccessKeyID: e.AccessKeyID,
		EventSource: e.EventSource, Username: e.Username, CloudTrailEvent: e.CloudTrailEvent,
	}
	if !e.EventTime.IsZero() {
		n := json.Number(strconv.FormatFloat(float64(e.EventTime.UnixMilli())/1000, 'f', -1, 64))
		w.EventTime = &n
	}
	for _, r := range e.Resources {
		w.Resources = append(w.Resources, wireResource{ResourceType: r.Type, ResourceName: r.Name})
	}
	return w
}

// A NextToken names the offset of the next page and the query it belongs to: the service
// refuses a token "used in a request with different parameters".
func token(offset int, query string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(offset) + ":" + query))
}

func parseToken(tok, query string) (int, bool) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, false
	}
	off, q, ok := strings.Cut(string(b), ":")
	n, err := strconv.Atoi(off)
	return n, ok && err == nil && n >= 0 && q == query
}

// queryKey identifies a request's parameters other than NextToken and MaxResults.
func queryKey(req request) string {
	req.NextToken, req.MaxResults = nil, nil
	b, _ := json.Marshal(req)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

func attribute(req request) string {
	if len(req.LookupAttributes) == 0 {
		return ""
	}
	a := req.LookupAttributes[0]
	return a.AttributeKey + "=" + a.AttributeValue
}

// seconds reads a timestamp in epoch seconds, the JSON protocols' form.
func seconds(v *float64) time.Time {
	if v == nil {
		return time.Time{}
	}
	sec, frac := math.Modf(*v)
	return time.Unix(int64(sec), int64(math.Round(frac*1e9))).UTC()
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func writeJSON(w io.Writer, v any) {
	_ = json.NewEncoder(w).Encode(v)
}

// Package faultproxy is a reverse proxy for tests that stands in front of moto_server or the
// local Slack and injects the faults of the real network and services: added latency,
// connections reset mid-request, 5xx answers, 429 with Retry-After, IAM's Throttling and
// Secrets Manager's InternalServiceError. Faults are programmed per request matcher (an AWS
// operation, told from the query protocol's Action or the JSON protocol's X-Amz-Target, or a
// URL path such as Slack's /api/chat.postMessage), and every request is counted by operation:
// seen, faulted, forwarded, and answered 2xx by the target. The last count is what a test of
// "no remediation runs twice" asks: how many UpdateAccessKey calls reached IAM and succeeded.
package faultproxy

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iam-watchdog/iam-watchdog/internal/sleep"
)

// Request is what a Matcher sees of a request.
type Request struct {
	// Op is the AWS operation (UpdateAccessKey, GetSecretValue, PutItem) or, for anything else,
	// the URL path (/api/chat.postMessage).
	Op     string
	Method string
	Path   string
	Header http.Header
	// Form holds a query-protocol request's parameters (IAM, STS: RoleArn, UserName, …).
	Form url.Values
}

// Matcher picks the requests a fault applies to.
type Matcher func(Request) bool

// Op matches requests for any of the named AWS operations.
func Op(names ...string) Matcher {
	return func(r Request) bool {
		for _, n := range names {
			if r.Op == n {
				return true
			}
		}
		return false
	}
}

// AssumeRoleOf matches STS AssumeRole calls for any of the named role ARNs.
func AssumeRoleOf(roleARNs ...string) Matcher {
	return func(r Request) bool { return r.Op == "AssumeRole" && slices.Contains(roleARNs, r.Form.Get("RoleArn")) }
}

// AccessDenied is what AWS answers a call the caller's policy (or a role's trust) does not
// allow: the query-protocol XML for IAM and STS, the JSON error for JSON-protocol services.
func AccessDenied(jsonProtocol bool) Fault {
	if jsonProtocol {
		return JSONError(http.StatusBadRequest, "AccessDeniedException", "User is not authorized to perform this action")
	}
	return QueryError(http.StatusForbidden, "AccessDenied", "User is not authorized to perform this action")
}

// Path matches requests whose URL path is path, or begins with it when path ends in "/".
func Path(path string) Matcher {
	return func(r Request) bool {
		if strings.HasSuffix(path, "/") {
			return strings.HasPrefix(r.Path, path)
		}
		return r.Path == path
	}
}

// Any matches every request.
func Any() Matcher { return func(Request) bool { return true } }

// Fault is what happens to a matched request instead of (or before) forwarding it.
type Fault struct {
	// Delay is waited before anything else. A client that gives up meanwhile gets nothing,
	// and nothing is forwarded.
	Delay time.Duration
	// Reset closes the connection without an answer (after forwarding, with ResetAfterForward):
	// the client sees a connection reset.
	Reset bool
	// AfterForward, with Reset or Status, forwards the request first: the target acts, and its
	// answer is lost, replaced by the reset or by Status.
	AfterForward bool
	// Status, if not 0, answers with this status, Header and Body instead of forwarding.
	Status int
	Header http.Header
	Body   string
}

// Latency forwards after d.
func Latency(d time.Duration) Fault { return Fault{Delay: d} }

// Reset closes the connection before the request reaches the target.
func Reset() Fault { return Fault{Reset: true} }

// ResetAfterForward lets the target act, then closes the connection before the answer.
func ResetAfterForward() Fault { return Fault{Reset: true, AfterForward: true} }

// LoseAnswer lets the target act on the request, then answers with f (a Status fault: a 500
// for a request IAM carried out) instead of the target's answer.
func LoseAnswer(f Fault) Fault {
	f.AfterForward = true
	return f
}

// Status answers with an HTTP status and a plain body.
func Status(code int) Fault {
	return Fault{Status: code, Header: http.Header{"Content-Type": {"text/plain"}}, Body: http.StatusText(code) + "\n"}
}

// TooManyRequests answers 429 with Retry-After (seconds, as Slack sends it) and Slack's body.
func TooManyRequests(retryAfter string) Fault {
	return Fault{Status: http.StatusTooManyRequests,
		Header: http.Header{"Retry-After": {retryAfter}, "Content-Type": {"application/json"}},
		Body:   `{"ok":false,"error":"ratelimited"}`}
}

// QueryError is an error of an AWS query-protocol service (IAM, STS), as they send it.
func QueryError(status int, code, message string) Fault {
	return Fault{Status: status, Header: http.Header{"Content-Type": {"text/xml"}},
		Body: `<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type>` +
			`<Code>` + code + `</Code><Message>` + message + `</Message></Error>` +
			`<RequestId>00000000-0000-4000-8000-faultproxy000</RequestId></ErrorResponse>`}
}

// QueryResult answers an IAM query-protocol action with result, the inner XML of its
// <ActionResult> element, as the API reference shows IAM's answers: for what moto cannot say.
func QueryResult(action, result string) Fault {
	return Fault{
		Status: http.StatusOK,
		Header: http.Header{"Content-Type": {"text/xml"}},
		Body: fmt.Sprintf(`<%[1]sResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><%[1]sResult>%[2]s</%[1]sResult>`+
			`<ResponseMetadata><RequestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</RequestId></ResponseMetadata></%[1]sResponse>`, action, result),
	}
}

// IAMThrottling is IAM refusing a call for its rate: 400 Throttling, which the SDK retries.
func IAMThrottling() Fault { return QueryError(http.StatusBadRequest, "Throttling", "Rate exceeded") }

// JSONError is an error of an AWS JSON-protocol service (Secrets Manager, DynamoDB).
func JSONError(status int, code, message string) Fault {
	return Fault{Status: status,
		Header: http.Header{"Content-Type": {"application/x-amz-json-1.1"}, "X-Amzn-Errortype": {code}},
		Body:   fmt.Sprintf(`{"__type":%q,"message":%q}`, code, message)}
}

// SecretsManagerUnavailable is Secrets Manager failing on its side: 500 InternalServiceError.
func SecretsManagerUnavailable() Fault {
	return JSONError(http.StatusInternalServerError, "InternalServiceError", "An error occurred on the server side.")
}

// Option limits a Rule.
type Option func(*Rule)

// Times applies the fault to the next n matching requests only (after those After lets by).
func Times(n int) Option { return func(r *Rule) { r.times = n } }

// After lets the first n matching requests through untouched.
func After(n int) Option { return func(r *Rule) { r.after = n } }

// Rule is one programmed fault.
type Rule struct {
	match        Matcher
	fault        Fault
	times, after int // times 0: no limit
	seen, hits   int
}

// Counts are a proxy's counters for one operation.
type Counts struct {
	Seen      int // requests received
	Faulted   int // requests a fault was applied to
	Forwarded int // requests passed to the target
	OK        int // forwarded requests the target answered 2xx, whether or not the answer arrived
}

// Proxy is a running fault-injecting reverse proxy.
type Proxy struct {
	// URL is the proxy's base URL: give it to clients in place of the target's.
	URL    string
	srv    *httptest.Server
	rp     *httputil.ReverseProxy
	mu     sync.Mutex
	rules  []*Rule
	counts map[string]*Counts
}

// Start runs a proxy to target (a base URL) until the test ends.
func Start(t testing.TB, target string) *Proxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil || u.Host == "" {
		t.Fatalf("faultproxy: target %q is not a URL: %v", target, err)
	}
	p := &Proxy{counts: map[string]*Counts{}}
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(u)
			r.Out.Host = r.In.Host // SigV4 signed the proxy's host; moto does not check it
		},
		ModifyResponse: func(resp *http.Response) error {
			if resp.StatusCode >= 200 && resp.StatusCode < 300 {
				p.count(resp.Request.Context().Value(opKey{}).(string), func(c *Counts) { c.OK++ })
			}
			return nil
		},
	}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	p.URL = p.srv.URL
	t.Cleanup(p.srv.Close)
	return p
}

// Inject programs f for the requests m matches, after any rules already programmed: a request
// gets the fault of the first rule that matches it and still applies.
func (p *Proxy) Inject(m Matcher, f Fault, opts ...Option) *Rule {
	r := &Rule{match: m, fault: f}
	for _, o := range opts {
		o(r)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules = append(p.rules, r)
	return r
}

// Clear removes every rule: the service is back. Counters are kept.
func (p *Proxy) Clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules = nil
}

// Hits is how many requests the rule's fault was applied to.
func (p *Proxy) Hits(r *Rule) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return r.hits
}

// Counts returns the counters of an operation (or URL path, see Request.Op).
func (p *Proxy) Counts(op string) Counts {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c := p.counts[op]; c != nil {
		return *c
	}
	return Counts{}
}

// Seen is how many requests of each operation the proxy received: what a test counts the calls
// of a run by (Seen after, less Seen before).
func (p *Proxy) Seen() Calls {
	out := Calls{}
	for op, c := range p.All() {
		out[op] = c.Seen
	}
	return out
}

// Calls counts requests by operation.
type Calls map[string]int

// Since is the calls made after before was taken.
func (c Calls) Since(before Calls) Calls {
	out := Calls{}
	for op, n := range c {
		if d := n - before[op]; d > 0 {
			out[op] = d
		}
	}
	return out
}

// String is the total and each operation's count, by name: "3 calls: GetItem=2 PutItem=1".
func (c Calls) String() string {
	var parts []string
	total := 0
	for _, op := range slices.Sorted(maps.Keys(c)) {
		parts = append(parts, fmt.Sprintf("%s=%d", op, c[op]))
		total += c[op]
	}
	return fmt.Sprintf("%d calls: %s", total, strings.Join(parts, " "))
}

// All returns the counters of every operation seen.
func (p *Proxy) All() map[string]Counts {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]Counts, len(p.counts))
	for k, c := range p.counts {
		out[k] = *c
	}
	return out
}

type opKey struct{}

func (p *Proxy) count(op string, f func(*Counts)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.counts[op]
	if c == nil {
		c = &Counts{}
		p.counts[op] = c
	}
	f(c)
}

// pick returns the fault for req, if any rule applies, and counts the request.
func (p *Proxy) pick(req Request) (Fault, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.counts[req.Op]
	if c == nil {
		c = &Counts{}
		p.counts[req.Op] = c
	}
	c.Seen++
	for _, r := range p.rules {
		if !r.match(req) {
			continue
		}
		r.seen++
		if r.seen <= r.after || (r.times > 0 && r.hits >= r.times) {
			continue
		}
		r.hits++
		c.Faulted++
		return r.fault, true
	}
	return Fault{}, false
}

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "faultproxy: read request: "+err.Error(), http.StatusBadGateway)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	req := Request{Op: operation(r, body), Method: r.Method, Path: r.URL.Path, Header: r.Header}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		req.Form, _ = url.ParseQuery(string(body))
	}
	f, faulty := p.pick(req)
	if faulty && f.Delay > 0 {
		if sleep.For(r.Context(), f.Delay) != nil {
			return // the client gave up: nothing reaches the target
		}
	}
	switch {
	case faulty && f.Reset && !f.AfterForward:
		reset(w)
		return
	case faulty && f.Status != 0 && !f.AfterForward:
		answer(w, f)
		return
	}
	p.count(req.Op, func(c *Counts) { c.Forwarded++ })
	r = r.WithContext(context.WithValue(r.Context(), opKey{}, req.Op))
	if faulty && (f.Reset || f.Status != 0) {
		// Forward, let the target act, and lose its answer.
		rec := httptest.NewRecorder()
		p.rp.ServeHTTP(rec, r)
		if f.Reset {
			reset(w)
		} else {
			answer(w, f)
		}
		return
	}
	p.rp.ServeHTTP(w, r)
}

// answer writes f's status, headers and body.
func answer(w http.ResponseWriter, f Fault) {
	for k, vs := range f.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(f.Status)
	io.WriteString(w, f.Body)
}

// reset closes the client's connection abruptly (RST, not FIN), without an answer.
func reset(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("faultproxy: the server does not support hijacking")
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	conn.Close()
}

// operation names an AWS request by its operation: the Action of the query protocol (IAM,
// STS), or the X-Amz-Target of the JSON protocols (Secrets Manager, DynamoDB, CloudTrail);
// anything else by its URL path.
func operation(r *http.Request, body []byte) string {
	if target := r.Header.Get("X-Amz-Target"); target != "" {
		return target[strings.LastIndexByte(target, '.')+1:]
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		if v, err := url.ParseQuery(string(body)); err == nil && v.Get("Action") != "" {
			return v.Get("Action")
		}
	}
	if a := r.URL.Query().Get("Action"); a != "" {
		return a
	}
	return r.URL.Path
}

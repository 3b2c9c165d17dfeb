package lambdatest

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// InvokePath is where Lambda's Invoke API, and aws-lambda-rie, serve the function "function":
// an SDK Lambda client whose BaseEndpoint is a Pool's URL invokes it with FunctionName
// "function".
const InvokePath = "/2015-03-31/functions/function/invocations"

// Pool is several emulators of one function behind one URL, as Lambda runs concurrent
// invocations in separate execution environments: aws-lambda-rie serves one invocation at a
// time (a second one at once crashes it), so the pool hands each invocation to a free
// emulator, and holds it until one is free. Anything but an invocation gets Lambda's 404.
type Pool struct {
	URL       string
	Functions []*Function
	free      chan *Function

	mu               sync.Mutex
	served           map[*Function]int
	invocations      int
	running, busiest int
}

// releaseWait bounds the wait for an emulator to release an invocation it answered.
const releaseWait = 10 * time.Second

// awaitReports waits until f has logged n REPORT lines, or for d.
func (f *Function) awaitReports(n int, d time.Duration) {
	f.awaitLogs(func(logs string) bool { return strings.Count(logs, "REPORT RequestId:") >= n }, d)
}

// LogsContain reports whether f's logs hold s within d: the function's output reaches the
// emulator's pipe after the invocation's answer, later still on a busy machine.
func (f *Function) LogsContain(s string, d time.Duration) bool {
	return f.awaitLogs(func(logs string) bool { return strings.Contains(logs, s) }, d)
}

// awaitLogs waits until done holds for f's logs, or for d; it reports whether done held.
func (f *Function) awaitLogs(done func(logs string) bool, d time.Duration) bool {
	timeout := time.After(d)
	for {
		f.mu.Lock()
		if done(f.log.String()) {
			f.mu.Unlock()
			return true
		}
		if f.wrote == nil {
			f.wrote = make(chan struct{})
		}
		wrote := f.wrote
		f.mu.Unlock()
		select {
		case <-wrote:
		case <-timeout:
			return false
		}
	}
}

// StartPool runs n emulators of bootstrap, each as Start runs one, behind one URL.
func StartPool(t testing.TB, bootstrap string, n int, env ...string) *Pool {
	t.Helper()
	p := &Pool{free: make(chan *Function, n), served: map[*Function]int{}}
	for range n {
		f := Start(t, bootstrap, env...)
		p.Functions = append(p.Functions, f)
		p.free <- f
	}
	srv := httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

func (p *Pool) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != InvokePath {
		w.Header().Set("X-Amzn-Errortype", "ResourceNotFoundException")
		http.Error(w, `{"Type":"User","message":"not served by this emulator pool"}`, http.StatusNotFound)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var f *Function
	select {
	case f = <-p.free:
	case <-r.Context().Done():
		return
	}
	p.mu.Lock()
	p.served[f]++
	served := p.served[f]
	p.mu.Unlock()
	// The emulator answers before it releases the invocation, and crashes when it is invoked
	// again in between; it logs the invocation's REPORT line when it releases it.
	defer func() {
		f.awaitReports(served, releaseWait)
		p.free <- f
	}()
	p.mu.Lock()
	p.invocations++
	p.running++
	p.busiest = max(p.busiest, p.running)
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.running--
		p.mu.Unlock()
	}()
	resp, err := http.Post(f.URL, "application/json", bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

// Invocations is how many invocations the pool served, and the most that ran at once.
func (p *Pool) Invocations() (served, busiest int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.invocations, p.busiest
}

// Logs returns every emulator's logs, one after the other.
func (p *Pool) Logs() string {
	var b bytes.Buffer
	for _, f := range p.Functions {
		b.WriteString(f.Logs())
	}
	return b.String()
}

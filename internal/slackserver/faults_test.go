package slackserver

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Chosen requests fail as injected, in order, each fault once; the rest are accepted.
func TestInject(t *testing.T) {
	s := Start(t)
	s.Inject(Fault{Method: "chat.update", Skip: 1, Failure: Failure{Status: http.StatusTooManyRequests, RetryAfter: "1"}},
		Fault{Method: "chat.postMessage", Failure: Failure{Status: http.StatusInternalServerError}})
	call := func(method string, form url.Values) (int, string) {
		t.Helper()
		form.Set("token", "xoxb-test")
		resp, err := http.PostForm(s.APIURL()+method, form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Retry-After")
	}
	post := url.Values{"channel": {"C0SECURITY"}, "text": {"hello"}}
	if code, _ := call("chat.postMessage", post); code != http.StatusInternalServerError {
		t.Fatalf("first post: HTTP %d, want 500", code)
	}
	if code, _ := call("chat.postMessage", post); code != http.StatusOK {
		t.Fatalf("second post: HTTP %d, want 200 (the fault is spent)", code)
	}
	ts := s.Posts()[0].TS
	update := url.Values{"channel": {"C0SECURITY"}, "ts": {ts}, "text": {"again"}}
	if code, _ := call("chat.update", update); code != http.StatusOK {
		t.Fatalf("first update: HTTP %d, want 200 (skipped)", code)
	}
	if code, retry := call("chat.update", update); code != http.StatusTooManyRequests || retry != "1" {
		t.Fatalf("second update: HTTP %d Retry-After %q, want 429 and 1", code, retry)
	}
	if code, _ := call("chat.update", update); code != http.StatusOK {
		t.Fatalf("third update: HTTP %d, want 200", code)
	}
	if s.Refused() != 2 || s.Requests() != 5 || len(s.Posts()) != 1 || len(s.Updates()) != 2 {
		t.Errorf("refused %d of %d requests, %d posts, %d updates; want 2 of 5, 1, 2", s.Refused(), s.Requests(), len(s.Posts()), len(s.Updates()))
	}
	if !strings.HasPrefix(s.Updates()[1].Text, "again") {
		t.Errorf("updates %+v", s.Updates())
	}
}

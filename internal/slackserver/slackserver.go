// Package slackserver is a local Slack for tests: an httptest server that speaks the parts of
// the Slack Web API the watchdog uses (chat.postMessage, in threads too; chat.update of a
// message it posted; chat.postEphemeral; usergroups.users.list; auth.test, which the audit's
// watchdog-slack check calls) and the incoming-webhook format, records every message, and can be
// told to fail the next requests or to refuse a token.
package slackserver

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// Message is one message the server accepted.
type Message struct {
	Method   string // chat.postMessage, chat.update, chat.postEphemeral or webhook
	Channel  string
	Text     string
	Blocks   json.RawMessage
	ThreadTS string // the parent's ts, for a reply in a thread
	TS       string // the message's ts; for chat.update, the message updated
	User     string // the one user who sees a chat.postEphemeral message
	Token    string
}

// Server is a running local Slack.
type Server struct {
	*httptest.Server
	// faults are the chosen requests to fail (Inject); refused counts the requests failed.
	faults   []Fault
	refused  int
	mu       sync.Mutex
	messages []Message
	failures []Failure
	requests int
	seq      int
	groups   map[string][]string
	revoked  map[string]bool
	authTest int
}

// Failure is how the server answers one upcoming request instead of accepting it.
type Failure struct {
	Status     int    // HTTP status, e.g. 429 or 500
	RetryAfter string // Retry-After header for 429
}

// Start runs the server until the test ends.
func Start(t testing.TB) *Server {
	s := &Server{}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// APIURL is the Web API base URL to give the client (SLACK_API_URL), with a trailing slash.
func (s *Server) APIURL() string { return s.URL + "/api/" }

// WebhookURL is an incoming-webhook URL served by this server.
func (s *Server) WebhookURL() string { return s.URL + "/services/T000/B000/XXXX" }

// FailNext makes the next len(f) requests fail as described, in order.
func (s *Server) FailNext(f ...Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = append(s.failures, f...)
}

// Messages returns the accepted messages so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// SetGroup makes usergroups.users.list answer users for the user group id.
func (s *Server) SetGroup(id string, users ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.groups == nil {
		s.groups = map[string][]string{}
	}
	s.groups[id] = users
}

// Revoke makes every later Web API call with token fail with invalid_auth, as Slack answers a
// revoked or mistyped token.
func (s *Server) Revoke(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.revoked == nil {
		s.revoked = map[string]bool{}
	}
	s.revoked[token] = true
}

// AuthTests counts the auth.test calls answered.
func (s *Server) AuthTests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.authTest
}

// Posts are the accepted chat.postMessage messages that started a message (not thread
// replies): the alerts.
func (s *Server) Posts() []Message {
	return s.filter(func(m Message) bool { return m.Method == "chat.postMessage" && m.ThreadTS == "" })
}

// Updates are the accepted chat.update calls, oldest first.
func (s *Server) Updates() []Message {
	return s.filter(func(m Message) bool { return m.Method == "chat.update" })
}

// Replies are the thread replies to the message ts.
func (s *Server) Replies(ts string) []Message {
	return s.filter(func(m Message) bool { return m.Method == "chat.postMessage" && m.ThreadTS == ts })
}

// Ephemerals are the accepted chat.postEphemeral messages.
func (s *Server) Ephemerals() []Message {
	return s.filter(func(m Message) bool { return m.Method == "chat.postEphemeral" })
}

// Current is the message ts as it reads now: the last update of it, or the post.
func (s *Server) Current(ts string) (Message, bool) {
	var cur Message
	found := false
	for _, m := range s.Messages() {
		if m.TS == ts && m.ThreadTS == "" && (m.Method == "chat.postMessage" || m.Method == "chat.update") {
			cur, found = m, true
		}
	}
	return cur, found
}

func (s *Server) filter(keep func(Message) bool) []Message {
	var out []Message
	for _, m := range s.Messages() {
		if keep(m) {
			out = append(out, m)
		}
	}
	return out
}

// Requests counts every request, failed or not.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.requests++
	f, failed := s.fault(methodOf(r.URL.Path))
	if !failed && len(s.failures) > 0 {
		f, failed = s.failures[0], true
		s.failures = s.failures[1:]
	}
	if failed {
		s.refused++
		s.mu.Unlock()
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		http.Error(w, http.StatusText(f.Status), f.Status)
		return
	}
	s.mu.Unlock()

	if strings.HasPrefix(r.URL.Path, "/services/") {
		var m struct {
			Text   string          `json:"text"`
			Blocks json.RawMessage `json:"blocks"`
		}
		if err := json.Unmarshal(body, &m); err != nil || m.Text == "" {
			http.Error(w, "invalid_payload", http.StatusBadRequest)
			return
		}
		s.record(Message{Method: "webhook", Text: m.Text, Blocks: m.Blocks})
		fmt.Fprint(w, "ok")
		return
	}

	method := strings.TrimPrefix(r.URL.Path, "/api/")
	switch method {
	case "chat.postMessage", "chat.update", "chat.postEphemeral", "usergroups.users.list", "auth.test":
	default:
		writeJSON(w, map[string]any{"ok": false, "error": "unknown_method"})
		return
	}
	v, err := form(r, body)
	if err != nil {
		writeJSON(w, map[string]any{"ok": false, "error": "invalid_form_data"})
		return
	}
	token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if token == "" {
		token = v.Get("token")
	}
	if token == "" {
		writeJSON(w, map[string]any{"ok": false, "error": "not_authed"})
		return
	}
	s.mu.Lock()
	revoked := s.revoked[token]
	s.mu.Unlock()
	if revoked {
		writeJSON(w, map[string]any{"ok": false, "error": "invalid_auth"})
		return
	}
	if method == "auth.test" {
		s.mu.Lock()
		s.authTest++
		s.mu.Unlock()
		writeJSON(w, map[string]any{"ok": true, "url": s.URL + "/", "team": "Test", "user": "iam-watchdog", "team_id": "T000", "user_id": "U000", "bot_id": "B000"})
		return
	}
	if method == "usergroups.users.list" {
		s.mu.Lock()
		users, ok := s.groups[v.Get("usergroup")]
		s.mu.Unlock()
		if !ok {
			writeJSON(w, map[string]any{"ok": false, "error": "no_such_subteam"})
			return
		}
		writeJSON(w, map[string]any{"ok": true, "users": users})
		return
	}
	if v.Get("channel") == "" {
		writeJSON(w, map[string]any{"ok": false, "error": "channel_not_found"})
		return
	}
	m := Message{Method: method, Channel: v.Get("channel"), Text: v.Get("text"), ThreadTS: v.Get("thread_ts"), Token: token}
	if b := v.Get("blocks"); b != "" {
		m.Blocks = json.RawMessage(b)
	}
	switch method {
	case "chat.update":
		// Slack updates only a message that exists, in the channel it is in.
		m.TS = v.Get("ts")
		if _, ok := s.Current(m.TS); !ok || !s.inChannel(m.TS, m.Channel) {
			writeJSON(w, map[string]any{"ok": false, "error": "message_not_found"})
			return
		}
	case "chat.postEphemeral":
		m.User = v.Get("user")
		if m.User == "" {
			writeJSON(w, map[string]any{"ok": false, "error": "user_not_found"})
			return
		}
	case "chat.postMessage":
		if m.ThreadTS != "" {
			if _, ok := s.Current(m.ThreadTS); !ok {
				writeJSON(w, map[string]any{"ok": false, "error": "thread_not_found"})
				return
			}
		}
	}
	m = s.record(m)
	if method == "chat.postEphemeral" {
		writeJSON(w, map[string]any{"ok": true, "message_ts": m.TS})
		return
	}
	writeJSON(w, map[string]any{"ok": true, "channel": m.Channel, "ts": m.TS, "text": m.Text})
}

func (s *Server) inChannel(ts, channel string) bool {
	for _, m := range s.Posts() {
		if m.TS == ts {
			return m.Channel == channel
		}
	}
	return false
}

func (s *Server) record(m Message) Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m.TS == "" {
		s.seq++
		m.TS = fmt.Sprintf("1700000000.%06d", s.seq)
	}
	s.messages = append(s.messages, m)
	return m
}

// form reads a Web API request body: form-encoded, or JSON.
func form(r *http.Request, body []byte) (url.Values, error) {
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			return nil, err
		}
		v := url.Values{}
		for k, val := range m {
			if s, ok := val.(string); ok {
				v.Set(k, s)
			} else {
				b, _ := json.Marshal(val)
				v.Set(k, string(b))
			}
		}
		return v, nil
	}
	return url.ParseQuery(string(body))
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

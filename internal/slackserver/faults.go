package slackserver

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
)

// Fault fails one chosen request: the request to Method (chat.postMessage, chat.update, …;
// "webhook" for the incoming webhook; "" for any) that comes after Skip others to it.
type Fault struct {
	Method string
	Skip   int
	Failure
}

// Inject programs faults. Each fails one request and is then spent; when several match a
// request, the first injected decides, and the Skip of the others counts the request too.
func (s *Server) Inject(faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, faults...)
}

// Refused counts the requests the server failed on purpose, by FailNext or Inject.
func (s *Server) Refused() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refused
}

// fault is the failure a request to method meets, if any. The caller holds s.mu.
func (s *Server) fault(method string) (Failure, bool) {
	hit := -1
	for i := range s.faults {
		f := &s.faults[i]
		if f.Method != "" && f.Method != method {
			continue
		}
		if f.Skip > 0 {
			f.Skip--
			continue
		}
		if hit < 0 {
			hit = i
		}
	}
	if hit < 0 {
		return Failure{}, false
	}
	f := s.faults[hit].Failure
	s.faults = append(s.faults[:hit], s.faults[hit+1:]...)
	return f, true
}

// methodOf names the API method of a request path.
func methodOf(path string) string {
	if strings.HasPrefix(path, "/services/") {
		return "webhook"
	}
	return strings.TrimPrefix(path, "/api/")
}

// Shown is what a person reads of the message: its text and every text object in its blocks
// (sections, fields, context, buttons), one a line, unescaped as Slack shows them.
func (m Message) Shown() string {
	parts := []string{m.Text}
	var blocks any
	if json.Unmarshal(m.Blocks, &blocks) != nil {
		return strings.Join(append(parts, string(m.Blocks)), "\n")
	}
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if s, ok := x["text"].(string); ok {
				parts = append(parts, s)
			}
			for _, k := range slices.Sorted(maps.Keys(x)) {
				walk(x[k])
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(blocks)
	return strings.Join(parts, "\n")
}

package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/iam-watchdog/iam-watchdog/internal/alerttest"
	"github.com/iam-watchdog/iam-watchdog/internal/slackserver"
	"github.com/iam-watchdog/iam-watchdog/pkg/alert"
	"github.com/iam-watchdog/iam-watchdog/pkg/render"
)

// The local Slack (internal/slackserver) records each message as chat.postMessage received it:
// what it recorded is what Slack would store.
func TestBotPostsToSlack(t *testing.T) {
	srv := slackserver.Start(t)
	bot, err := NewBot(BotConfig{Token: "xoxb-test", Channel: "C0SECURITY", APIURL: srv.APIURL()})
	if err != nil {
		t.Fatal(err)
	}
	a := alerttest.Done()
	d, err := bot.Notify(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	if d.Channel != "C0SECURITY" || d.TS == "" {
		t.Errorf("Delivery = %+v, want channel C0SECURITY and a timestamp", d)
	}

	posts := srv.Posts()
	if len(posts) != 1 {
		t.Fatalf("%d messages recorded, want 1", len(posts))
	}
	got := posts[0]
	want := render.NewMessage(a)
	if got.Channel != "C0SECURITY" || got.Text != want.Text || got.TS != d.TS || got.Token != "xoxb-test" {
		t.Errorf("recorded channel %q ts %q text %q\nwant channel C0SECURITY ts %q text %q", got.Channel, got.TS, got.Text, d.TS, want.Text)
	}
	wantBlocks, _ := json.Marshal(want.Blocks)
	var w, g any
	if err := json.Unmarshal(wantBlocks, &w); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(got.Blocks, &g); err != nil {
		t.Fatalf("recorded blocks are not JSON: %v", err)
	}
	if !reflect.DeepEqual(w, g) {
		t.Errorf("recorded blocks\n%s\nwant\n%s", got.Blocks, wantBlocks)
	}
}

// apiReply is one answer of the fake Web API.
type apiReply func(w http.ResponseWriter, r *http.Request)

func replyOK(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, `{"ok":true,"channel":"C1","ts":"1700000000.000100"}`)
}

func replyStatus(code int, retryAfter string) apiReply {
	return func(w http.ResponseWriter, _ *http.Request) {
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		http.Error(w, http.StatusText(code), code)
	}
}

func replySlackError(name string) apiReply {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok":false,"error":"`+name+`"}`)
	}
}

// replyDrop closes the connection without an answer: a transport error for the client.
func replyDrop(w http.ResponseWriter, _ *http.Request) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		conn.Close()
	}
}

// newAPIServer speaks the Slack Web API's wire format for chat.postMessage: it checks each
// request is a proper post of the message, then gives the replies in order, repeating the last.
func newAPIServer(t *testing.T, replies ...apiReply) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(calls.Add(1))
		if r.Method != http.MethodPost || r.URL.Path != "/chat.postMessage" {
			t.Errorf("request %s %s, want POST /chat.postMessage", r.Method, r.URL.Path)
		}
		var channel, text, blocks, token string
		if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			var body struct {
				Channel string          `json:"channel"`
				Text    string          `json:"text"`
				Blocks  json.RawMessage `json:"blocks"`
			}
			if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
				t.Errorf("JSON body: %v", err)
			}
			channel, text, blocks = body.Channel, body.Text, string(body.Blocks)
			token = strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		} else {
			if err := r.ParseForm(); err != nil {
				t.Errorf("form body: %v", err)
			}
			channel, text, blocks, token = r.PostForm.Get("channel"), r.PostForm.Get("text"), r.PostForm.Get("blocks"), r.PostForm.Get("token")
		}
		if channel != "C1" || text == "" || !json.Valid([]byte(blocks)) || token != "xoxb-test" {
			t.Errorf("request %d: channel %q, token set %v, text %q, blocks valid %v", n, channel, token != "", text, json.Valid([]byte(blocks)))
		}
		replies[min(n, len(replies))-1](w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func TestBotRetries(t *testing.T) {
	tests := []struct {
		name        string
		replies     []apiReply
		maxAttempts int
		timeout     time.Duration // context deadline; 0 for none
		wantCalls   int32
		wantErr     func(error) bool // nil: want success
		minElapsed  time.Duration
		maxElapsed  time.Duration
	}{
		{
			name: "ok at once", replies: []apiReply{replyOK},
			wantCalls: 1, maxElapsed: 2 * time.Second,
		},
		{
			name: "429 with Retry-After then ok", replies: []apiReply{replyStatus(429, "1"), replyOK},
			wantCalls: 2, minElapsed: time.Second, maxElapsed: 5 * time.Second,
		},
		{
			name: "500 then ok", replies: []apiReply{replyStatus(500, ""), replyOK},
			wantCalls: 2, maxElapsed: 3 * time.Second,
		},
		{
			name: "dropped connection then ok", replies: []apiReply{replyDrop, replyOK},
			wantCalls: 2, maxElapsed: 3 * time.Second,
		},
		{
			name: "service_unavailable then ok", replies: []apiReply{replySlackError("service_unavailable"), replyOK},
			wantCalls: 2, maxElapsed: 3 * time.Second,
		},
		{
			name: "persistent 500 gives up", replies: []apiReply{replyStatus(503, "")}, maxAttempts: 3,
			wantCalls: 3, maxElapsed: 5 * time.Second,
			wantErr: func(err error) bool {
				var sc slack.StatusCodeError
				return errors.As(err, &sc) && sc.Code == 503 && strings.Contains(err.Error(), "gave up after 3 attempts")
			},
		},
		{
			name: "Retry-After past the deadline fails at once", replies: []apiReply{replyStatus(429, "30"), replyOK},
			timeout: 3 * time.Second, wantCalls: 1, maxElapsed: time.Second,
			wantErr: func(err error) bool {
				var rl *slack.RateLimitedError
				return errors.As(err, &rl) && rl.RetryAfter == 30*time.Second && strings.Contains(err.Error(), "deadline")
			},
		},
		{
			name: "a permanent error is not retried", replies: []apiReply{replySlackError("channel_not_found"), replyOK},
			wantCalls: 1, maxElapsed: 2 * time.Second,
			wantErr: func(err error) bool {
				var se slack.SlackErrorResponse
				return errors.As(err, &se) && se.Err == "channel_not_found"
			},
		},
		{
			name: "4xx is not retried", replies: []apiReply{replyStatus(400, ""), replyOK},
			wantCalls: 1, maxElapsed: 2 * time.Second,
			wantErr: func(err error) bool { var sc slack.StatusCodeError; return errors.As(err, &sc) && sc.Code == 400 },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, calls := newAPIServer(t, tt.replies...)
			bot, err := NewBot(BotConfig{Token: "xoxb-test", Channel: "C1", APIURL: srv.URL, MaxAttempts: tt.maxAttempts})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			start := time.Now()
			d, err := bot.Notify(ctx, alerttest.Planned())
			elapsed := time.Since(start)

			if got := calls.Load(); got != tt.wantCalls {
				t.Errorf("%d requests, want %d", got, tt.wantCalls)
			}
			if elapsed < tt.minElapsed || elapsed > tt.maxElapsed {
				t.Errorf("took %s, want %s..%s", elapsed, tt.minElapsed, tt.maxElapsed)
			}
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr == nil:
				if d != (alert.Delivery{Channel: "C1", TS: "1700000000.000100"}) {
					t.Errorf("Delivery = %+v", d)
				}
			case err == nil:
				t.Fatal("no error")
			case !tt.wantErr(err):
				t.Errorf("wrong error: %v", err)
			default:
				if strings.Contains(err.Error(), "xoxb-test") {
					t.Errorf("error shows the token: %v", err)
				}
			}
		})
	}
}

// The default client must have a timeout: slack-go's has none.
func TestBotDefaultClientTimeout(t *testing.T) {
	stall := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-stall
	}))
	// Cleanups run last-in first-out: release the handler, then close the server.
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(stall) })
	bot, err := NewBot(BotConfig{Token: "xoxb-test", Channel: "C1", APIURL: srv.URL,
		HTTPClient: &http.Client{Timeout: 100 * time.Millisecond}, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	_, err = bot.Notify(context.Background(), alerttest.Planned())
	var ue *url.Error
	if !errors.As(err, &ue) || !ue.Timeout() {
		t.Errorf("want a timeout, got %v", err)
	}
	if got := httpClientOrDefault(nil).Timeout; got != DefaultTimeout {
		t.Errorf("default client timeout = %s, want %s", got, DefaultTimeout)
	}
}

func TestBotConfig(t *testing.T) {
	tests := []struct {
		name    string
		cfg     BotConfig
		wantErr []string
	}{
		{"ok", BotConfig{Token: "xoxb-1", Channel: "C1"}, nil},
		{"no token", BotConfig{Channel: "C1"}, []string{"token is empty"}},
		{"no channel", BotConfig{Token: "xoxb-1"}, []string{"channel is empty"}},
		{"nothing", BotConfig{MaxAttempts: -1}, []string{"token is empty", "channel is empty", "max attempts"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewBot(tt.cfg)
			if (err != nil) != (tt.wantErr != nil) {
				t.Fatalf("err = %v, want errors %v", err, tt.wantErr)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// A bot's config never shows its token, printed or logged (the Slack secret's own redaction is
// pkg/slacksecret's TestSecretRedacts).
func TestBotConfigRedacts(t *testing.T) {
	const token = "xoxb-111-222-SuperSecretTokenValue"
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("built", "bot", BotConfig{Token: token, Channel: "C1"})
	for name, out := range map[string]string{
		"slog": logged.String(),
		"fmt":  fmt.Sprintf("%v %+v %#v", BotConfig{Token: token}, BotConfig{Token: token}, BotConfig{Token: token}),
	} {
		if strings.Contains(out, token) || strings.Contains(out, "SuperSecret") {
			t.Errorf("%s shows the token: %s", name, out)
		}
		if !strings.Contains(out, "REDACTED") {
			t.Errorf("%s does not say the token is set: %s", name, out)
		}
	}
}

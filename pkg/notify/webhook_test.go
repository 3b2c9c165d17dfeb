package notify

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/iam-watchdog/iam-watchdog/internal/alerttest"
	"github.com/iam-watchdog/iam-watchdog/pkg/alert"
)

// newWebhookServer answers like an incoming webhook: "ok" for a JSON body with text and
// blocks, after the given failures.
func newWebhookServer(t *testing.T, replies ...apiReply) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(calls.Add(1))
		var body struct {
			Text   string            `json:"text"`
			Blocks []json.RawMessage `json:"blocks"`
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q", ct)
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Text == "" || len(body.Blocks) == 0 {
			t.Errorf("request %d: body err %v, text %q, %d blocks", n, err, body.Text, len(body.Blocks))
		}
		replies[min(n, len(replies))-1](w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func webhookOK(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }

func TestWebhook(t *testing.T) {
	tests := []struct {
		name       string
		replies    []apiReply
		wantCalls  int32
		wantErr    func(error) bool
		minElapsed time.Duration
	}{
		{name: "ok", replies: []apiReply{webhookOK}, wantCalls: 1},
		{name: "429 then ok", replies: []apiReply{replyStatus(429, "1"), webhookOK}, wantCalls: 2, minElapsed: time.Second},
		{name: "500 then ok", replies: []apiReply{replyStatus(500, ""), webhookOK}, wantCalls: 2},
		{
			// Slack answers 404 no_service for a revoked webhook: retrying cannot help.
			name: "404 is not retried", replies: []apiReply{replyStatus(404, ""), webhookOK}, wantCalls: 1,
			wantErr: func(err error) bool { var sc slack.StatusCodeError; return errors.As(err, &sc) && sc.Code == 404 },
		},
		{
			name: "persistent 502 gives up", replies: []apiReply{replyStatus(502, "")}, wantCalls: 2,
			wantErr: func(err error) bool { var sc slack.StatusCodeError; return errors.As(err, &sc) && sc.Code == 502 },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, calls := newWebhookServer(t, tt.replies...)
			wh, err := NewWebhook(WebhookConfig{URL: srv.URL + "/services/T0/B0/secretpart", MaxAttempts: 2})
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			d, err := wh.Notify(context.Background(), alerttest.Planned())
			if got := calls.Load(); got != tt.wantCalls {
				t.Errorf("%d requests, want %d", got, tt.wantCalls)
			}
			if el := time.Since(start); el < tt.minElapsed {
				t.Errorf("took %s, want at least %s (Retry-After ignored?)", el, tt.minElapsed)
			}
			if d != (alert.Delivery{}) {
				t.Errorf("Delivery = %+v, want empty", d)
			}
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != nil && err == nil:
				t.Fatal("no error")
			case tt.wantErr != nil && !tt.wantErr(err):
				t.Errorf("wrong error: %v", err)
			}
		})
	}
}

// A transport error quotes the URL, and the URL is the credential.
func TestWebhookErrorHidesURL(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	secretURL := srv.URL + "/services/T0/B0/s3cr3tWebhookPath"
	srv.Close() // nothing listens now: connection refused

	wh, err := NewWebhook(WebhookConfig{URL: secretURL, MaxAttempts: 2})
	if err != nil {
		t.Fatal(err)
	}
	_, err = wh.Notify(context.Background(), alerttest.Planned())
	if err == nil {
		t.Fatal("no error")
	}
	if strings.Contains(err.Error(), "s3cr3tWebhookPath") {
		t.Errorf("error shows the webhook URL: %v", err)
	}
	if !strings.Contains(err.Error(), redactedWebhookURL) || !strings.Contains(err.Error(), "gave up after 2 attempts") {
		t.Errorf("error = %v", err)
	}
	for _, s := range []string{WebhookConfig{URL: secretURL}.String(), WebhookConfig{URL: secretURL}.GoString()} {
		if strings.Contains(s, "s3cr3t") {
			t.Errorf("config prints the URL: %s", s)
		}
	}
}

func TestWebhookConfig(t *testing.T) {
	tests := []struct {
		url     string
		wantErr string
	}{
		{"https://hooks.slack.com/services/T0/B0/x", ""},
		{"", "empty"},
		{"hooks.slack.com/services/T0/B0/x", "not an absolute"},
		{"ftp://hooks.slack.com/x", "not an absolute"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			_, err := NewWebhook(WebhookConfig{URL: tt.url})
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("err = %v, want one saying %q", err, tt.wantErr)
			case err != nil && tt.url != "" && strings.Contains(err.Error(), tt.url):
				t.Errorf("error repeats the URL: %v", err)
			}
		})
	}
}

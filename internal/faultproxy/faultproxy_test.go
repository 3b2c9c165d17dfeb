package faultproxy_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"

	"github.com/iam-watchdog/iam-watchdog/internal/faultproxy"
)

// backend answers every request as IAM's UpdateAccessKey or Secrets Manager's GetSecretValue
// would, and counts what reaches it.
func backend(t *testing.T) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		if r.Header.Get("X-Amz-Target") == "secretsmanager.GetSecretValue" {
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			io.WriteString(w, `{"ARN":"arn:aws:secretsmanager:us-east-1:123456789012:secret:s","Name":"s","SecretString":"{}"}`)
			return
		}
		w.Header().Set("Content-Type", "text/xml")
		io.WriteString(w, `<UpdateAccessKeyResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">`+
			`<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></UpdateAccessKeyResponse>`)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// awsConfig points the SDK at the proxy, with its standard retryer (3 attempts) and backoff
// kept short so that the test is quick.
func awsConfig(endpoint string) aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("testing", "testing", ""),
		BaseEndpoint: aws.String(endpoint),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) { o.MaxBackoff = 20 * time.Millisecond })
		},
	}
}

func updateKey(ctx context.Context, c *iam.Client) error {
	_, err := c.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{AccessKeyId: aws.String("AKIA0000000000000000"), Status: "Inactive", UserName: aws.String("bob")})
	return err
}

func TestOperationsAreCounted(t *testing.T) {
	srv, reached := backend(t)
	p := faultproxy.Start(t, srv.URL)
	cfg := awsConfig(p.URL)
	ctx := context.Background()
	if err := updateKey(ctx, iam.NewFromConfig(cfg)); err != nil {
		t.Fatal(err)
	}
	if _, err := secretsmanager.NewFromConfig(cfg).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("s")}); err != nil {
		t.Fatal(err)
	}
	resp, err := http.PostForm(p.URL+"/api/chat.postMessage", url.Values{"channel": {"C1"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	want := map[string]faultproxy.Counts{
		"UpdateAccessKey":       {Seen: 1, Forwarded: 1, OK: 1},
		"GetSecretValue":        {Seen: 1, Forwarded: 1, OK: 1},
		"/api/chat.postMessage": {Seen: 1, Forwarded: 1, OK: 1},
	}
	for op, w := range want {
		if got := p.Counts(op); got != w {
			t.Errorf("%s: counts %+v, want %+v (all: %v)", op, got, w, p.All())
		}
	}
	if reached.Load() != 3 {
		t.Errorf("%d requests reached the target, want 3", reached.Load())
	}
}

// The canned IAM throttling is read by the SDK as IAM's own: retried, and when every attempt
// is refused, reported as the API error code Throttling.
func TestIAMThrottling(t *testing.T) {
	srv, _ := backend(t)
	p := faultproxy.Start(t, srv.URL)
	c := iam.NewFromConfig(awsConfig(p.URL))

	r := p.Inject(faultproxy.Op("UpdateAccessKey"), faultproxy.IAMThrottling(), faultproxy.Times(2))
	if err := updateKey(context.Background(), c); err != nil {
		t.Fatalf("two throttles then success: %v; the SDK's retryer should have hidden them", err)
	}
	if got := p.Counts("UpdateAccessKey"); got != (faultproxy.Counts{Seen: 3, Faulted: 2, Forwarded: 1, OK: 1}) || p.Hits(r) != 2 {
		t.Errorf("counts %+v, hits %d", got, p.Hits(r))
	}

	p.Inject(faultproxy.Op("UpdateAccessKey"), faultproxy.IAMThrottling())
	err := updateKey(context.Background(), c)
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "Throttling" {
		t.Fatalf("always throttled: %v; want the API error Throttling", err)
	}
	if got := p.Counts("UpdateAccessKey"); got.Seen != 6 || got.OK != 1 {
		t.Errorf("counts %+v: want 3 more attempts, none forwarded", got)
	}
}

func TestSecretsManagerUnavailable(t *testing.T) {
	srv, reached := backend(t)
	p := faultproxy.Start(t, srv.URL)
	p.Inject(faultproxy.Op("GetSecretValue"), faultproxy.SecretsManagerUnavailable())
	_, err := secretsmanager.NewFromConfig(awsConfig(p.URL)).GetSecretValue(context.Background(),
		&secretsmanager.GetSecretValueInput{SecretId: aws.String("s")})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "InternalServiceError" {
		t.Fatalf("GetSecretValue: %v; want InternalServiceError", err)
	}
	if got := p.Counts("GetSecretValue"); got.Seen != 3 || got.Faulted != 3 || reached.Load() != 0 {
		t.Errorf("counts %+v, %d reached: want 3 attempts (the SDK retries a 500), none forwarded", got, reached.Load())
	}
}

func TestAfterAndTimes(t *testing.T) {
	srv, reached := backend(t)
	p := faultproxy.Start(t, srv.URL)
	r := p.Inject(faultproxy.Path("/api/"), faultproxy.Status(http.StatusInternalServerError), faultproxy.After(1), faultproxy.Times(2))
	var codes []int
	for range 5 {
		resp, err := http.Post(p.URL+"/api/chat.postMessage", "text/plain", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		codes = append(codes, resp.StatusCode)
	}
	if want := []int{200, 500, 500, 200, 200}; !slices.Equal(codes, want) {
		t.Errorf("statuses %v, want %v", codes, want)
	}
	if p.Hits(r) != 2 || reached.Load() != 3 {
		t.Errorf("hits %d, reached %d", p.Hits(r), reached.Load())
	}
	p.Clear()
	p.Inject(faultproxy.Path("/other"), faultproxy.Status(http.StatusTeapot))
	resp, err := http.Post(p.URL+"/api/chat.postMessage", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("after Clear, an unmatched request got %d", resp.StatusCode)
	}
}

func TestTooManyRequests(t *testing.T) {
	srv, reached := backend(t)
	p := faultproxy.Start(t, srv.URL)
	p.Inject(faultproxy.Any(), faultproxy.TooManyRequests("7"), faultproxy.Times(1))
	resp, err := http.Post(p.URL+"/api/chat.postMessage", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "7" || !strings.Contains(string(body), "ratelimited") || reached.Load() != 0 {
		t.Errorf("got %d Retry-After %q %s; %d reached", resp.StatusCode, resp.Header.Get("Retry-After"), body, reached.Load())
	}
}

func TestReset(t *testing.T) {
	srv, reached := backend(t)
	p := faultproxy.Start(t, srv.URL)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

	p.Inject(faultproxy.Any(), faultproxy.Reset(), faultproxy.Times(1))
	if resp, err := client.Post(p.URL+"/x", "text/plain", strings.NewReader("a")); err == nil {
		resp.Body.Close()
		t.Fatalf("reset: got HTTP %d, want a connection error", resp.StatusCode)
	}
	if reached.Load() != 0 {
		t.Errorf("reset before forwarding: %d requests reached the target", reached.Load())
	}

	p.Inject(faultproxy.Any(), faultproxy.ResetAfterForward(), faultproxy.Times(1))
	if resp, err := client.Post(p.URL+"/x", "text/plain", strings.NewReader("a")); err == nil {
		resp.Body.Close()
		t.Fatalf("reset after forwarding: got HTTP %d, want a connection error", resp.StatusCode)
	}
	if got := p.Counts("/x"); reached.Load() != 1 || got != (faultproxy.Counts{Seen: 2, Faulted: 2, Forwarded: 1, OK: 1}) {
		t.Errorf("reset after forwarding: %d reached, counts %+v; want the target to act once", reached.Load(), got)
	}
}

// TestLoseAnswer: the target acts on the request, and the client gets the fault's status
// instead of the target's answer, as when IAM carries out a call and then fails to answer it.
func TestLoseAnswer(t *testing.T) {
	srv, reached := backend(t)
	p := faultproxy.Start(t, srv.URL)
	p.Inject(faultproxy.Op("UpdateAccessKey"), faultproxy.LoseAnswer(faultproxy.QueryError(http.StatusInternalServerError, "ServiceFailure", "Request processing has failed")), faultproxy.Times(1))
	cfg := awsConfig(p.URL)
	// The SDK retries the 500; the retry reaches the target too, and is answered.
	if err := updateKey(context.Background(), iam.NewFromConfig(cfg)); err != nil {
		t.Fatalf("UpdateAccessKey: %v", err)
	}
	if got := p.Counts("UpdateAccessKey"); reached.Load() != 2 || got != (faultproxy.Counts{Seen: 2, Faulted: 1, Forwarded: 2, OK: 2}) {
		t.Errorf("%d reached, counts %+v: want both attempts to reach the target, the first answered 500", reached.Load(), got)
	}
}

func TestLatency(t *testing.T) {
	srv, reached := backend(t)
	p := faultproxy.Start(t, srv.URL)
	p.Inject(faultproxy.Any(), faultproxy.Latency(300*time.Millisecond))

	start := time.Now()
	resp, err := http.Post(p.URL+"/x", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("answered after %s, want at least the 300ms of latency", d)
	}

	// A client that gives up during the latency gets nothing, and nothing reaches the target.
	impatient := &http.Client{Timeout: 50 * time.Millisecond}
	if resp, err := impatient.Post(p.URL+"/x", "text/plain", nil); err == nil {
		resp.Body.Close()
		t.Fatal("a client with a 50ms timeout got an answer through 300ms of latency")
	}
	// Proving that nothing arrives takes waiting past the latency the request would have had.
	time.Sleep(400 * time.Millisecond)
	if reached.Load() != 1 {
		t.Errorf("%d requests reached the target, want only the patient one", reached.Load())
	}
}

// Package mototest runs a real moto_server (the Python moto package's AWS API emulator) for the
// duration of a test, builds SDK configuration pointed at it, and creates and reads the state
// that remediation tests act on. Programs that need moto_server outside a test (`watchdog demo`)
// use internal/motoserver, which this package wraps.
package mototest

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/iam-watchdog/iam-watchdog/internal/motoserver"
)

// AccountID is the account moto reports for the static test credentials.
const AccountID = "123456789012"

// Server is one running moto_server.
type Server struct {
	// Endpoint is the base URL, e.g. http://127.0.0.1:40123.
	Endpoint string
}

// Start runs moto_server for the test and stops it when the test ends. It fails the test when
// moto_server is not installed (`make test` installs it; see the Makefile).
func Start(t testing.TB) *Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p, err := motoserver.Launch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Stop(); err != nil {
			t.Error(err)
		}
	})
	return &Server{Endpoint: p.Endpoint}
}

// Config is SDK configuration with static test credentials, region us-east-1 and every
// service's BaseEndpoint pointed at the server.
func (s *Server) Config(t testing.TB) aws.Config {
	return Config(t, s.Endpoint)
}

// Config is SDK configuration with static test credentials and every service's BaseEndpoint at
// endpoint (moto_server, or a proxy in front of it).
func Config(t testing.TB, endpoint string) aws.Config {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("testing", "testing", "")),
		config.WithBaseEndpoint(endpoint),
		config.WithRetryMaxAttempts(2),
	)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// Reset wipes all of moto's state, for tests that share one server.
func (s *Server) Reset(t testing.TB) {
	t.Helper()
	resp, err := http.Post(s.Endpoint+"/moto-api/reset", "application/json", nil)
	if err != nil {
		t.Fatalf("reset moto: %v", err)
	}
	resp.Body.Close()
}

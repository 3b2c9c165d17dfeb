// Package mototest runs a real moto_server (the Python moto package's AWS API emulator) for
// tests, builds SDK configuration pointed at it, and creates and reads the state that
// remediation tests act on. Programs that need moto_server outside a test (`watchdog demo`)
// use internal/motoserver, which this package wraps.
package mototest

import (
	"context"
	"fmt"
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

// Start gives the test an empty moto_server of its own until the test ends. In a package whose
// TestMain runs through Main, that is the package's shared server, reset, and held for the test
// (see Main); otherwise, or while another test holds it, a server started for the test alone.
// moto_server is launched with the test's MOTO_* environment (t.Setenv), e.g.
// MOTO_IAM_LOAD_MANAGED_POLICIES=true. It fails the test when moto_server is not installed
// (`make test` installs it; see the Makefile).
func Start(t testing.TB) *Server {
	t.Helper()
	if srv := lease(t); srv != nil {
		return srv
	}
	return launch(t)
}

// StartManaged is Start with AWS managed policies loaded (MOTO_IAM_LOAD_MANAGED_POLICIES), so
// that arn:aws:iam::aws:policy/AdministratorAccess and the others exist as in AWS (moto 5 leaves
// them out unless asked); the package's tests share one such server, apart from the plain one.
// They cost CPU: at every reset moto rebuilds each account's IAM (six partitions, each parsing
// about 1,400 policies) and again at first use, about a second per test and account, and
// GetAccountAuthorizationDetails lists every policy with its document (seconds). Only a test
// that acts on or checks an AWS managed policy takes it.
func StartManaged(t testing.TB) *Server {
	t.Helper()
	t.Setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
	return Start(t)
}

// launch runs a moto_server for t alone and stops it when t ends.
func launch(t testing.TB) *Server {
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

// Reset wipes all of moto's state, for a test that empties its server between steps.
func (s *Server) Reset(t testing.TB) {
	t.Helper()
	if err := reset(s.Endpoint); err != nil {
		t.Fatal(err)
	}
}

func reset(endpoint string) error {
	resp, err := http.Post(endpoint+"/moto-api/reset", "application/json", nil)
	if err != nil {
		return fmt.Errorf("reset moto: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("reset moto: HTTP %d", resp.StatusCode)
	}
	return nil
}

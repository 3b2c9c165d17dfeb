// Package motoserver runs a real moto_server (the Python moto package's AWS API emulator) on a
// free loopback port for the duration of a test, and builds SDK configuration pointed at it.
package motoserver

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
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
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		t.Fatalf("moto_server not found on PATH (pip install 'moto[server]'): %v", err)
	}
	port, err := freePort()
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	stderr, err := cmd.StderrPipe()
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	cmd.Stdout = nil
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start moto_server: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
	})

	// moto_server announces "Running on http://…" on stderr once it listens; wait for that line
	// rather than sleeping. Its request log follows on the same pipe and is drained.
	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		announced := false
		for sc.Scan() {
			if !announced && strings.Contains(sc.Text(), "Running on") {
				announced = true
				ready <- nil
			}
		}
		if !announced {
			ready <- fmt.Errorf("moto_server exited before listening")
		}
	}()
	select {
	case err := <-ready:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("moto_server did not start within 60s")
	}
	return &Server{Endpoint: fmt.Sprintf("http://127.0.0.1:%d", port)}
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

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

package motoserver

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestLaunch: the server answers once Launch returns, and not after Stop, which can be called
// again.
func TestLaunch(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	p, err := Launch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			p.Stop()
		}
	}()
	if !strings.HasPrefix(p.Endpoint, "http://127.0.0.1:") {
		t.Errorf("endpoint %q, want a loopback URL", p.Endpoint)
	}
	resp, err := http.Get(p.Endpoint + "/moto-api/data.json")
	if err != nil {
		t.Fatalf("moto_server does not answer after Launch: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /moto-api/data.json: HTTP %d", resp.StatusCode)
	}

	if err := p.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	stopped = true
	if err := p.Stop(); err != nil {
		t.Errorf("second stop: %v", err)
	}
	if c, err := net.DialTimeout("tcp", strings.TrimPrefix(p.Endpoint, "http://"), time.Second); err == nil {
		c.Close()
		t.Errorf("moto_server still listens after Stop")
	}
}

func TestLaunchNotInstalled(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	p, err := Launch(t.Context())
	if !errors.Is(err, ErrNotInstalled) {
		if p != nil {
			p.Stop()
		}
		t.Fatalf("Launch = %v, want ErrNotInstalled", err)
	}
}

// TestLaunchCancelled: a start that outlives its context fails and leaves nothing running.
func TestLaunchCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	p, err := Launch(ctx)
	if err == nil {
		p.Stop()
		t.Fatal("Launch with a cancelled context succeeded")
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Launch = %v, want context.Canceled", err)
	}
}

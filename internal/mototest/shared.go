package mototest

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iam-watchdog/iam-watchdog/internal/motoserver"
)

// shared holds the package's moto_servers while Main runs its tests: starting moto_server costs
// seconds of CPU (Python imports every service), a reset milliseconds.
var shared struct {
	mu      sync.Mutex
	running bool                     // Main is running the tests
	servers map[string]*sharedServer // by the MOTO_* environment they were launched with
}

// sharedServer is one moto_server that tests take in turn: a test holds it from Start to its
// end, so that no other test's calls or reset land in between.
type sharedServer struct {
	once sync.Once
	p    *motoserver.Process
	err  error
	held sync.Mutex
}

// Main runs a package's tests (run is testing.M's Run) with shared moto_servers, and stops
// them afterwards: TestMain is `os.Exit(mototest.Main(m.Run))`. Tests calling Start then take
// the shared server in turn, each reset to empty, instead of each starting its own; a test
// that finds it held (a parallel test, a subtest of its holder) starts one of its own.
func Main(run func() int) int {
	shared.mu.Lock()
	shared.running = true
	shared.servers = map[string]*sharedServer{}
	shared.mu.Unlock()

	code := run()

	shared.mu.Lock()
	defer shared.mu.Unlock()
	shared.running = false
	for _, s := range shared.servers {
		if s.p == nil {
			continue
		}
		if err := s.p.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = max(code, 1)
		}
	}
	shared.servers = nil
	return code
}

// lease gives t the shared server for its MOTO_* environment, reset and held until t ends; nil
// when Main is not running or another test holds that server.
func lease(t testing.TB) *Server {
	t.Helper()
	key := motoEnv()
	shared.mu.Lock()
	if !shared.running {
		shared.mu.Unlock()
		return nil
	}
	s := shared.servers[key]
	if s == nil {
		s = &sharedServer{}
		shared.servers[key] = s
	}
	shared.mu.Unlock()

	if !s.held.TryLock() {
		return nil
	}
	s.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		s.p, s.err = motoserver.Launch(ctx) // inherits the MOTO_* environment
	})
	if s.err != nil {
		s.held.Unlock()
		t.Fatal(s.err)
	}
	// Released after the test's later cleanups, which may still call moto (LIFO).
	t.Cleanup(s.held.Unlock)
	srv := &Server{Endpoint: s.p.Endpoint}
	srv.Reset(t)
	return srv
}

// motoEnv is the MOTO_* settings in the environment, which moto_server reads at its start.
func motoEnv() string {
	var kv []string
	for _, e := range os.Environ() {
		if strings.HasPrefix(e, "MOTO_") {
			kv = append(kv, e)
		}
	}
	slices.Sort(kv)
	return strings.Join(kv, "\n")
}

package motoserver

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// ErrNotInstalled is returned by Launch when moto_server is not on PATH.
var ErrNotInstalled = errors.New("moto_server is not on PATH (pip install 'moto[server]')")

// Process is one moto_server started by Launch. It runs until Stop.
type Process struct {
	// Endpoint is the base URL, e.g. http://127.0.0.1:40123.
	Endpoint string

	cmd      *exec.Cmd
	exited   chan struct{} // closed once cmd.Wait has returned
	stopOnce sync.Once
	stopErr  error
}

// Launch starts moto_server on a free loopback port and returns once it listens. As with
// net.Dialer.DialContext, ctx bounds only the start: once Launch has returned, the process
// runs until Stop, whatever becomes of ctx. A start that fails or outlives ctx leaves no
// process behind. The error wraps ErrNotInstalled when moto_server is not on PATH. env adds
// KEY=value settings to the process's environment (e.g. MOTO_IAM_LOAD_MANAGED_POLICIES=true).
func Launch(ctx context.Context, env ...string) (*Process, error) {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotInstalled, err)
	}
	port, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("free port for moto_server: %w", err)
	}
	pr, pw := io.Pipe()
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	if len(env) > 0 {
		cmd.Env = append(os.Environ(), env...)
	}
	cmd.Stderr = pw
	// A child that keeps stderr open must not hold Stop up.
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start moto_server: %w", err)
	}
	p := &Process{Endpoint: fmt.Sprintf("http://127.0.0.1:%d", port), cmd: cmd, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait() // "signal: killed" after Stop is the expected exit
		pw.Close()     // the reader below sees the end of stderr
		close(p.exited)
	}()

	// moto_server announces "Running on http://…" on stderr once it listens; wait for that line
	// rather than sleeping. Its request log follows on the same pipe and is drained until Stop.
	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		announced := false
		var last []string // the last lines before a failed start, for the error
		for sc.Scan() {
			line := sc.Text()
			if announced {
				continue
			}
			if strings.Contains(line, "Running on") {
				announced = true
				ready <- nil
				continue
			}
			if last = append(last, line); len(last) > 5 {
				last = last[1:]
			}
		}
		if !announced {
			ready <- fmt.Errorf("moto_server exited before listening: %s", strings.Join(last, " | "))
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	select {
	case err := <-ready:
		if err != nil {
			p.Stop()
			return nil, err
		}
		return p, nil
	case <-ctx.Done():
		p.Stop()
		return nil, fmt.Errorf("moto_server did not start: %w", context.Cause(ctx))
	}
}

// Stop kills moto_server and waits for it to exit. It is safe to call more than once; only the
// first call acts.
func (p *Process) Stop() error {
	p.stopOnce.Do(func() {
		// moto_server keeps nothing worth a graceful shutdown.
		if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
			p.stopErr = fmt.Errorf("stop moto_server: %w", err)
			return
		}
		<-p.exited
	})
	return p.stopErr
}

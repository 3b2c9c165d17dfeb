// Package lambdatest builds a function's real bootstrap and runs it under the AWS Lambda Runtime
// Interface Emulator (aws-lambda-rie) on a free loopback port, so tests invoke the function over
// HTTP exactly as Lambda would.
package lambdatest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// Build compiles the Lambda in pkg (a Go package path such as ./functions/watchdog, relative
// to the module root) for this machine, with the lambda.norpc tag the deployed one uses. It is
// linked once for every package and run (a link takes seconds; see buildOncePerCheckout), and
// copied once for all the package's tests when its TestMain runs through Main, otherwise once
// per call, into the test's temporary directory.
func Build(t testing.TB, pkg string) string {
	t.Helper()
	root := moduleRoot(t)
	if b := sharedBuildOf(pkg); b != nil {
		out, err := b.build(root, pkg)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	out := filepath.Join(t.TempDir(), "bootstrap")
	if err := buildOncePerCheckout(root, pkg, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// build builds as the Makefile builds what is deployed (tags, -trimpath, -ldflags "-s -w": no
// symbol table or DWARF, which also links faster), for this machine's architecture, with env
// added to the environment.
func build(root, pkg, out string, env ...string) error {
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH), env...)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build %s: %v\n%s", pkg, err, b)
	}
	return nil
}

// Function is a bootstrap running under aws-lambda-rie.
type Function struct {
	URL   string
	mu    sync.Mutex
	log   bytes.Buffer
	wrote chan struct{} // closed at the next write, for those waiting on the logs
}

// Logs returns everything the emulator and the function wrote so far.
func (f *Function) Logs() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.log.String()
}

func (f *Function) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.wrote != nil {
		close(f.wrote)
		f.wrote = nil
	}
	return f.log.Write(p)
}

// RIE finds the emulator: $AWS_LAMBDA_RIE, the project's .tools folder (make tools), or PATH.
func RIE(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("AWS_LAMBDA_RIE"); p != "" {
		return p
	}
	if p := filepath.Join(moduleRoot(t), ".tools", "aws-lambda-rie"); fileExists(p) {
		return p
	}
	p, err := exec.LookPath("aws-lambda-rie")
	if err != nil {
		t.Fatalf("aws-lambda-rie not found: run `make tools` (go install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie)")
	}
	return p
}

// Start runs bootstrap under the emulator with env (KEY=VALUE) added to a minimal environment,
// and stops it when the test ends.
func Start(t testing.TB, bootstrap string, env ...string) *Function {
	t.Helper()
	apiPort, rtPort := freePort(t), freePort(t)
	f := &Function{URL: fmt.Sprintf("http://127.0.0.1:%d/2015-03-31/functions/function/invocations", apiPort)}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, RIE(t),
		"--runtime-interface-emulator-address", fmt.Sprintf("127.0.0.1:%d", apiPort),
		"--runtime-api-address", fmt.Sprintf("127.0.0.1:%d", rtPort),
		bootstrap)
	cmd.Dir = filepath.Dir(bootstrap)
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + t.TempDir(),
		"AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=testing",
		"AWS_SECRET_ACCESS_KEY=testing",
		"AWS_LAMBDA_FUNCTION_TIMEOUT=30",
		"AWS_LAMBDA_FUNCTION_NAME=iam-watchdog-test",
	}, env...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start aws-lambda-rie: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("function logs:\n%s", f.Logs())
		}
	})
	// The emulator logs nothing when it starts listening, so probe the port until it accepts.
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", apiPort), time.Second)
		if err == nil {
			c.Close()
			return f
		}
		if time.Now().After(deadline) {
			t.Fatalf("aws-lambda-rie did not listen within 20s: %v\n%s", err, f.Logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Invoke sends one event and returns the function's response body. A function error comes
// back as a 200 with an errorMessage body, as from Lambda's Invoke API; FunctionError reports it.
func (f *Function) Invoke(t testing.TB, event []byte) []byte {
	t.Helper()
	resp, err := http.Post(f.URL, "application/json", bytes.NewReader(event))
	if err != nil {
		t.Fatalf("invoke: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("invoke: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("invoke: HTTP %d: %s", resp.StatusCode, body)
	}
	return body
}

// FunctionError reports whether an Invoke response is a function error.
func FunctionError(body []byte) bool { return bytes.Contains(body, []byte(`"errorMessage"`)) }

func moduleRoot(t testing.TB) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

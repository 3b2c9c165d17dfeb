package lambdatest

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/iam-watchdog/iam-watchdog/internal/mototest"
)

// builds holds the bootstraps built while Main runs a package's tests, one per Go package.
var builds struct {
	mu  sync.Mutex
	dir string // "" unless Main is running
	by  map[string]*sharedBuild
}

type sharedBuild struct {
	once sync.Once
	out  string
	err  error
}

// Main runs a package's tests (run is testing.M's Run) with each bootstrap built once, in a
// directory removed afterwards, and with mototest's shared moto_servers (mototest.Main), which
// the functions' tests all call: TestMain is `os.Exit(lambdatest.Main(m.Run))`.
func Main(run func() int) int {
	return mototest.Main(func() int { return withBuilds(run) })
}

func withBuilds(run func() int) int {
	dir, err := os.MkdirTemp("", "lambdatest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "lambdatest: directory for bootstraps:", err)
		return 1
	}
	builds.mu.Lock()
	builds.dir, builds.by = dir, map[string]*sharedBuild{}
	builds.mu.Unlock()

	code := run()

	builds.mu.Lock()
	builds.dir, builds.by = "", nil
	builds.mu.Unlock()
	if err := os.RemoveAll(dir); err != nil {
		fmt.Fprintln(os.Stderr, "lambdatest:", err)
		code = max(code, 1)
	}
	return code
}

// sharedBuildOf is pkg's build while Main runs, nil when it does not.
func sharedBuildOf(pkg string) *sharedBuild {
	builds.mu.Lock()
	defer builds.mu.Unlock()
	if builds.dir == "" {
		return nil
	}
	b := builds.by[pkg]
	if b == nil {
		b = &sharedBuild{out: filepath.Join(builds.dir, strings.NewReplacer("/", "_", ".", "_").Replace(pkg), "bootstrap")}
		builds.by[pkg] = b
	}
	return b
}

// build builds the bootstrap at its first call; later calls wait for it and get its result.
// Tests only run the bootstrap, never write beside it, so one file serves them all.
func (b *sharedBuild) build(root, pkg string) (string, error) {
	b.once.Do(func() {
		if b.err = os.MkdirAll(filepath.Dir(b.out), 0o755); b.err == nil {
			b.err = buildOncePerCheckout(root, pkg, b.out)
		}
	})
	return b.out, b.err
}

// buildOncePerCheckout builds pkg into out, linking it once for every package's tests, not
// once in each: the bootstrap is built into .tools/bootstraps (Makefile's tools folder) under
// an exclusive lock, where go build leaves a file that is up to date with the sources alone,
// and then copied to out. A package whose tests run beside another's (go test runs three at
// once) waits for that build and reuses it, and so does the next run when nothing changed;
// each package runs its own copy, which no later build replaces while it runs. go build links
// in GOTMPDIR and then moves the result to its -o path: renamed there, whole, when both are on
// one file system; copied, and left half-written by a run stopped meanwhile (which the next
// build would take for up to date: it reads only the build ID at the file's start), when not.
// So its GOTMPDIR is beside the shared file.
func buildOncePerCheckout(root, pkg, out string) error {
	dir := filepath.Join(root, ".tools", "bootstraps", strings.NewReplacer("/", "_", ".", "_").Replace(pkg))
	tmp := filepath.Join(dir, "tmp")
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return fmt.Errorf("build %s: %w", pkg, err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("build %s: %w", pkg, err)
	}
	defer lock.Close() // and with it the lock
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("build %s: lock %s: %w", pkg, lock.Name(), err)
	}
	shared := filepath.Join(dir, "bootstrap")
	if err := build(root, pkg, shared, "GOTMPDIR="+tmp); err != nil {
		return err
	}
	return copyExecutable(shared, out)
}

func copyExecutable(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	w, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, in); err != nil {
		w.Close()
		return fmt.Errorf("copy %s: %w", src, err)
	}
	return w.Close()
}

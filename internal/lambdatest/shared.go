package lambdatest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

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
			b.err = build(root, pkg, b.out)
		}
	})
	return b.out, b.err
}

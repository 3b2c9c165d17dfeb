package shipcheck

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// module is this repository's module path.
const module = "github.com/iam-watchdog/iam-watchdog"

// shipped are the packages of the binaries users run: the CLI and the Lambda functions.
var shipped = []string{"./cmd/watchdog", "./functions/..."}

// harnesses are the packages that exist for tests: they start servers per test, fail tests, or
// fake an edge. None may be linked into a shipped binary.
var harnesses = []string{
	"testing", "net/http/httptest",
	module + "/internal/mototest", module + "/internal/slackserver", module + "/internal/lambdatest",
	module + "/internal/faultproxy", module + "/internal/templatecheck", module + "/internal/lambdabench",
}

// TestShippedBinariesLinkNoTestHarness lists every package the shipped binaries depend on, as the
// CLI is built and as the Lambda functions are (linux/arm64, -tags lambda.norpc), and fails on
// `testing`, on any package under it, and on the repository's test harnesses: `go test` must not
// be the only thing keeping a harness out of what users run.
func TestShippedBinariesLinkNoTestHarness(t *testing.T) {
	for _, build := range []struct {
		name string
		env  []string
		args []string
	}{
		{name: "as built here"},
		{name: "as deployed to Lambda", env: []string{"GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0"}, args: []string{"-tags", "lambda.norpc"}},
	} {
		t.Run(build.name, func(t *testing.T) {
			args := append(append([]string{"list", "-deps"}, build.args...), shipped...)
			cmd := exec.CommandContext(t.Context(), "go", args...)
			cmd.Dir = "../.."
			cmd.Env = append(os.Environ(), build.env...)
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("go %s: %v", strings.Join(args, " "), err)
			}
			deps := strings.Fields(string(out))
			if len(deps) < 10 || !slices.Contains(deps, module+"/pkg/watchdog") {
				t.Fatalf("go list -deps names %d packages, without the pipeline: the check would pass vacuously", len(deps))
			}
			for _, d := range deps {
				if harness(d) {
					t.Errorf("a shipped binary depends on %s", d)
				}
			}
		})
	}
}

func harness(pkg string) bool {
	if strings.HasPrefix(pkg, "testing/") || slices.Contains(harnesses, pkg) {
		return true
	}
	// By convention a package named …test is a test helper (httptest, mototest, lambdatest).
	return strings.HasPrefix(pkg, module+"/") && strings.HasSuffix(pkg, "test")
}

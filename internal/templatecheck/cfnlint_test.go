package templatecheck

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCfnLint runs cfn-lint over template.yaml, which also runs the SAM transform, and every
// infra/*.yaml, in one run (cfn-lint takes seconds to load its schemas), and accepts no errors
// and no warnings. A missing cfn-lint fails the test rather than skipping it, so that a CI image
// without it cannot pass silently.
func TestCfnLint(t *testing.T) {
	t.Parallel() // a slow external tool; the package's other tests run meanwhile
	bin, err := exec.LookPath("cfn-lint")
	if err != nil {
		t.Fatal("cfn-lint is not on PATH; install it with `pip install cfn-lint`")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	args := []string{"template.yaml"}
	for _, name := range sortedKeys(infraTemplates(t)) {
		args = append(args, filepath.Join("infra", name))
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = repoRoot(t)
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "" {
		t.Fatalf("cfn-lint %s (%v):\n%s", strings.Join(args, " "), err, out)
	}
}

package templatecheck

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/policy"
)

// TestExampleConfig checks that the bundled example config parses and documents an
// override for every rule, so that it grows with the rule table.
func TestExampleConfig(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "config", "watchdog.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := policy.Parse(data)
	if err != nil {
		t.Fatalf("config/watchdog.yaml: %v", err)
	}
	if c.Mode != policy.DryRun {
		t.Errorf("the example's default mode is %q; keep it dry-run so copying it acts on nothing", c.Mode)
	}
	for _, r := range detect.Rules() {
		if _, ok := c.Rules[r.ID]; !ok {
			t.Errorf("config/watchdog.yaml has no rules.%s example", r.ID)
		}
	}
}

package templatecheck

import (
	"os"
	"path/filepath"
	"strings"
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
	if len(c.AdminGroups) == 0 || len(c.Detection().AdminGroups) != len(c.AdminGroups) {
		t.Errorf("config/watchdog.yaml shows no admin_groups example reaching detection: %v", c.AdminGroups)
	}
}

// TestAdminGroupsValidation: a name IAM would refuse is an error naming its key.
func TestAdminGroupsValidation(t *testing.T) {
	_, err := policy.Parse([]byte("admin_groups: [Admins, \"ops team\"]\n"))
	if err == nil || !strings.Contains(err.Error(), "admin_groups[1]") {
		t.Errorf("admin_groups with a space: error %v, want one naming admin_groups[1]", err)
	}
	if _, err := policy.Parse([]byte("admin_groups: [Admins, platform-oncall, sec+ops@example.com]\n")); err != nil {
		t.Errorf("valid admin_groups refused: %v", err)
	}
}

package lambdaenv_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/iam-watchdog/iam-watchdog/pkg/lambdaenv"
)

// TestConfigErrorWords: the functions read the config file as the CLI does, so a bad one is
// refused in the config's own words with its file and line, under the variable that named it.
func TestConfigErrorWords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "watchdog.yaml")
	if err := os.WriteFile(path, []byte("mode: dry-run\nrules:\n  root-console-signin:\n    mdoe: auto\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := lambdaenv.Env{ConfigPath: path, StateTable: "t"}.Config()
	want := "WATCHDOG_CONFIG: " + path + `:4: rules.root-console-signin: unknown key "mdoe" (did you mean "mode"?)`
	if err == nil || err.Error() != want {
		t.Errorf("Config() = %v, want %s", err, want)
	}
}

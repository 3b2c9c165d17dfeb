package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

// TestAbsentDirectory: without the peers' cases (they exist only beside this repository) the
// command says what such data is and where to point it, and succeeds.
func TestAbsentDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "no-such-peers")
	var out, errOut bytes.Buffer
	if code := run([]string{dir}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d, want 0; stderr: %s", code, errOut.String())
	}
	for _, want := range []string{"no peer test cases at " + dir, "PEERS_DIR", "Stratus Red Team", "Nothing was measured"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestUnreadableDirectory: a path that exists but holds no readable cases is an error, not the note.
func TestUnreadableDirectory(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"main.go"}, &out, &errOut); code != 2 {
		t.Fatalf("exit %d, want 2; stdout: %s stderr: %s", code, out.String(), errOut.String())
	}
}

package lambdatest

import (
	"bytes"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// TestBuildLinksOncePerCheckout: two packages' tests building the same bootstrap at once each
// get their own copy of one shared file, and a later build (another package's, the next run's)
// finds that file up to date and leaves it alone: not linked, not rewritten.
func TestBuildLinksOncePerCheckout(t *testing.T) {
	const pkg = "./functions/replay"
	root := moduleRoot(t)
	dir := t.TempDir()
	outs := []string{filepath.Join(dir, "a"), filepath.Join(dir, "b"), filepath.Join(dir, "c")}
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() { errs[i] = buildOncePerCheckout(root, pkg, outs[i]) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("build %d: %v", i, err)
		}
	}
	shared := filepath.Join(root, ".tools", "bootstraps", "__functions_replay", "bootstrap")
	// A mode go build never gives marks the file: one written again (linked again) loses it.
	// (go build does touch an up-to-date target's times, so they tell nothing.)
	if err := os.Chmod(shared, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(shared, 0o755) }) // as go build leaves it, for the next reader
	before, err := os.Stat(shared)
	if err != nil {
		t.Fatal(err)
	}
	if err := buildOncePerCheckout(root, pkg, outs[2]); err != nil {
		t.Fatal(err)
	}
	after, err := os.Stat(shared)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) || after.Mode().Perm() != 0o700 {
		t.Errorf("%s was written again (mode %v) although nothing changed: linked once per build, not once per checkout", shared, after.Mode())
	}
	want, err := os.ReadFile(shared)
	if err != nil {
		t.Fatal(err)
	}
	for _, out := range outs {
		got, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is not a copy of %s", out, shared)
		}
		if st, _ := os.Stat(out); os.SameFile(st, after) {
			t.Errorf("%s is the shared file itself, which a later build may replace while it runs", out)
		}
	}
}

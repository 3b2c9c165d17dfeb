package templatecheck

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// fakeTools says, for each pinned requirement of scripts/python-tools.txt, what a stand-in
// wheel provides: the import package and the console scripts the tests look for.
var fakeTools = map[string]struct {
	module  string
	scripts []string
}{
	"moto":               {"moto", []string{"moto_server"}},
	"cfn-lint":           {"cfnlint", []string{"cfn-lint"}},
	"aws-sam-translator": {"samtranslator", nil},
}

// TestMakeToolsInstallsIntoVenv runs the Makefile's real `make tools` where the Python tools
// are not on PATH, as on a stock Debian or Ubuntu (issue 17): in a copy of the Makefile and its
// scripts, with a PATH that keeps a plain python3 (with venv) but hides every directory holding
// moto_server, cfn-lint or a python3 that imports samtranslator. pip is pointed at a local
// directory of tiny wheels built here (PyPI is out of reach in tests), with the names and
// versions the requirements pin and the console scripts the tests need, through
// PIP_INSTALL_FLAGS. make must create .tools/venv, install into it, and resolve every tool
// from it; a second run must find them there and install nothing.
func TestMakeToolsInstallsIntoVenv(t *testing.T) {
	t.Parallel() // venv creation and pip take a while
	makeBin, err := exec.LookPath("make")
	if err != nil {
		t.Fatal("make is not on PATH")
	}
	root := repoRoot(t)
	dir := copyMakeTools(t)

	wheels := t.TempDir()
	for _, req := range pinnedRequirements(t, filepath.Join(root, "scripts", "python-tools.txt")) {
		fake, ok := fakeTools[req.name]
		if !ok {
			t.Fatalf("scripts/python-tools.txt pins %s, for which this test builds no stand-in wheel; add it to fakeTools", req.name)
		}
		writeWheel(t, wheels, req.name, req.version, fake.module, fake.scripts, req.extras)
	}

	path := pathWithoutPythonTools(t)
	env := []string{"PATH=" + path, "HOME=" + t.TempDir(), "PIP_DISABLE_PIP_VERSION_CHECK=1", "PIP_NO_CACHE_DIR=1", "LANG=C.UTF-8"}
	run := func() string {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, makeBin, "-C", dir, "tools", "PIP_INSTALL_FLAGS=--no-index --find-links "+wheels)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("make tools (PATH=%s): %v\n%s", path, err, out)
		}
		return string(out)
	}

	first := run()
	t.Logf("first `make tools`:\n%s", first)
	venv := filepath.Join(dir, ".tools", "venv")
	for _, want := range []string{
		"installing them into " + venv,
		"tools: moto_server   " + filepath.Join(venv, "bin", "moto_server"),
		"tools: cfn-lint      " + filepath.Join(venv, "bin", "cfn-lint"),
		"tools: samtranslator " + venv,
		"(" + filepath.Join(venv, "bin", "python3") + ")",
	} {
		if !strings.Contains(first, want) {
			t.Errorf("first `make tools` does not say %q:\n%s", want, first)
		}
	}
	for _, tool := range []string{"python3", "moto_server", "cfn-lint"} {
		if _, err := os.Stat(filepath.Join(venv, "bin", tool)); err != nil {
			t.Errorf("the venv has no %s: %v", tool, err)
		}
	}
	out, err := exec.Command(filepath.Join(venv, "bin", "moto_server")).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "stand-in moto_server") {
		t.Errorf("the venv's moto_server is not the one installed from the local wheels: %v %s", err, out)
	}

	second := run()
	if strings.Contains(second, "installing") || !strings.Contains(second, "tools: moto_server   "+filepath.Join(venv, "bin", "moto_server")) {
		t.Errorf("second `make tools` should find the tools in the venv and install nothing:\n%s", second)
	}
}

// copyMakeTools copies what `make tools` runs into a new directory, with a stand-in
// aws-lambda-rie: it is go-installed by the same target, make only checks that it exists, and
// building it is not what these tests are about.
func copyMakeTools(t *testing.T) string {
	t.Helper()
	root := repoRoot(t)
	dir := t.TempDir()
	for _, f := range []string{"Makefile", "scripts/python-tools.sh", "scripts/python-tools.txt"} {
		data, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, ".tools"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".tools", "aws-lambda-rie"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestMakeToolsSkipsPyenvShim runs the real `make tools` where moto_server on PATH is a pyenv
// shim (a directory named shims, and a pyenv that says which executable the shim stands for):
// make must link that executable into .tools/bin, where the Makefile's PATH finds it before the
// shim, and say so. When pyenv no longer names one (another Python chosen, moto uninstalled),
// the next run must drop the link and use the shim. Stand-in scripts play pyenv, its shims and
// the tools: what is tested is the Makefile and scripts/python-tools.sh.
func TestMakeToolsSkipsPyenvShim(t *testing.T) {
	t.Parallel()
	makeBin, err := exec.LookPath("make")
	if err != nil {
		t.Fatal("make is not on PATH")
	}
	dir := copyMakeTools(t)
	shims := filepath.Join(t.TempDir(), "shims")
	real := filepath.Join(t.TempDir(), "versions", "3.11", "bin", "moto_server")
	named := filepath.Join(t.TempDir(), "named") // pyenv names real while this file exists
	for path, script := range map[string]string{
		filepath.Join(shims, "moto_server"): "#!/bin/sh\necho shim\n",
		filepath.Join(shims, "cfn-lint"):    "#!/bin/sh\n",
		// present() imports samtranslator and cfnlint; report() prints samtranslator's folder.
		filepath.Join(shims, "python3"): "#!/bin/sh\necho /stand-in/samtranslator\n",
		filepath.Join(shims, "pyenv"):   "#!/bin/sh\n[ \"$1 $2\" = \"which moto_server\" ] && [ -e " + named + " ] && echo " + real + "\n",
		real:                            "#!/bin/sh\necho real\n",
		named:                           "",
	} {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	run := func() string {
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, makeBin, "-C", dir, "tools")
		cmd.Env = []string{"PATH=" + shims + ":/usr/bin:/bin", "HOME=" + t.TempDir(), "LANG=C.UTF-8"}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("make tools: %v\n%s", err, out)
		}
		return string(out)
	}
	link := filepath.Join(dir, ".tools", "bin", "moto_server")

	out := run()
	if got, err := os.Readlink(link); err != nil || got != real {
		t.Errorf("%s links to %q (%v), want %s\n%s", link, got, err, real, out)
	}
	if want := "tools: moto_server   " + link + " -> " + real + " (what the pyenv shim runs)\n"; !strings.Contains(out, want) {
		t.Errorf("make tools does not say %q:\n%s", want, out)
	}

	if err := os.Remove(named); err != nil {
		t.Fatal(err)
	}
	out = run()
	if _, err := os.Lstat(link); !os.IsNotExist(err) {
		t.Errorf("the link outlived pyenv's choice: %v\n%s", err, out)
	}
	if want := "tools: moto_server   " + filepath.Join(shims, "moto_server") + "\n"; !strings.Contains(out, want) {
		t.Errorf("make tools does not say %q:\n%s", want, out)
	}
}

// requirement is one pinned line of a requirements file: name[extras]==version.
type requirement struct {
	name, version string
	extras        []string
}

func pinnedRequirements(t *testing.T, file string) []requirement {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	re := regexp.MustCompile(`^([A-Za-z0-9_.-]+)(?:\[([A-Za-z0-9_,-]+)\])?==([A-Za-z0-9_.+-]+)$`)
	var out []requirement
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		m := re.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("%s: %q is not pinned as name[extras]==version", file, line)
		}
		r := requirement{name: m[1], version: m[3]}
		if m[2] != "" {
			r.extras = strings.Split(m[2], ",")
		}
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("%s pins nothing", file)
	}
	return out
}

// writeWheel writes a minimal pure-Python wheel: an import package whose main() prints that it
// is a stand-in, and console scripts calling it.
func writeWheel(t *testing.T, dir, dist, version, module string, scripts, extras []string) {
	t.Helper()
	norm := strings.NewReplacer("-", "_", ".", "_").Replace(dist)
	info := norm + "-" + version + ".dist-info"
	files := map[string]string{
		module + "/__init__.py": fmt.Sprintf("__version__ = %q\n\ndef main():\n    import os, sys\n    print('stand-in ' + os.path.basename(sys.argv[0]) + ' from a test wheel')\n", version),
		info + "/METADATA":      "Metadata-Version: 2.1\nName: " + dist + "\nVersion: " + version + "\n",
		info + "/WHEEL":         "Wheel-Version: 1.0\nGenerator: iam-watchdog-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
	}
	for _, e := range extras {
		files[info+"/METADATA"] += "Provides-Extra: " + e + "\n"
	}
	if len(scripts) > 0 {
		ep := "[console_scripts]\n"
		for _, s := range scripts {
			ep += s + " = " + module + ":main\n"
		}
		files[info+"/entry_points.txt"] = ep
	}
	var record strings.Builder
	names := sortedKeys(files)
	for _, name := range names {
		sum := sha256.Sum256([]byte(files[name]))
		fmt.Fprintf(&record, "%s,sha256=%s,%d\n", name, base64.RawURLEncoding.EncodeToString(sum[:]), len(files[name]))
	}
	record.WriteString(info + "/RECORD,,\n")
	files[info+"/RECORD"] = record.String()

	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range append(names, info+"/RECORD") {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(files[name])); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, norm+"-"+version+"-py3-none-any.whl"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// pathWithoutPythonTools is the test's PATH without the directories that would make the Python
// tools look installed: those holding moto_server or cfn-lint, or a python3 that can import
// samtranslator or cfnlint (pyenv's shims, a virtualenv). What is left must still hold a
// python3 with the venv module, or the Makefile's venv path cannot be exercised here.
func pathWithoutPythonTools(t *testing.T) string {
	t.Helper()
	var keep []string
	var python string
	for _, d := range filepath.SplitList(os.Getenv("PATH")) {
		if d == "" || slices.ContainsFunc([]string{"moto_server", "cfn-lint"}, func(tool string) bool { return executable(filepath.Join(d, tool)) }) {
			continue
		}
		if py := filepath.Join(d, "python3"); executable(py) {
			if exec.Command(py, "-c", "import samtranslator").Run() == nil || exec.Command(py, "-c", "import cfnlint").Run() == nil {
				continue
			}
			if python == "" {
				python = py
			}
		}
		keep = append(keep, d)
	}
	if python == "" {
		t.Fatal("no python3 on PATH outside the Python tools' environment; this test needs a plain Python 3 with venv (Debian/Ubuntu: apt-get install python3-venv)")
	}
	if err := exec.Command(python, "-c", "import venv, ensurepip").Run(); err != nil {
		t.Fatalf("%s has no venv/ensurepip module (Debian/Ubuntu: apt-get install python3-venv): %v", python, err)
	}
	return strings.Join(keep, string(os.PathListSeparator))
}

func executable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

#!/usr/bin/env bash
# fuzz.sh FUZZTIME PKG...: every fuzz target of the packages for FUZZTIME each (make fuzz).
#
# Go 1.26's fuzzing coordinator can fail a target with a bare "context deadline exceeded" as
# -fuzztime ends, on a loaded machine, with no failing input: a race in the coordinator, not in
# the target (https://go.dev/issue/75804, fixed in Go 1.27). Such a run is tried once more; a run
# that writes a failing input under testdata/fuzz, or fails any other way, fails at once.
#
# The targets are the Fuzz functions of the test files go list names for the package (so build
# constraints hold), read from the source: `go test -list` would link a test binary per package.
# They run with -vet=off (fuzzing needs no vet; make test runs go vet) and -ldflags=-w (no DWARF,
# which only debuggers read: each target's binary links faster).
set -uo pipefail
fuzztime=$1
shift
go=${GO:-go}
# One go list for every package: its import path, its folder and its test files.
pkgs=$("$go" list -f '{{.ImportPath}} {{.Dir}}{{range .TestGoFiles}} {{$.Dir}}/{{.}}{{end}}{{range .XTestGoFiles}} {{$.Dir}}/{{.}}{{end}}' "$@") || exit 1
while read -r pkg dir files; do
	# shellcheck disable=SC2086 # one word per file; go list's paths hold no spaces here
	for f in $([ -n "$files" ] && sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $files); do
		for attempt in 1 2; do
			echo "== $pkg $f"
			before=$(ls "$dir/testdata/fuzz/$f" 2>/dev/null | wc -l)
			# </dev/null: the loop reads the package list from standard input; nothing else may.
			out=$("$go" test -vet=off -ldflags=-w -run '^$' -fuzz "^$f\$" -fuzztime "$fuzztime" "$pkg" 2>&1 </dev/null)
			rc=$?
			printf '%s\n' "$out"
			[ "$rc" -eq 0 ] && break
			after=$(ls "$dir/testdata/fuzz/$f" 2>/dev/null | wc -l)
			if [ "$attempt" -eq 1 ] && [ "$after" -eq "$before" ] &&
				printf '%s\n' "$out" | grep -qx '    context deadline exceeded' &&
				! printf '%s\n' "$out" | grep -q 'Failing input written'; then
				echo "fuzz: $f: the coordinator's deadline race (go.dev/issue/75804), no failing input: once more"
				continue
			fi
			exit 1
		done
	done
done <<<"$pkgs"

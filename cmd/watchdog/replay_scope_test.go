package main

import (
	"strings"
	"testing"
)

// TestReplayScopeFlags checks the new flags' usage errors, and that files pruned by their place
// in the layout are not even opened: a broken file out of scope goes unreported.
func TestReplayScopeFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--jobs", "0"}, "--jobs"},
		{[]string{"--since", "yesterday"}, "--since"},
		{[]string{"--until", "2024-13-01"}, "--until"},
		{[]string{"--since", "2024-05-02", "--until", "2024-05-01"}, "not before"},
		{[]string{"--account", "1234"}, "--account"},
	} {
		r := runCLI(t, "", append(append([]string{"replay"}, tc.args...), eventsDir)...)
		if !isUsage(r.err) || !strings.Contains(r.err.Error(), tc.want) {
			t.Errorf("replay %v: %v, want a usage error about %s", tc.args, r.err, tc.want)
		}
	}

	t.Setenv("XDG_STATE_HOME", t.TempDir())
	dir := t.TempDir()
	in := "AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/01/111122223333_CloudTrail_us-east-1_20240501T1205Z_a.json"
	out := "AWSLogs/111122223333/CloudTrail/us-east-1/2024/04/20/111122223333_CloudTrail_us-east-1_20240420T1205Z_b.json"
	other := "AWSLogs/444455556666/CloudTrail/us-east-1/2024/05/01/444455556666_CloudTrail_us-east-1_20240501T1205Z_c.json"
	writeFile(t, dir, in, []byte(`{"Records":[]}`))
	writeFile(t, dir, out, []byte(`{"Records":[{broken`))
	writeFile(t, dir, other, []byte(`{"Records":[{broken`))
	r := runCLI(t, "", "replay", "--since", "2024-05-01", "--account", "111122223333", dir)
	if r.err != nil || !strings.Contains(r.stderr, "1 inputs") {
		t.Errorf("replay read out-of-scope files: %v\n%s", r.err, r.stderr)
	}
	if r := runCLI(t, "", "replay", dir); !isErrSomeInputs(r.err) || !strings.Contains(r.stderr, "3 inputs") {
		t.Errorf("without a scope, every file is read: %v\n%s", r.err, r.stderr)
	}
}

// TestReplaySummary checks the summary's lines beyond the first: throughput, findings by rule,
// top actors, and the inputs that could not be read.
func TestReplaySummary(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	dir := t.TempDir()
	bad := writeFile(t, dir, "bad.json", []byte(`{"Records":[{"eventName":`))
	r := runCLI(t, "", "replay", "--output", "jsonl", "--config", deploymentConfig, eventsDir, bad)
	if !isErrSomeInputs(r.err) {
		t.Fatalf("replay = %v\n%s", r.err, r.stderr)
	}
	for _, want := range []string{"; 1 unreadable\n", "MB of JSON", "records/s", "findings by rule: ", "top actors: arn:aws:", "could not read: " + bad + "\n"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("summary does not say %q:\n%s", want, r.stderr)
		}
	}
}

package main

import (
	"strings"
	"testing"
)

// TestDemoThread: after the replay, the demo draws one alert's life in a Slack thread: posted
// awaiting approval, reverted, undone, and a repeated click refused; simulated, and saying so.
func TestDemoThread(t *testing.T) {
	s := mustRunDemo(t).stdout
	i := strings.Index(s, "One alert's life in Slack")
	if i < 0 {
		t.Fatalf("no thread section in the demo:\n%s", s)
	}
	thread := s[i:]
	steps := []string{
		"they call no AWS API",
		"╭─ HIGH  Access key created for another user",
		"│ buttons   [ Revert now ] [ Acknowledge ]",
		"status: Reverted by @U0SECLEAD",
		"buttons [ Undo revert ]",
		"✔ @U0SECLEAD pressed Revert now at ",
		"would deactivate access key",
		"status: Undone by @U0SECLEAD",
		"↩ @U0SECLEAD pressed Undo revert at ",
		"would re-activate access key",
		"only @U0SECLEAD sees: Nothing done: Revert now does not apply to an alert that is undone",
	}
	at := 0
	for _, want := range steps {
		j := strings.Index(thread[at:], want)
		if j < 0 {
			t.Fatalf("thread lacks %q after position %d, in order:\n%s", want, at, thread)
		}
		at += j + len(want)
	}
	if strings.Count(thread, "[simulated: the demo calls no AWS API]") != 2 {
		t.Errorf("the simulated revert and undo must each say so:\n%s", thread)
	}

	if strings.Contains(mustRunDemo(t, "--output", "jsonl").stdout, "One alert's life") {
		t.Error("the JSON Lines demo has the thread section in it")
	}
}

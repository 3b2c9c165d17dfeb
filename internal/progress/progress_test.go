package progress

import (
	"bytes"
	"testing"
	"time"

	"github.com/iam-watchdog/iam-watchdog/pkg/cloudtrail"
	"github.com/iam-watchdog/iam-watchdog/pkg/replay"
)

// TestReplayText: one rate, and none before half a second has gone by (a first tick once read
// "186 GB/s").
func TestReplayText(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    replay.Progress
		want string
	}{
		{"first tick", replay.Progress{Read: cloudtrail.ScanStats{Records: 10, Bytes: 186e6}, Elapsed: time.Millisecond}, "0/? inputs, 10 records"},
		{"nothing read yet", replay.Progress{Elapsed: 2 * time.Second, Inputs: 3, Counted: true}, "0/3 inputs, 0 records"},
		{"running", replay.Progress{Done: 1, Inputs: 3, Counted: true, Read: cloudtrail.ScanStats{Records: 7, Bytes: 30e6}, Elapsed: 2 * time.Second}, "1/3 inputs, 7 records, 15.0 MB/s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := replayText(tc.p); got != tc.want {
				t.Fatalf("%q, want %q", got, tc.want)
			}
		})
	}
}

// TestOffWhenNotATerminal: a pipe or a buffer gets no bar, and Problems passes lines through.
func TestOffWhenNotATerminal(t *testing.T) {
	var buf bytes.Buffer
	bar := New(&buf, "", 0)
	bar.Replay(replay.Progress{Elapsed: time.Second})
	bar.Finish()
	if bar.Active() || buf.Len() != 0 {
		t.Fatalf("active %v, wrote %q", bar.Active(), buf.String())
	}
	called := false
	bar.Problems(func(error) { called = true })(nil)
	if !called {
		t.Fatal("Problems dropped a line")
	}
}

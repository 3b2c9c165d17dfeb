package notify

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/iam-watchdog/iam-watchdog/internal/alerttest"
	"github.com/iam-watchdog/iam-watchdog/pkg/alert"
)

func TestConsoleShowsKeyFacts(t *testing.T) {
	tests := []struct {
		name  string
		alert alert.Alert
		want  []string
	}{
		{"planned", alerttest.Planned(), []string{
			"HIGH", "Access key created for another user", "arn:aws:iam::123456789012:user/alice",
			"203.0.113.7", "aws-cli/2.15.0", "2024-05-01T12:30:45Z", "alice created access key",
			"Dry run: would deactivate access key AKIAEXAMPLEKEY000001 of user bob",
			"https://us-east-1.console.aws.amazon.com/cloudtrailv2/home?region=us-east-1#/events/6f1c4a2e-8d3b-4c5e-9a7f-0b1d2e3f4a5b",
			"events-testdata/create-access-key.json",
		}},
		{"done", alerttest.Done(), []string{
			"CRITICAL", "via cloudformation.amazonaws.com", "of arn:aws:iam::123456789012:role/Deployer",
			"Reverted: detached policy", "undo      watchdog undo 0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
		}},
		{"failed", alerttest.Failed(), []string{"MEDIUM", "Failed: could not quarantine user dave", "AccessDenied"}},
		{"root", alerttest.Root(), []string{"CRITICAL", "No automatic action", "manual    No API can undo"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if _, err := NewConsole(&buf).Notify(context.Background(), tt.alert); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("missing %q in\n%s", w, out)
				}
			}
			if strings.Contains(out, "\x1b") {
				t.Errorf("colour codes without ConsoleColor:\n%q", out)
			}
		})
	}
}

func TestConsoleColor(t *testing.T) {
	var buf bytes.Buffer
	if _, err := NewConsole(&buf, ConsoleColor(true)).Notify(context.Background(), alerttest.Planned()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "\x1b[31mHIGH\x1b[0m") {
		t.Errorf("severity not coloured:\n%q", buf.String())
	}
}

// A hostile user agent must not reach the terminal as escape codes or as extra lines.
func TestConsoleCleansAttackerStrings(t *testing.T) {
	var buf bytes.Buffer
	if _, err := NewConsole(&buf).Notify(context.Background(), alerttest.Malicious()); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if strings.ContainsAny(out, "\x1b\u202e\r") {
		t.Errorf("control characters reached the terminal:\n%q", out)
	}
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if !strings.HasPrefix(line, "┌─") && !strings.HasPrefix(line, "│ ") && line != "└─" {
			t.Errorf("line outside the frame (forged by a newline?): %q", line)
		}
	}
	if strings.Contains(out, "console.aws.amazon.com") {
		t.Errorf("link built from a hostile region or event ID:\n%s", out)
	}
}

// Alerts written at once from many goroutines come out whole, one frame after another.
func TestConsoleConcurrent(t *testing.T) {
	var buf bytes.Buffer
	c := NewConsole(&buf)
	const n = 50
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			a := alerttest.Planned()
			a.Finding.EventID = fmt.Sprintf("event-%d", i)
			if _, err := c.Notify(context.Background(), a); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	frames := strings.Split(strings.TrimSuffix(buf.String(), "└─\n"), "└─\n")
	if len(frames) != n {
		t.Fatalf("got %d frames, want %d", len(frames), n)
	}
	for _, f := range frames {
		if !strings.HasPrefix(f, "┌─ HIGH") || strings.Count(f, "┌─") != 1 {
			t.Errorf("interleaved frame:\n%s", f)
		}
	}
}

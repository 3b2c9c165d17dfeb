package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
)

// TestProgressOnATerminal runs the real binary with a pseudo-terminal as standard error, and
// as standard output too or not (issue 17, point 3). When the alerts go to the same terminal the
// bar stays off, so no alert is written into it; when they go elsewhere the bar is drawn, each
// line written to the terminal (a problem, the summary) starts after the bar is cleared, and
// every frame shows one rate, none before there is one worth showing.
func TestProgressOnATerminal(t *testing.T) {
	t.Parallel() // its own environment, in the child's
	bin := buildWatchdog(t)
	bad := writeFile(t, t.TempDir(), "bad.json", []byte(`{"Records":[{"eventName":`))
	args := []string{"replay", "--jobs", "1", "-", bad, filepath.Join(eventsDir, rootNoMFA)}

	t.Run("alerts on the same terminal", func(t *testing.T) {
		term := runOnPTY(t, bin, args, nil)
		if !strings.Contains(term, "root-console-signin") {
			t.Fatalf("no alert on the terminal:\n%q", tail(term))
		}
		if strings.Contains(term, "\x1b[2K") || barText.MatchString(term) {
			t.Fatalf("a bar was drawn beside alerts on the same terminal:\n%q", tail(term))
		}
	})

	t.Run("alerts elsewhere", func(t *testing.T) {
		var alerts bytes.Buffer
		term := runOnPTY(t, bin, args, &alerts)
		if !strings.Contains(alerts.String(), "root-console-signin") {
			t.Fatal("no alert in standard output")
		}
		frames := len(barText.FindAllString(term, -1))
		if frames == 0 {
			t.Fatalf("no bar drawn on the terminal:\n%q", tail(term))
		}
		// Every line the watchdog writes starts a line of its own, or follows a cleared bar.
		for i := 0; ; {
			j := strings.Index(term[i:], "watchdog: ")
			if j < 0 {
				break
			}
			at := i + j
			line := term[strings.LastIndexAny(term[:at], "\n")+1 : at]
			if line != "" && !strings.HasSuffix(line, "\x1b[2K\r") {
				t.Fatalf("a line written into the bar: %q", line+term[at:min(len(term), at+40)])
			}
			i = at + 1
		}
		// One rate per frame, and never more than the whole input over the half second before
		// any rate is shown.
		rates := regexp.MustCompile(`([0-9.]+) (MB|GB)/s`)
		var json float64
		if m := regexp.MustCompile(`read ([0-9.]+) MB of JSON`).FindStringSubmatch(term); m != nil {
			json, _ = strconv.ParseFloat(m[1], 64)
		} else {
			t.Fatalf("no summary:\n%q", tail(term))
		}
		shown := 0
		for _, frame := range strings.Split(term, "\r") {
			if !barText.MatchString(frame) {
				continue
			}
			found := rates.FindAllStringSubmatch(frame, -1)
			if len(found) > 1 {
				t.Fatalf("%d rates in one frame: %q", len(found), frame)
			}
			for _, m := range found {
				shown++
				v, _ := strconv.ParseFloat(m[1], 64)
				if m[2] == "GB" {
					v *= 1000
				}
				if v > json/0.5+0.1 {
					t.Fatalf("rate %s %s/s reading %.1f MB in all: %q", m[1], m[2], json, frame)
				}
			}
		}
		t.Logf("%d frames, %d with a rate", frames, shown)
	})
}

// barText is the text beside replay's bar (the summary says "N inputs, " with no slash).
var barText = regexp.MustCompile(`[0-9]+/([0-9]+|\?) inputs, `)

// runOnPTY runs bin with a pseudo-terminal as standard error and, when stdout is nil, as
// standard output too, and returns what the terminal received.
func runOnPTY(t *testing.T, bin string, args []string, stdout io.Writer) string {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer ptmx.Close()
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 40, Cols: 160}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), bin, args...)
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_STATE_HOME="+home)
	cmd.Stdout, cmd.Stderr = io.Writer(tty), tty
	if stdout != nil {
		cmd.Stdout = stdout
	}
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go paceInput(t, in)
	tty.Close()
	var term bytes.Buffer
	read := make(chan struct{})
	go func() {
		// The read ends with EIO once the child has exited and closed its side.
		_, _ = io.Copy(&term, ptmx)
		close(read)
	}()
	err = cmd.Wait()
	<-read
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 { // the bad input makes it 1
		t.Fatalf("%v, want exit 1 for the bad input\n%q", err, tail(term.String()))
	}
	return term.String()
}

// paceInput writes a quiet event as JSON Lines to w over about 1.2 seconds, in ticks: a replay
// of standard input that lasts long enough for the bar to tick and show a rate.
func paceInput(t *testing.T, w io.WriteCloser) {
	defer w.Close()
	var line bytes.Buffer
	if err := json.Compact(&line, readFile(t, filepath.Join(eventsDir, "other/quiet-describe-instances.json"))); err != nil {
		t.Error(err)
		return
	}
	line.WriteByte('\n')
	chunk := bytes.Repeat(line.Bytes(), 300)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for range 24 {
		<-tick.C
		if _, err := w.Write(chunk); err != nil {
			return // the binary stopped reading; its exit status tells why
		}
	}
}

func tail(s string) string { return s[max(0, len(s)-2000):] }

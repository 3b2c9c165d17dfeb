// Package progress draws a progress bar on standard error, only when it is a terminal that no
// other output shares: logs and pipes get the closing summary alone, and alerts printed to the
// same terminal are never drawn over. `watchdog gen` shows the bytes written, `watchdog replay`
// (and noise) the inputs and records read, `replay --lambda` the batches.
package progress

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/iam-watchdog/iam-watchdog/pkg/fanout"
	"github.com/iam-watchdog/iam-watchdog/pkg/replay"
)

// minRateTime is how long a bar runs before it shows a rate: over the first milliseconds a few
// bytes read make one (a first tick once read "186 GB/s").
const minRateTime = 500 * time.Millisecond

// Bar is a progress bar, drawn only when its writer is a terminal; otherwise every method does
// nothing. The rate beside it is the Bar's own, one figure (the library's are off).
type Bar struct {
	bar   *progressbar.ProgressBar
	what  string
	start time.Time
	// mu holds every drawing, and each problem line written beside the bar (Problems).
	mu    sync.Mutex
	total int64
}

// New is a bar on w for total bytes, described by what. It stays off unless w is a terminal,
// and when any of beside (the command's standard output) is that same terminal: lines printed
// there while it runs would be written into the bar.
func New(w io.Writer, what string, total int64, beside ...io.Writer) *Bar {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return &Bar{}
	}
	for _, b := range beside {
		if sameFile(f, b) {
			return &Bar{}
		}
	}
	return &Bar{what: what, total: total, start: time.Now(), bar: progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowBytes(false),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionSetPredictTime(false), // its rate, not ours
		progressbar.OptionShowDescriptionAtLineEnd(),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetWidth(30),
		progressbar.OptionUseANSICodes(true),
	)}
}

// sameFile says whether w is the file (the terminal device) f is.
func sameFile(f *os.File, w io.Writer) bool {
	g, ok := w.(*os.File)
	if !ok {
		return false
	}
	a, errA := f.Stat()
	b, errB := g.Stat()
	return errA == nil && errB == nil && os.SameFile(a, b)
}

// Set moves the bar to n of its total; a bar with a description of its own (gen) says how many
// bytes of how many, and at what rate.
func (p *Bar) Set(n int64) {
	if p.bar == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.set(n)
}

func (p *Bar) set(n int64) {
	_ = p.bar.Set64(n)
	if p.what != "" {
		p.bar.Describe(fmt.Sprintf("%s %s of %s%s", p.what, replay.Megabytes(n), replay.Megabytes(p.total), rate(n, time.Since(p.start))))
	}
}

// grow changes the total, as more input is found.
func (p *Bar) grow(total int64) {
	p.total = total
	p.bar.ChangeMax64(total)
}

// Finish clears the bar, leaving the line for the summary.
func (p *Bar) Finish() {
	if p.bar != nil {
		p.mu.Lock()
		defer p.mu.Unlock()
		_ = p.bar.Finish()
		_ = p.bar.Clear()
	}
}

// Problems wraps report, which writes a line to the bar's terminal, so that the bar is cleared
// before each line; the next tick draws it again below.
func (p *Bar) Problems(report func(error)) func(error) {
	if p.bar == nil || report == nil {
		return report
	}
	return func(err error) {
		p.mu.Lock()
		defer p.mu.Unlock()
		_ = p.bar.Clear()
		report(err)
	}
}

// Active says whether a bar is drawn.
func (p *Bar) Active() bool { return p.bar != nil }

// rate is ", N MB/s" for n bytes in elapsed, or nothing until there is a rate worth showing.
func rate(n int64, elapsed time.Duration) string {
	if n <= 0 || elapsed < minRateTime {
		return ""
	}
	return ", " + replay.Megabytes(int64(float64(n)/elapsed.Seconds())) + "/s"
}

// Replay draws a replay's progress: the stored bytes read of all the inputs found so far, with
// the inputs done, the records read and the rate of JSON.
func (p *Bar) Replay(r replay.Progress) {
	if p.bar == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.grow(max(r.Total, r.Read.Input+1))
	p.set(r.Read.Input)
	p.bar.Describe(replayText(r))
}

func replayText(r replay.Progress) string {
	of := "?"
	if r.Counted {
		of = fmt.Sprint(r.Inputs)
	}
	what := fmt.Sprintf("%d/%s inputs, %d records%s", r.Done, of, r.Read.Records, rate(r.Read.Bytes, r.Elapsed))
	for _, n := range r.Notes {
		what += "; " + n
	}
	return what
}

// Fanout draws a replay on Lambda's progress: the stored bytes replayed of all those listed so
// far, with the batches done, failed and planned, and the Lambda time spent.
func (p *Bar) Fanout(f fanout.Progress) {
	if p.bar == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.grow(max(f.Planned, f.Read+1))
	p.set(f.Read)
	of := "?"
	if f.Listed {
		of = fmt.Sprint(f.Batches)
	}
	failed := ""
	if f.Failed > 0 {
		failed = fmt.Sprintf(", %d failed", f.Failed)
	}
	p.bar.Describe(fmt.Sprintf("%d/%s batches%s, Lambda %s", f.Done, of, failed, f.Lambda.Round(time.Second)))
}

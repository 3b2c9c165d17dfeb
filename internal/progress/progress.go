// Package progress draws a progress bar on standard error, only when it is a terminal: logs and
// pipes get the closing summary alone. `watchdog gen` shows the bytes written, `watchdog
// replay` (and demo) the inputs and records read.
package progress

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/iam-watchdog/iam-watchdog/pkg/fanout"
	"github.com/iam-watchdog/iam-watchdog/pkg/replay"
)

// Bar is a progress bar, drawn only when its writer is a terminal; otherwise every method does
// nothing.
type Bar struct {
	bar *progressbar.ProgressBar
}

// New is a bar on w for total bytes, described by what.
func New(w io.Writer, what string, total int64) *Bar {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return &Bar{}
	}
	return &Bar{bar: progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowBytes(true),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionShowDescriptionAtLineEnd(),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetWidth(30),
	)}
}

// Set moves the bar to n of its total.
func (p *Bar) Set(n int64) {
	if p.bar != nil {
		_ = p.bar.Set64(n)
	}
}

// Grow changes the total, as more input is found.
func (p *Bar) Grow(total int64) {
	if p.bar != nil {
		p.bar.ChangeMax64(total)
	}
}

// Describe replaces the text beside the bar.
func (p *Bar) Describe(s string) {
	if p.bar != nil {
		p.bar.Describe(s)
	}
}

// Finish clears the bar, leaving the line for the summary.
func (p *Bar) Finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
		_ = p.bar.Clear()
	}
}

// Active says whether a bar is drawn.
func (p *Bar) Active() bool { return p.bar != nil }

// Replay draws a replay's progress: the stored bytes read of all the inputs found so far, with
// the inputs done, the records read and the rate of JSON.
func (p *Bar) Replay(r replay.Progress) {
	p.Grow(max(r.Total, r.Read.Input+1))
	p.Set(r.Read.Input)
	of := "?"
	if r.Counted {
		of = fmt.Sprint(r.Inputs)
	}
	what := fmt.Sprintf("%d/%s inputs, %d records, %.0f MB/s", r.Done, of, r.Read.Records, float64(r.Read.Bytes)/1e6/r.Elapsed.Seconds())
	for _, n := range r.Notes {
		what += "; " + n
	}
	p.Describe(what)
}

// Fanout draws a replay on Lambda's progress: the stored bytes replayed of all those listed so
// far, with the batches done, failed and planned, and the Lambda time spent.
func (p *Bar) Fanout(f fanout.Progress) {
	p.Grow(max(f.Planned, f.Read+1))
	p.Set(f.Read)
	of := "?"
	if f.Listed {
		of = fmt.Sprint(f.Batches)
	}
	failed := ""
	if f.Failed > 0 {
		failed = fmt.Sprintf(", %d failed", f.Failed)
	}
	p.Describe(fmt.Sprintf("%d/%s batches%s, Lambda %s", f.Done, of, failed, f.Lambda.Round(time.Second)))
}

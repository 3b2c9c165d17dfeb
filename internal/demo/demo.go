// Package demo is `watchdog demo`: the bundled example events through the whole pipeline in
// dry-run, with the alerts rendered in the terminal as Slack would show them; then, when
// moto_server is installed, real reverts and their undo against it (the reverts section); then
// one alert's life in a Slack thread, drawn in the terminal (the thread section); and last, with
// moto_server, `watchdog audit` of the moto account the reverts left (the audit section). It
// needs no AWS account or Slack, and brings its own stand-ins for both: production code has no
// demo mode.
package demo

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"sort"

	eventstestdata "github.com/iam-watchdog/iam-watchdog/events-testdata"
	"github.com/iam-watchdog/iam-watchdog/internal/progress"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/notify"
	"github.com/iam-watchdog/iam-watchdog/pkg/policy"
	"github.com/iam-watchdog/iam-watchdog/pkg/remediate"
	"github.com/iam-watchdog/iam-watchdog/pkg/replay"
	"github.com/iam-watchdog/iam-watchdog/pkg/watchdog"
)

// Options say where the demo writes.
type Options struct {
	// Out gets the alerts and the sections; Err the problems and the summary.
	Out, Err io.Writer
	// Alerts renders the dry-run alerts (notify.Console, or notify.JSONL for machines).
	Alerts notify.Sink
	// FindingsOnly stops after the dry-run alerts: machine-readable output holds the findings
	// only.
	FindingsOnly bool
}

// Run runs the demo. It returns replay.ErrSomeInputs when an example event could not be read
// (each such problem is on o.Err), and an error when a section failed.
func Run(ctx context.Context, o Options) error {
	// The configuration the example events' deployment would have: its own role and the
	// quarantine policy its stack created.
	cfg := policy.Default()
	cfg.SelfRoleARNs = []string{eventstestdata.WatchdogRoleARN}
	cfg.QuarantinePolicyARN = eventstestdata.QuarantinePolicyARN
	p := &watchdog.Pipeline{
		Detector:   detect.DefaultWith(cfg.Detection()),
		Config:     cfg,
		Remediator: &remediate.Remediator{QuarantinePolicyARN: cfg.QuarantinePolicyARN},
	}
	ro := replay.Options{Pipeline: p, Output: o.Alerts, Sources: []replay.Source{examples{}}, Jobs: 1,
		Problems: func(err error) { fmt.Fprintf(o.Err, "watchdog: %v\n", err) }}
	bar := progress.New(o.Err, "", 0)
	if bar.Active() {
		ro.Progress = bar.Replay
	}
	s, err := replay.Run(ctx, ro)
	if err != nil {
		return err
	}
	bar.Finish()
	s.Print(o.Err, false)
	if err := s.Err(); err != nil {
		return err
	}
	if o.FindingsOnly {
		return nil
	}
	moto, launchErr := launchMoto(ctx)
	if launchErr == nil {
		defer moto.Stop()
	}
	if err := reverts(ctx, o.Out, moto, launchErr); err != nil {
		return err
	}
	if err := thread(ctx, o.Out); err != nil {
		return err
	}
	if launchErr != nil {
		return nil
	}
	return closingAudit(ctx, o.Out, moto)
}

// examples are the example events bundled with the binary (events-testdata), one input each,
// in the order of their names.
type examples struct{}

// Inputs implements replay.Source.
func (examples) Inputs(context.Context, replay.Scope, bool) iter.Seq2[replay.Input, error] {
	return func(yield func(replay.Input, error) bool) {
		names, err := fs.Glob(eventstestdata.FS, "*/*.json")
		if err != nil {
			yield(replay.Input{Name: "events-testdata"}, err)
			return
		}
		sort.Strings(names)
		for _, n := range names {
			name := n
			if !yield(replay.Input{Name: "events-testdata/" + name, Open: func() (io.ReadCloser, error) { return eventstestdata.FS.Open(name) }}, nil) {
				return
			}
		}
	}
}

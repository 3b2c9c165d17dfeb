package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/iam-watchdog/iam-watchdog/internal/bytesize"
	"github.com/iam-watchdog/iam-watchdog/internal/progress"
	"github.com/iam-watchdog/iam-watchdog/pkg/fanout"
	"github.com/iam-watchdog/iam-watchdog/pkg/notify"
	"github.com/iam-watchdog/iam-watchdog/pkg/replay"
)

// fanoutFlags are replay's flags for running on Lambda (docs/replay.md, "On AWS Lambda").
type fanoutFlags struct {
	lambda, results, batchSize string
	concurrency                int
}

func registerFanout(fs *flag.FlagSet) *fanoutFlags {
	f := &fanoutFlags{}
	fs.StringVar(&f.lambda, "lambda", "", "replay on AWS Lambda: the replay function's name or ARN (infra/replay.yaml)")
	fs.StringVar(&f.results, "results", "", "with --lambda: s3://BUCKET/PREFIX where the batches write their findings")
	fs.IntVar(&f.concurrency, "concurrency", 0, "with --lambda: batches at once (default: half the account's unreserved Lambda concurrency)")
	fs.StringVar(&f.batchSize, "batch-size", "256MiB", "with --lambda: bytes of log files, as stored, per batch")
	return f
}

// run replays the S3 archives paths name on the replay function, with the configuration the
// pipeline flags give, and prints what a local replay prints.
func (f *fanoutFlags) run(ctx context.Context, pf pipelineFlags, paths []string, sc replay.Scope, out notify.Sink, std stdio) error {
	switch {
	case f.results == "":
		return usageError{errors.New("--lambda needs --results s3://BUCKET/PREFIX: where the batches write what they find (the function's RESULTS_BUCKET and RESULTS_PREFIX)")}
	case pf.state != "":
		return usageError{errors.New("--lambda keeps no state: a backtest neither acts nor remembers what it reported (drop --state)")}
	}
	o := fanout.Options{Function: f.lambda, Sources: paths, Scope: sc, Results: f.results, Concurrency: f.concurrency, Output: out, Problems: std.problem}
	var err error
	if o.BatchBytes, err = bytesize.Parse(f.batchSize); err != nil {
		return usageError{fmt.Errorf("--batch-size: %w", err)}
	}
	if err := o.Check(); err != nil {
		return usageError{fmt.Errorf("--lambda: %w", err)}
	}
	if o.Config, err = pf.policyConfig(); err != nil {
		return err
	}
	if o.Config.Acts() {
		return usageError{errors.New("--lambda never acts: add --dry-run to see what this mode would do")}
	}
	awsCfg, err := pf.env(ctx).AWS()
	if err != nil {
		return err
	}
	lc := fanout.NewLambdaClient(awsCfg)
	o.Lambda, o.S3 = lc, replay.NewS3Client(awsCfg)
	if o.Concurrency == 0 {
		var why string
		o.Concurrency, why = fanout.DefaultConcurrency(ctx, lc)
		fmt.Fprintf(std.err, "watchdog: --concurrency %d: %s\n", o.Concurrency, why)
	}
	bar := progress.New(std.err, "", 0, std.out)
	if bar.Active() {
		o.Progress = bar.Fanout
		o.Problems = bar.Problems(o.Problems)
	}
	rep, err := fanout.Run(ctx, o)
	if err != nil {
		return err
	}
	bar.Finish()
	rep.Summary.Print(std.err, true)
	rep.Print(std.err, f.lambda)
	return rep.Summary.Err()
}

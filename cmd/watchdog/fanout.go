package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

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

// lambdaAttempts is how many times the CLI's Lambda client sends one invoke that Lambda
// throttles or fails on its side, with the SDK's backoff, before the batch counts a failure.
const lambdaAttempts = 8

// run replays the S3 archives paths name on the replay function, with the configuration the
// pipeline flags give, and prints what a local replay prints.
func (f *fanoutFlags) run(ctx context.Context, pf pipelineFlags, paths []string, sc replay.Scope, out notify.Sink, std stdio) error {
	for _, p := range paths {
		if !strings.HasPrefix(p, "s3://") {
			return usageError{fmt.Errorf("--lambda reads s3:// archives only, not %q", p)}
		}
	}
	switch {
	case f.results == "":
		return usageError{errors.New("--lambda needs --results s3://BUCKET/PREFIX: where the batches write what they find (the function's RESULTS_BUCKET and RESULTS_PREFIX)")}
	case !strings.HasPrefix(f.results, "s3://"):
		return usageError{fmt.Errorf("--results %q is not s3://BUCKET/PREFIX", f.results)}
	case pf.state != "":
		return usageError{errors.New("--lambda keeps no state: a backtest neither acts nor remembers what it reported (drop --state)")}
	case f.concurrency < 0:
		return usageError{fmt.Errorf("--concurrency %d: want at least 1", f.concurrency)}
	}
	batchBytes, err := parseSize(f.batchSize)
	if err != nil {
		return usageError{fmt.Errorf("--batch-size: %w", err)}
	}
	cfg, err := pf.policyConfig()
	if err != nil {
		return err
	}
	if cfg.Acts() {
		return usageError{errors.New("--lambda never acts: add --dry-run to see what this mode would do")}
	}
	awsCfg, err := pf.env(ctx).AWS()
	if err != nil {
		return err
	}
	lc := lambda.NewFromConfig(awsCfg, func(o *lambda.Options) {
		o.Retryer = retry.AddWithMaxAttempts(o.Retryer, lambdaAttempts)
	})
	concurrency := f.concurrency
	if concurrency == 0 {
		var why string
		concurrency, why = fanout.DefaultConcurrency(ctx, lc)
		fmt.Fprintf(std.err, "watchdog: --concurrency %d: %s\n", concurrency, why)
	}
	o := fanout.Options{Function: f.lambda, Lambda: lc, S3: replay.NewS3Client(awsCfg), Sources: paths, Scope: sc, Config: cfg,
		Results: f.results, Concurrency: concurrency, BatchBytes: batchBytes, Output: out, Problems: std.problem}
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
	printReport(std, f.lambda, rep)
	return rep.Summary.Err()
}

// printReport says what the fan-out did and where its results are.
func printReport(std stdio, function string, rep *fanout.Report) {
	lambdaTime := rep.Lambda.Round(time.Millisecond).String()
	switch {
	case rep.Billed == rep.Invocations:
		lambdaTime += " billed"
	case rep.Billed > 0:
		lambdaTime += fmt.Sprintf(" (billed for %d invocations, measured by the function for the rest)", rep.Billed)
	default:
		lambdaTime += " as the function measured it"
	}
	if rep.Unmeasured > 0 {
		lambdaTime += fmt.Sprintf(", and %d invocations that reported none", rep.Unmeasured)
	}
	fmt.Fprintf(std.err, "watchdog: %d batches on Lambda %s, %d at once: %d invocations, %d retried, %d split, %d failed; Lambda time %s\n",
		rep.Batches, function, rep.Concurrency, rep.Invocations, rep.Retried, rep.Split, rep.Failed, lambdaTime)
	fmt.Fprintf(std.err, "watchdog: the batches' findings are in %s\n", rep.Results)
}

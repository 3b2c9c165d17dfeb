package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/iam-watchdog/iam-watchdog/pkg/clienv"
	"github.com/iam-watchdog/iam-watchdog/pkg/notify"
	"github.com/iam-watchdog/iam-watchdog/pkg/policy"
	"github.com/iam-watchdog/iam-watchdog/pkg/watchdog"
)

// pipelineFlags are the flags of the commands that run the pipeline or talk to AWS with it.
type pipelineFlags struct {
	config, mode, state string
	dryRun, debug       bool
}

func (pf *pipelineFlags) register(fs *flag.FlagSet, withMode bool) {
	fs.StringVar(&pf.config, "config", "", "YAML config file")
	fs.StringVar(&pf.state, "state", "", "state store: a file path or dynamodb://TABLE (default: a local file when acting)")
	fs.BoolVar(&pf.debug, "debug", false, "show the AWS SDK's own log lines (credential lookups, retries) on standard error")
	if withMode {
		fs.StringVar(&pf.mode, "mode", "", "remediation mode: off, dry-run, auto or approve: the default mode and the ceiling of every rule")
		fs.BoolVar(&pf.dryRun, "dry-run", false, "never act: every rule in dry-run at most, whatever the config says (--mode dry-run)")
	}
}

// policyConfig checks --state, loads the config and applies the flags.
func (pf *pipelineFlags) policyConfig() (policy.Config, error) {
	cfg := policy.Default()
	if pf.state == "dynamodb://" {
		return cfg, usageError{clienv.ErrNoTable}
	}
	if pf.config != "" {
		c, err := policy.Load(pf.config)
		if err != nil {
			return cfg, err
		}
		cfg = c
	}
	// --mode and --dry-run are the default and the ceiling of every rule, as REMEDIATION_MODE
	// is in the Lambda: one rule, policy.Config.WithMode.
	if pf.mode != "" {
		m, err := policy.ParseMode(pf.mode)
		if err != nil {
			return cfg, usageError{fmt.Errorf("--mode: %w", err)}
		}
		cfg = cfg.WithMode(m)
	}
	if pf.dryRun {
		cfg = cfg.WithMode(policy.DryRun)
	}
	return cfg, nil
}

// env is the command's AWS environment. With --debug the SDK logs to the process's standard
// error, where its default logger would have written.
func (pf *pipelineFlags) env(ctx context.Context) *clienv.Env {
	if pf.debug {
		return clienv.New(ctx, os.Stderr)
	}
	return clienv.New(ctx, nil)
}

// buildPipeline assembles the pipeline the flags describe (clienv.Env.Pipeline).
func buildPipeline(ctx context.Context, pf pipelineFlags) (*watchdog.Pipeline, error) {
	cfg, err := pf.policyConfig()
	if err != nil {
		return nil, err
	}
	p, err := pf.env(ctx).Pipeline(ctx, cfg, pf.state)
	if err == nil && cfg.Acts() {
		revertToSnapshots(p)
	}
	return p, err
}

func outputSink(kind string, w io.Writer) (notify.Sink, error) {
	switch kind {
	case "text", "":
		return notify.NewConsole(w), nil
	case "jsonl":
		return notify.NewJSONL(w), nil
	}
	return nil, usageError{fmt.Errorf("--output %q: want text or jsonl", kind)}
}

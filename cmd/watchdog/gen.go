package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/iam-watchdog/iam-watchdog/internal/bytesize"
	"github.com/iam-watchdog/iam-watchdog/internal/corpus"
	"github.com/iam-watchdog/iam-watchdog/internal/progress"
	"github.com/iam-watchdog/iam-watchdog/pkg/replay"
)

// runGen writes a synthetic CloudTrail archive for backtests and benchmarks (internal/corpus).
func runGen(_ context.Context, args []string, std stdio) error {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	cfg := corpus.Default(100e6)
	out := fs.String("out", "", "directory to write the archive under (required)")
	fs.Func("size", "uncompressed `SIZE` to aim for: bytes, or with KB, MB, GB (powers of 1000) or KiB, MiB, GiB (default 100MB)",
		func(v string) (err error) { cfg.Bytes, err = bytesize.Parse(v); return err })
	fs.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "random seed: the same seed and flags give the same bytes")
	fs.IntVar(&cfg.Days, "days", cfg.Days, "days of logs")
	fs.Func("start", "first `DAY` (YYYY-MM-DD, UTC) (default "+cfg.Start.Format(time.DateOnly)+")",
		func(v string) (err error) { cfg.Start, err = time.Parse(time.DateOnly, v); return err })
	accounts := fs.String("accounts", strings.Join(cfg.Accounts, ","), "comma-separated account IDs")
	regions := fs.String("regions", strings.Join(cfg.Regions, ","), "comma-separated regions, busiest first")
	fs.Float64Var(&cfg.AlertRate, "alert-rate", cfg.AlertRate, "share of records that are alert- example events (near misses: half as many)")
	jobs := fs.Int("jobs", runtime.NumCPU(), "files written at once")
	if _, err := parseArgs(fs, args, ""); err != nil {
		return err
	}
	if *out == "" {
		return usageError{errors.New("needs --out DIR")}
	}
	if *jobs < 1 {
		return usageError{errors.New("--jobs must be at least 1")}
	}
	cfg.Accounts, cfg.Regions = strings.Split(*accounts, ","), strings.Split(*regions, ",")
	if err := cfg.Validate(); err != nil {
		return usageError{err}
	}
	began := time.Now()
	bar := progress.New(std.err, "generating", cfg.Bytes)
	m, err := corpus.Generate(*out, cfg, *jobs, func(_ int, written int64) { bar.Set(written) })
	bar.Finish()
	if err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	fmt.Fprintf(std.err, "watchdog: wrote %d files, %d records, %s (%s gzipped), %d alerts and %d near misses mixed in, to %s in %s\n",
		m.Files, m.Records, replay.Megabytes(m.Bytes), replay.Megabytes(m.Compressed), m.Alerts, m.NearMisses, *out, time.Since(began).Round(time.Millisecond))
	return nil
}

package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/iam-watchdog/iam-watchdog/internal/corpus"
	"github.com/iam-watchdog/iam-watchdog/internal/progress"
	"github.com/iam-watchdog/iam-watchdog/pkg/replay"
)

// runGen writes a synthetic CloudTrail archive for backtests and benchmarks (internal/corpus).
func runGen(args []string, std stdio) error {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	def := corpus.Default(0)
	out := fs.String("out", "", "directory to write the archive under (required)")
	size := fs.String("size", "100MB", "uncompressed size to aim for: bytes, or with KB, MB, GB (powers of 1000) or KiB, MiB, GiB")
	seed := fs.Uint64("seed", def.Seed, "random seed: the same seed and flags give the same bytes")
	days := fs.Int("days", def.Days, "days of logs")
	start := fs.String("start", def.Start.Format(time.DateOnly), "first day (YYYY-MM-DD, UTC)")
	accounts := fs.String("accounts", strings.Join(def.Accounts, ","), "comma-separated account IDs")
	regions := fs.String("regions", strings.Join(def.Regions, ","), "comma-separated regions, busiest first")
	alertRate := fs.Float64("alert-rate", def.AlertRate, "share of records that are alert- example events (near misses: half as many)")
	jobs := fs.Int("jobs", runtime.NumCPU(), "files written at once")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageError{fmt.Errorf("gen takes no arguments, got %q", rest)}
	}
	if *out == "" {
		return usageError{errors.New("gen needs --out DIR")}
	}
	n, err := parseSize(*size)
	if err != nil {
		return usageError{fmt.Errorf("--size: %w", err)}
	}
	day, err := time.Parse(time.DateOnly, *start)
	if err != nil {
		return usageError{fmt.Errorf("--start: %w", err)}
	}
	if *jobs < 1 {
		return usageError{errors.New("--jobs must be at least 1")}
	}
	cfg := def
	cfg.Seed, cfg.Days, cfg.Start, cfg.Bytes, cfg.AlertRate = *seed, *days, day, n, *alertRate
	cfg.Accounts, cfg.Regions = strings.Split(*accounts, ","), strings.Split(*regions, ",")
	if err := cfg.Validate(); err != nil {
		return usageError{err}
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	began := time.Now()
	bar := progress.New(std.err, "generating", n)
	m, err := corpus.Generate(*out, cfg, *jobs, func(_ int, written int64) { bar.Set(written) })
	bar.Finish()
	if err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	fmt.Fprintf(std.err, "watchdog: wrote %d files, %d records, %s (%s gzipped), %d alerts and %d near misses mixed in, to %s in %s\n",
		m.Files, m.Records, replay.Megabytes(m.Bytes), replay.Megabytes(m.Compressed), m.Alerts, m.NearMisses, *out, time.Since(began).Round(time.Millisecond))
	return nil
}

// parseSize reads 1500000, 1.5MB, 2GiB.
func parseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   float64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1}}
	mult := 1.0
	for _, u := range units {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = v, u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("%q is not a size", s)
	}
	return int64(v * mult), nil
}

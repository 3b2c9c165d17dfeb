package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/notify"
	"github.com/iam-watchdog/iam-watchdog/pkg/policy"
	"github.com/iam-watchdog/iam-watchdog/pkg/remediate"
	"github.com/iam-watchdog/iam-watchdog/pkg/state"
	"github.com/iam-watchdog/iam-watchdog/pkg/watchdog"
)

// pipelineFlags are the flags replay and undo share.
type pipelineFlags struct {
	config, mode, state string
	dryRun              bool
}

func (pf *pipelineFlags) register(fs *flag.FlagSet, withMode bool) {
	fs.StringVar(&pf.config, "config", "", "YAML config file")
	fs.StringVar(&pf.state, "state", "", "state store: a file path or dynamodb://TABLE (default: a local file when acting)")
	if withMode {
		fs.StringVar(&pf.mode, "mode", "", "remediation mode: off, dry-run, auto or approve (overrides the config's default mode)")
		fs.BoolVar(&pf.dryRun, "dry-run", false, "never act: every rule in dry-run, whatever the config says")
	}
}

// policyConfig loads the config and applies the flags.
func (pf *pipelineFlags) policyConfig() (policy.Config, error) {
	cfg := policy.Default()
	if pf.config != "" {
		c, err := policy.Load(pf.config)
		if err != nil {
			return cfg, err
		}
		cfg = c
	}
	if pf.mode != "" {
		m, err := policy.ParseMode(pf.mode)
		if err != nil {
			return cfg, usageError{fmt.Errorf("--mode: %w", err)}
		}
		cfg.Mode = m
	}
	if pf.dryRun {
		cfg.Mode = policy.DryRun
		for id, rc := range cfg.Rules {
			if rc.Mode != "" && rc.Mode != policy.Off {
				rc.Mode = policy.DryRun
				cfg.Rules[id] = rc
			}
		}
	}
	return cfg, nil
}

// acts reports whether any rule would change AWS state under cfg.
func acts(cfg policy.Config) bool {
	if cfg.Mode == policy.Auto || cfg.Mode == policy.Approve {
		return true
	}
	for _, rc := range cfg.Rules {
		if rc.Mode == policy.Auto || rc.Mode == policy.Approve {
			return true
		}
	}
	return false
}

// defaultStatePath is where the CLI keeps its state file unless --state says otherwise.
func defaultStatePath() string {
	dir := os.Getenv("XDG_STATE_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return ".watchdog-state.json"
		}
		dir = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(dir, "iam-watchdog", "state.json")
}

// awsConfig is the SDK's standard configuration (profiles, environment, AWS_ENDPOINT_URL),
// marked with the watchdog's app ID so its own calls are recognised in CloudTrail.
func awsConfig(ctx context.Context) (aws.Config, error) {
	cfg, err := config.LoadDefaultConfig(ctx, config.WithAppID(policy.AppID))
	if err != nil {
		return cfg, fmt.Errorf("aws configuration: %w", err)
	}
	return cfg, nil
}

// openStore opens the store named by --state (a path or dynamodb://TABLE).
func openStore(ctx context.Context, spec string, awsCfg func() (aws.Config, error)) (state.Store, error) {
	if table, ok := strings.CutPrefix(spec, "dynamodb://"); ok {
		if table == "" {
			return nil, usageError{errors.New("--state dynamodb:// needs a table name")}
		}
		cfg, err := awsCfg()
		if err != nil {
			return nil, err
		}
		return &state.DynamoDB{API: dynamodb.NewFromConfig(cfg), Table: table}, nil
	}
	if err := os.MkdirAll(filepath.Dir(spec), 0o700); err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	return state.OpenFile(spec)
}

// remediator builds a remediator acting in the caller's own account. It refuses events from
// other accounts: acting with these credentials there would hit a same-named user here.
func remediator(ctx context.Context, cfg aws.Config, pc policy.Config) (*remediate.Remediator, error) {
	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return nil, fmt.Errorf("who am I (sts GetCallerIdentity): %w", err)
	}
	return &remediate.Remediator{Clients: remediate.NewStatic(cfg, aws.ToString(id.Account)), QuarantinePolicyARN: pc.QuarantinePolicyARN}, nil
}

// buildPipeline assembles the pipeline the flags describe.
func buildPipeline(ctx context.Context, pf pipelineFlags) (*watchdog.Pipeline, error) {
	cfg, err := pf.policyConfig()
	if err != nil {
		return nil, err
	}
	p := &watchdog.Pipeline{Detector: detect.DefaultWith(cfg.Detection()), Config: cfg, Owner: fmt.Sprintf("cli-%d", os.Getpid())}
	var awsCfg *aws.Config
	getAWS := func() (aws.Config, error) {
		if awsCfg == nil {
			c, err := awsConfig(ctx)
			if err != nil {
				return c, err
			}
			awsCfg = &c
		}
		return *awsCfg, nil
	}
	if !acts(cfg) {
		// Dry-run and off need no AWS access: the remediator only describes.
		p.Remediator = &remediate.Remediator{QuarantinePolicyARN: cfg.QuarantinePolicyARN}
		if pf.state != "" {
			if p.Store, err = openStore(ctx, pf.state, getAWS); err != nil {
				return nil, err
			}
		}
		return p, nil
	}
	c, err := getAWS()
	if err != nil {
		return nil, err
	}
	if p.Remediator, err = remediator(ctx, c, cfg); err != nil {
		return nil, err
	}
	spec := pf.state
	if spec == "" {
		spec = defaultStatePath()
	}
	if p.Store, err = openStore(ctx, spec, getAWS); err != nil {
		return nil, err
	}
	return p, nil
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

func replay(ctx context.Context, args []string, io ios) error {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	var pf pipelineFlags
	pf.register(fs, true)
	output := fs.String("output", "text", "text or jsonl")
	jobs := fs.Int("jobs", runtime.NumCPU(), "inputs read at once (findings keep the input order)")
	since := fs.String("since", "", "only events at or after this time (RFC 3339, or a date: midnight UTC)")
	until := fs.String("until", "", "only events before this time (RFC 3339, or a date: midnight UTC)")
	account := fs.String("account", "", "only events in this account")
	region := fs.String("region", "", "only events in this region")
	paths, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(paths) == 0 {
		return usageError{errors.New("replay needs at least one PATH (a file, a directory, s3://bucket/prefix or - for standard input)")}
	}
	if *jobs < 1 {
		return usageError{fmt.Errorf("--jobs %d: want at least 1", *jobs)}
	}
	sc, err := parseScope(*since, *until, *account, *region)
	if err != nil {
		return usageError{err}
	}
	out, err := outputSink(*output, io.out)
	if err != nil {
		return err
	}
	p, err := buildPipeline(ctx, pf)
	if err != nil {
		return err
	}
	var client s3API
	s3Client := func() (s3API, error) {
		if client == nil {
			c, err := newS3(ctx)
			if err != nil {
				return nil, err
			}
			client = c
		}
		return client, nil
	}
	inputs := inputsOf(ctx, paths, io.in, sc, s3Client, false)
	sizes := inputsOf(ctx, paths, io.in, sc, s3Client, true)
	return replayInputs(ctx, p, inputs, out, io.err, replayOptions{jobs: *jobs, scope: sc, details: true, sizes: sizes})
}

// input is one thing to read: a file, an S3 object or standard input.
type input struct {
	name string
	size int64 // bytes as stored, 0 when not known
	open func() (io.ReadCloser, error)
}

// inputsOf expands paths in order: a directory is walked recursively in key order, as S3 lists
// an archive; s3://bucket/prefix lists the objects under it. In a walk or a listing only log
// files are read (eventFile), digest folders are passed over, and folders and files whose place
// in CloudTrail's layout puts them out of scope are never opened. "-" is standard input; files
// named on the command line are always read. Local files' sizes are looked up only when sized
// (for the progress bar); S3 lists them anyway.
func inputsOf(ctx context.Context, paths []string, stdin io.Reader, sc scope, s3Client func() (s3API, error), sized bool) func(yield func(input, error) bool) {
	return func(yield func(input, error) bool) {
		for _, p := range paths {
			if p == "-" {
				if !yield(input{name: "-", open: func() (io.ReadCloser, error) { return io.NopCloser(stdin), nil }}, nil) {
					return
				}
				continue
			}
			if strings.HasPrefix(p, "s3://") {
				api, err := s3Client()
				if err != nil {
					if !yield(input{name: p}, err) {
						return
					}
					continue
				}
				if !s3Inputs(ctx, api, p, sc, yield) {
					return
				}
				continue
			}
			info, err := os.Stat(p)
			if err != nil {
				if !yield(input{name: p}, err) {
					return
				}
				continue
			}
			if !info.IsDir() {
				if !yield(fileInput(p, info.Size()), nil) {
					return
				}
				continue
			}
			if !walk(p, sc, sized, yield) {
				return
			}
		}
	}
}

// walk yields the log files under dir in the order S3 would list their keys: by name, a
// folder's name read with its trailing slash (so a.json comes before a/b.json).
func walk(dir string, sc scope, sized bool, yield func(input, error) bool) bool {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return yield(input{name: dir}, err)
	}
	key := func(e fs.DirEntry) string {
		if e.IsDir() {
			return e.Name() + "/"
		}
		return e.Name()
	}
	slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(key(a), key(b)) })
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		switch {
		case e.IsDir():
			if e.Name() == "CloudTrail-Digest" || sc.prunes(filepath.ToSlash(path)+"/") {
				continue
			}
			if !walk(path, sc, sized, yield) {
				return false
			}
		case e.Type().IsRegular() && eventFile(e.Name()) && !sc.prunes(filepath.ToSlash(path)):
			var size int64
			if sized {
				if info, err := e.Info(); err == nil {
					size = info.Size()
				}
			}
			if !yield(fileInput(path, size), nil) {
				return false
			}
		}
	}
	return true
}

// eventFile says whether a file met in a directory walk holds events, by its name. Files named
// on the command line are always read.
func eventFile(name string) bool {
	name = strings.TrimSuffix(name, ".gz")
	for _, ext := range []string{".json", ".jsonl", ".ndjson"} {
		if strings.HasSuffix(name, ext) {
			return true
		}
	}
	return false
}

func fileInput(path string, size int64) input {
	return input{name: path, size: size, open: func() (io.ReadCloser, error) { return os.Open(path) }}
}

// run replays inputs one at a time, with the short summary: the demo's way.
func run(ctx context.Context, p *watchdog.Pipeline, inputs func(func(input, error) bool), out notify.Sink, stderr io.Writer) error {
	return replayInputs(ctx, p, inputs, out, stderr, replayOptions{jobs: 1})
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
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
		fs.StringVar(&pf.mode, "mode", "", "remediation mode: off, dry-run, auto or approve: the default mode and the ceiling of every rule")
		fs.BoolVar(&pf.dryRun, "dry-run", false, "never act: every rule in dry-run at most, whatever the config says (--mode dry-run)")
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

// remediator builds the remediator the Lambda would: it acts in the caller's own account with
// these credentials and, with member_role_name, in any other account through the member role
// there. Without a member role it refuses events from other accounts: acting with these
// credentials there would hit a same-named user here. It also returns who the caller is.
func remediator(ctx context.Context, cfg aws.Config, pc policy.Config) (*remediate.Remediator, remediate.Caller, error) {
	caller, err := remediate.WhoAmI(ctx, sts.NewFromConfig(cfg))
	if err != nil {
		return nil, caller, err
	}
	rem, err := remediate.New(cfg, caller.Account, pc.MemberRoleName, pc.QuarantinePolicyARN)
	return rem, caller, err
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
			if p.Codec, err = stateCodec(cfg, pf.state, getAWS); err != nil {
				return nil, err
			}
		}
		return p, nil
	}
	c, err := getAWS()
	if err != nil {
		return nil, err
	}
	if p.Remediator, _, err = remediator(ctx, c, cfg); err != nil {
		return nil, err
	}
	spec := pf.state
	if spec == "" {
		spec = defaultStatePath()
	}
	if p.Store, err = openStore(ctx, spec, getAWS); err != nil {
		return nil, err
	}
	if p.Codec, err = stateCodec(cfg, spec, getAWS); err != nil {
		return nil, err
	}
	revertToSnapshots(p)
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

package watchdog

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/notify"
	"github.com/iam-watchdog/iam-watchdog/pkg/policy"
	"github.com/iam-watchdog/iam-watchdog/pkg/remediate"
	"github.com/iam-watchdog/iam-watchdog/pkg/slacksecret"
	"github.com/iam-watchdog/iam-watchdog/pkg/state"
)

// LambdaEnv is the Lambda's configuration. The variable names are a contract with
// template.yaml and the README; secrets are referenced by ARN, never held in the environment.
type LambdaEnv struct {
	SlackSecretARN      string // SLACK_SECRET_ARN: Secrets Manager secret with token and/or webhook_url
	SlackChannel        string // SLACK_CHANNEL: channel for bot-token delivery
	SlackAPIURL         string // SLACK_API_URL: optional Slack Web API base URL override
	RemediationMode     string // REMEDIATION_MODE: off, dry-run, auto or approve; overrides the config file
	StateTable          string // STATE_TABLE: DynamoDB table for idempotency and undo records
	QuarantinePolicyARN string // QUARANTINE_POLICY_ARN: the stack's deny-unless-MFA policy
	RoleARN             string // WATCHDOG_ROLE_ARN: the function's own role, never acted on
	ConfigPath          string // WATCHDOG_CONFIG: optional YAML config file bundled with the function
	MemberRoleName      string // MEMBER_ROLE_NAME: role assumed in other accounts (infra/member-role.yaml); empty acts in this account only
}

// LambdaEnvFrom reads the environment through getenv.
func LambdaEnvFrom(getenv func(string) string) LambdaEnv {
	return LambdaEnv{
		SlackSecretARN:      getenv("SLACK_SECRET_ARN"),
		SlackChannel:        getenv("SLACK_CHANNEL"),
		SlackAPIURL:         getenv("SLACK_API_URL"),
		RemediationMode:     getenv("REMEDIATION_MODE"),
		StateTable:          getenv("STATE_TABLE"),
		QuarantinePolicyARN: getenv("QUARANTINE_POLICY_ARN"),
		RoleARN:             getenv("WATCHDOG_ROLE_ARN"),
		ConfigPath:          configPath(getenv),
		MemberRoleName:      getenv("MEMBER_ROLE_NAME"),
	}
}

// BundledConfig is the config file `make build CONFIG=FILE` (and so `sam build`) puts beside the
// bootstrap in the deployment package.
const BundledConfig = "watchdog.yaml"

// configPath is WATCHDOG_CONFIG, else the bundled config file when the package holds one.
func configPath(getenv func(string) string) string {
	if p := getenv("WATCHDOG_CONFIG"); p != "" {
		return p
	}
	if root := getenv("LAMBDA_TASK_ROOT"); root != "" {
		if p := filepath.Join(root, BundledConfig); fileExists(p) {
			return p
		}
	}
	return ""
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// Config builds the policy configuration: the config file if any, then the environment's
// overrides.
func (e LambdaEnv) Config() (policy.Config, error) {
	cfg := policy.Default()
	if e.ConfigPath != "" {
		c, err := policy.Load(e.ConfigPath)
		if err != nil {
			return cfg, fmt.Errorf("WATCHDOG_CONFIG: %w", err)
		}
		cfg = c
	}
	if e.RemediationMode != "" {
		m, err := policy.ParseMode(e.RemediationMode)
		if err != nil {
			return cfg, fmt.Errorf("REMEDIATION_MODE: %w", err)
		}
		cfg.Mode = m
		if m == policy.Off || m == policy.DryRun {
			// REMEDIATION_MODE off or dry-run is a ceiling, a switch that stops every
			// action whatever a rule in the config file says.
			for id, rc := range cfg.Rules {
				if rc.Mode != "" && rc.Mode != policy.Off {
					rc.Mode = m
					cfg.Rules[id] = rc
				}
			}
		}
	}
	if e.QuarantinePolicyARN != "" {
		cfg.QuarantinePolicyARN = e.QuarantinePolicyARN
	}
	if e.RoleARN != "" {
		cfg.SelfRoleARNs = append(cfg.SelfRoleARNs, e.RoleARN)
	}
	if e.MemberRoleName != "" {
		cfg.MemberRoleName = e.MemberRoleName
	}
	if err := cfg.Validate(detect.Rules()); err != nil {
		return cfg, fmt.Errorf("configuration: %w", err)
	}
	if e.StateTable == "" {
		// A rule set to auto in the config file acts as surely as REMEDIATION_MODE=auto.
		for _, r := range detect.Rules() {
			if rc := cfg.Rules[r.ID]; cfg.ModeFor(r.ID) == policy.Auto && (rc.Enabled == nil || *rc.Enabled) {
				return cfg, fmt.Errorf("auto mode (rule %s) needs STATE_TABLE: every action is recorded so it can be undone", r.ID)
			}
		}
	}
	return cfg, nil
}

// memberQuarantinePolicy is the quarantine policy's name in member accounts: the default of
// infra/member-role.yaml's QuarantinePolicyName.
func (e LambdaEnv) memberQuarantinePolicy() string {
	if e.MemberRoleName == "" {
		return ""
	}
	return "iam-watchdog-quarantine"
}

// account is the function's own account, from its role ARN.
func (e LambdaEnv) account() string {
	if parts := strings.Split(e.RoleARN, ":"); len(parts) >= 5 {
		return parts[4]
	}
	return ""
}

// Remediator acts where the watchdog acts: the function's own account with its own
// credentials, and, with MEMBER_ROLE_NAME, any other account through the member role there.
// Both functions build it here, so that a click in Slack acts exactly as the watchdog would.
func (e LambdaEnv) Remediator(awsCfg aws.Config, cfg policy.Config) (*remediate.Remediator, error) {
	r := &remediate.Remediator{QuarantinePolicyARN: cfg.QuarantinePolicyARN, MemberQuarantinePolicyName: e.memberQuarantinePolicy()}
	switch {
	case e.MemberRoleName == "":
		r.Clients = remediate.NewStatic(awsCfg, e.account())
	case e.account() == "":
		return nil, fmt.Errorf("MEMBER_ROLE_NAME needs WATCHDOG_ROLE_ARN: the function's own account is the one it acts in without assuming a role")
	default:
		r.Clients = remediate.NewAssumeRole(awsCfg, e.account(), e.MemberRoleName, sts.NewFromConfig(awsCfg))
	}
	return r, nil
}

// Halted says why no remediation may run in this deployment (REMEDIATION_MODE off or
// dry-run), or "" when it may.
func (e LambdaEnv) Halted() string {
	if m := policy.Mode(e.RemediationMode); m == policy.Off || m == policy.DryRun {
		return "remediation is switched off in this deployment (REMEDIATION_MODE=" + e.RemediationMode + "), so nothing was reverted"
	}
	return ""
}

// NewLambdaHandler builds the handler once per cold start. awsCfg must carry the watchdog's app
// ID so that its own calls are recognisable in CloudTrail.
func NewLambdaHandler(env LambdaEnv, awsCfg aws.Config, log *slog.Logger) (*Handler, error) {
	cfg, err := env.Config()
	if err != nil {
		return nil, err
	}
	rem, err := env.Remediator(awsCfg, cfg)
	if err != nil {
		return nil, err
	}
	p := &Pipeline{
		Detector:   detect.DefaultWith(cfg.Detection()),
		Config:     cfg,
		Remediator: rem,
		Owner:      "lambda",
		Lease:      2 * time.Minute,
	}
	if env.StateTable != "" {
		p.Store = &state.DynamoDB{API: dynamodb.NewFromConfig(awsCfg), Table: env.StateTable}
	} else {
		log.Warn("STATE_TABLE is not set: redelivered events will be handled again")
	}
	h := &Handler{Pipeline: p, Log: log}
	httpClient := &http.Client{Timeout: 10 * time.Second}
	sm := secretsmanager.NewFromConfig(awsCfg)
	h.Sink = func(ctx context.Context) (notify.Sink, error) {
		if env.SlackSecretARN == "" {
			log.Warn("SLACK_SECRET_ARN is not set: alerts go to the function's log only")
			return notify.NewConsole(os.Stdout), nil
		}
		secret, err := slacksecret.LoadSecret(ctx, sm, env.SlackSecretARN)
		if err != nil {
			return nil, fmt.Errorf("SLACK_SECRET_ARN: %w", err)
		}
		return notify.FromSecret(secret, env.SlackChannel, env.SlackAPIURL, httpClient)
	}
	return h, nil
}

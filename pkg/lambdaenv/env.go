// Package lambdaenv is the deployment's environment, as both Lambda functions read it: the
// variables template.yaml sets (their names are a contract with it and the README), the
// configuration they make with the bundled config file, the remediator that acts where the
// watchdog acts, the state table, and the Slack sink the Slack secret allows.
package lambdaenv

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/iam-watchdog/iam-watchdog/pkg/alert"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/notify"
	"github.com/iam-watchdog/iam-watchdog/pkg/policy"
	"github.com/iam-watchdog/iam-watchdog/pkg/remediate"
	"github.com/iam-watchdog/iam-watchdog/pkg/slacksecret"
	"github.com/iam-watchdog/iam-watchdog/pkg/state"
)

// Env is the functions' environment. The variable names are a contract with template.yaml and
// the README; secrets are referenced by ARN, never held in the environment.
type Env struct {
	SlackSecretARN      string // SLACK_SECRET_ARN: Secrets Manager secret with token and/or webhook_url
	SlackChannel        string // SLACK_CHANNEL: channel for bot-token delivery
	SlackAPIURL         string // SLACK_API_URL: optional Slack Web API base URL override
	RemediationMode     string // REMEDIATION_MODE: off, dry-run, auto or approve; overrides the config file
	StateTable          string // STATE_TABLE: DynamoDB table for idempotency and undo records
	StateKeyARN         string // STATE_KEY_ARN: KMS HMAC key authenticating the table's records; required with STATE_TABLE
	QuarantinePolicyARN string // QUARANTINE_POLICY_ARN: the stack's deny-unless-MFA policy
	RoleARN             string // WATCHDOG_ROLE_ARN: the function's own role, never acted on
	SelfRoleARNs        string // SELF_ROLE_ARNS: both functions' roles, comma-separated: their calls are the watchdog's own
	ConfigPath          string // WATCHDOG_CONFIG: optional YAML config file bundled with the function
	MemberRoleName      string // MEMBER_ROLE_NAME: role assumed in other accounts (infra/member-role.yaml); empty acts in this account only
	RestoreInline       bool   // RESTORE_INLINE_POLICIES: "true" puts overwritten inline policies back to their audit snapshot (snapshots.go)
}

// From reads the environment through getenv.
func From(getenv func(string) string) Env {
	return Env{
		SlackSecretARN:      getenv("SLACK_SECRET_ARN"),
		SlackChannel:        getenv("SLACK_CHANNEL"),
		SlackAPIURL:         getenv("SLACK_API_URL"),
		RemediationMode:     getenv("REMEDIATION_MODE"),
		StateTable:          getenv("STATE_TABLE"),
		StateKeyARN:         getenv("STATE_KEY_ARN"),
		QuarantinePolicyARN: getenv("QUARANTINE_POLICY_ARN"),
		RoleARN:             getenv("WATCHDOG_ROLE_ARN"),
		SelfRoleARNs:        getenv("SELF_ROLE_ARNS"),
		ConfigPath:          configPath(getenv),
		MemberRoleName:      getenv("MEMBER_ROLE_NAME"),
		RestoreInline:       getenv("RESTORE_INLINE_POLICIES") == "true",
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
func (e Env) Config() (policy.Config, error) {
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
		// The default and the ceiling of every rule: off or dry-run stops every action,
		// whatever a rule in the config file says.
		cfg = cfg.WithMode(m)
	}
	if e.QuarantinePolicyARN != "" {
		cfg.QuarantinePolicyARN = e.QuarantinePolicyARN
	}
	if e.RoleARN != "" {
		cfg.SelfRoleARNs = append(cfg.SelfRoleARNs, e.RoleARN)
	}
	selfRoles, err := e.selfRoleARNs()
	if err != nil {
		return cfg, err
	}
	cfg.SelfRoleARNs = append(cfg.SelfRoleARNs, selfRoles...)
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

// selfRoleARNs reads SELF_ROLE_ARNS: IAM role ARNs, comma-separated, each checked, since a
// malformed one would silently recognise nobody.
func (e Env) selfRoleARNs() ([]string, error) {
	if strings.TrimSpace(e.SelfRoleARNs) == "" {
		return nil, nil
	}
	var arns []string
	var errs []error
	for i, a := range strings.Split(e.SelfRoleARNs, ",") {
		a = strings.TrimSpace(a)
		if !policy.IsRoleARN(a) {
			errs = append(errs, fmt.Errorf("SELF_ROLE_ARNS[%d]: %q is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME); the list is comma-separated", i, a))
			continue
		}
		arns = append(arns, a)
	}
	return arns, errors.Join(errs...)
}

// account is the function's own account, from its role ARN.
func (e Env) account() string {
	if parts := strings.Split(e.RoleARN, ":"); len(parts) >= 5 {
		return parts[4]
	}
	return ""
}

// Remediator acts where the watchdog acts: the function's own account with its own
// credentials, and, with MEMBER_ROLE_NAME, any other account through the member role there.
// Both functions build it here, so that a click in Slack acts exactly as the watchdog would.
func (e Env) Remediator(awsCfg aws.Config, cfg policy.Config) (*remediate.Remediator, error) {
	if e.MemberRoleName != "" && e.account() == "" {
		return nil, fmt.Errorf("MEMBER_ROLE_NAME needs WATCHDOG_ROLE_ARN: the function's own account is the one it acts in without assuming a role")
	}
	r, err := remediate.New(awsCfg, e.account(), e.MemberRoleName, cfg.QuarantinePolicyARN)
	if err != nil {
		return nil, err
	}
	if err := e.withSnapshots(r, awsCfg); err != nil {
		return nil, err
	}
	return r, nil
}

// HaltReason says why no remediation may run in this deployment (REMEDIATION_MODE off or
// dry-run), or "" when it may.
func (e Env) HaltReason() string {
	if m := policy.Mode(e.RemediationMode); m == policy.Off || m == policy.DryRun {
		return "remediation is switched off in this deployment (REMEDIATION_MODE=" + e.RemediationMode + "), so nothing was reverted"
	}
	return ""
}

// Store is the state table, or nil when STATE_TABLE is not set.
func (e Env) Store(awsCfg aws.Config) *state.DynamoDB {
	if e.StateTable == "" {
		return nil
	}
	return &state.DynamoDB{API: dynamodb.NewFromConfig(awsCfg), Table: e.StateTable}
}

// Codec is what writes and reads the pieces of authority in the state table's records: every
// record authenticated with STATE_KEY_ARN. The table is shared, and whoever could write an
// unauthenticated record there could choose what a button does, so STATE_TABLE without
// STATE_KEY_ARN is an error.
func (e Env) Codec(awsCfg aws.Config) (alert.Codec, error) {
	switch {
	case e.StateTable == "":
		return alert.Codec{}, nil
	case e.StateKeyARN == "":
		return alert.Codec{}, errors.New("STATE_TABLE is set but STATE_KEY_ARN is not: the shared state table may not hold unauthenticated records (template.yaml passes the stack's StateKey)")
	}
	if err := policy.CheckStateKeyARN(e.StateKeyARN); err != nil {
		return alert.Codec{}, fmt.Errorf("STATE_KEY_ARN: %w", err)
	}
	return alert.Codec{KeyARN: e.StateKeyARN, KMS: kms.NewFromConfig(awsCfg)}, nil
}

// Secret reads the Slack secret SLACK_SECRET_ARN names.
func (e Env) Secret(ctx context.Context, sm slacksecret.SecretsAPI) (slacksecret.Secret, error) {
	if e.SlackSecretARN == "" {
		return slacksecret.Secret{}, errors.New("SLACK_SECRET_ARN is not set")
	}
	s, err := slacksecret.LoadSecret(ctx, sm, e.SlackSecretARN)
	if err != nil {
		return s, fmt.Errorf("SLACK_SECRET_ARN: %w", err)
	}
	return s, nil
}

// AlertSink builds the watchdog function's alert sink on first use: Slack as the secret allows
// (a bot posting to SLACK_CHANNEL, or a webhook), or, without SLACK_SECRET_ARN, the function's
// log. The secret is read when the sink is built, once per cold start.
func (e Env) AlertSink(awsCfg aws.Config, log *slog.Logger) func(ctx context.Context) (notify.Sink, error) {
	httpClient := &http.Client{Timeout: 10 * time.Second}
	sm := secretsmanager.NewFromConfig(awsCfg)
	return func(ctx context.Context) (notify.Sink, error) {
		if e.SlackSecretARN == "" {
			log.Warn("SLACK_SECRET_ARN is not set: alerts go to the function's log only")
			return notify.NewConsole(os.Stdout), nil
		}
		secret, err := e.Secret(ctx, sm)
		if err != nil {
			return nil, err
		}
		return FromSecret(secret, e.SlackChannel, e.SlackAPIURL, httpClient)
	}
}

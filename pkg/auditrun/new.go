package auditrun

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/iam-watchdog/iam-watchdog/pkg/audit"
	"github.com/iam-watchdog/iam-watchdog/pkg/auditstore"
	"github.com/iam-watchdog/iam-watchdog/pkg/lambdaenv"
	"github.com/iam-watchdog/iam-watchdog/pkg/notify"
	"github.com/iam-watchdog/iam-watchdog/pkg/remediate"
	"github.com/iam-watchdog/iam-watchdog/pkg/schedule"
)

// Env is the audit function's environment: the deployment's (pkg/lambdaenv: the Slack secret
// and channel, the state table, the config, the member role, its own role), and where the
// watchdog's parts are for the audit's sight checks. The names are a contract with template.yaml.
type Env struct {
	lambdaenv.Env
	ScheduleARN        string // AUDIT_SCHEDULE_ARN: the only schedule whose invocations are run
	FunctionARN        string // WATCHDOG_FUNCTION_ARN: the watchdog function, whose rules must be enabled
	RuleCount          int    // WATCHDOG_RULE_COUNT: how many rules target it (template.yaml's)
	DeadLetterQueueURL string // DEAD_LETTER_QUEUE_URL: the watchdog's dead-letter queue
}

// EnvFrom reads the environment through getenv.
func EnvFrom(getenv func(string) string) (Env, error) {
	e := Env{
		Env:                lambdaenv.From(getenv),
		ScheduleARN:        getenv("AUDIT_SCHEDULE_ARN"),
		FunctionARN:        getenv("WATCHDOG_FUNCTION_ARN"),
		DeadLetterQueueURL: getenv("DEAD_LETTER_QUEUE_URL"),
	}
	if s := getenv("WATCHDOG_RULE_COUNT"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return e, fmt.Errorf("WATCHDOG_RULE_COUNT: %q is not a count of rules", s)
		}
		e.RuleCount = n
	}
	return e, nil
}

// Sight is where the watchdog's parts are, as this environment says (and, for the CLI, its
// environment: the same names).
func (e Env) Sight(awsCfg aws.Config) audit.Sight {
	s := audit.Sight{FunctionARN: e.FunctionARN, MinRules: e.RuleCount, DeadLetterQueueURL: e.DeadLetterQueueURL, SlackSecretARN: e.SlackSecretARN}
	if e.SlackSecretARN != "" {
		sm := secretsmanager.NewFromConfig(awsCfg)
		s.Slack = audit.Slack{
			ReadToken: func(ctx context.Context) (string, error) {
				secret, err := e.Secret(ctx, sm)
				return secret.Token, err
			},
			APIURL:     slackAPIURL(e.SlackAPIURL),
			HTTPClient: &http.Client{Timeout: notify.DefaultTimeout},
		}
	}
	return s
}

// slackAPIURL ends a Web API base URL with the slash slack-go appends method names to.
func slackAPIURL(u string) string {
	if u == "" {
		return ""
	}
	return strings.TrimSuffix(u, "/") + "/"
}

// Assumer enters member accounts for the audit through the member role, as
// remediate.AuditSessionName, or is nil without a member role (MEMBER_ROLE_NAME, or the config's
// member_role_name). The audit never asks it for the home account, whose clients it holds.
func (e Env) Assumer(awsCfg aws.Config, memberRole string) audit.Assumer {
	if memberRole == "" {
		return nil
	}
	return remediate.NewAssumeRoleAs(awsCfg, e.HomeAccount(), memberRole, remediate.AuditSessionName, sts.NewFromConfig(awsCfg))
}

// New builds the scheduled function's handler once per cold start: the tick runs the audit (when
// due by audit.every) and the findings digest (every time), each posting through one sink.
func New(env Env, awsCfg aws.Config, log *slog.Logger) (*Handler, error) {
	cfg, err := env.Config()
	if err != nil {
		return nil, err
	}
	au, err := audit.New(Options(cfg.Audit, env.Sight(awsCfg)))
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	st := env.Store(awsCfg)
	if st == nil {
		return nil, errors.New("STATE_TABLE is not set: the audit keeps its snapshots and last results there")
	}
	codec, err := env.Codec(awsCfg)
	if err != nil {
		return nil, err
	}
	var every time.Duration
	if cfg.Audit.Every != nil {
		every = *cfg.Audit.Every
	}
	sink := env.ScheduledSink(awsCfg, log)
	job := &Job{
		Auditor: au, Home: audit.NewClients(awsCfg), Assume: env.Assumer(awsCfg, cfg.MemberRoleName), Scope: ScopeOf(cfg.Audit),
		Store: &auditstore.Store{State: st, Codec: codec}, Always: cfg.Audit.DigestAlways, Log: log,
		Digest: func(ctx context.Context) (notify.DigestSink, error) { return sink(ctx) },
	}
	return &Handler{
		Ticker:      &schedule.Ticker{Store: st, Jobs: []schedule.Job{job.Schedule(every), FindingsDigest(st, sink, log)}},
		ScheduleARN: env.ScheduleARN,
		Log:         log,
	}, nil
}

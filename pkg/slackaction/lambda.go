package slackaction

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/lambdaenv"
	"github.com/iam-watchdog/iam-watchdog/pkg/notify"
	"github.com/iam-watchdog/iam-watchdog/pkg/policy"
)

// Env is the slack-actions function's configuration: the watchdog function's environment
// (the same secret, table, config file, roles and quarantine policy, so that a click acts as
// the watchdog would) and the people allowed to click. The names are a contract with
// template.yaml and docs/slack-app.md; secrets are referenced by ARN only.
type Env struct {
	lambdaenv.Env
	Approvers string // SLACK_APPROVERS: Slack user and user group IDs, comma-separated; added to the config's
}

// EnvFrom reads the environment through getenv.
func EnvFrom(getenv func(string) string) Env {
	return Env{Env: lambdaenv.From(getenv), Approvers: getenv("SLACK_APPROVERS")}
}

// Config is the watchdog's configuration with SLACK_APPROVERS added.
func (e Env) Config() (policy.Config, error) {
	cfg, err := e.Env.Config()
	if err != nil {
		return cfg, err
	}
	for _, id := range strings.FieldsFunc(e.Approvers, func(r rune) bool { return r == ',' || r == ' ' }) {
		switch {
		case policy.IsSlackUserID(id):
			cfg.Slack.Approvers = append(cfg.Slack.Approvers, id)
		case policy.IsSlackGroupID(id):
			cfg.Slack.ApproverGroups = append(cfg.Slack.ApproverGroups, id)
		default:
			return cfg, fmt.Errorf("SLACK_APPROVERS: %q is neither a Slack user ID (U…, W…) nor a user group ID (S…)", id)
		}
	}
	return cfg, nil
}

// Function is the Lambda entry point. The Slack secret is read on the first request (and again
// after a failure), not at start-up, so that a missing secret answers 500 rather than crashing
// the runtime.
type Function struct {
	Log  *slog.Logger
	Load func(ctx context.Context) (*Handler, error)

	mu sync.Mutex
	h  *Handler
}

func (f *Function) handler(ctx context.Context) (*Handler, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.h == nil {
		h, err := f.Load(ctx)
		if err != nil {
			return nil, err
		}
		f.h = h
	}
	return f.h, nil
}

// Invoke serves one Function URL request.
func (f *Function) Invoke(ctx context.Context, req events.LambdaFunctionURLRequest) (events.LambdaFunctionURLResponse, error) {
	h, err := f.handler(ctx)
	if err != nil {
		f.Log.ErrorContext(ctx, "slack-actions is not configured", "error", err.Error())
		return respond(http.StatusInternalServerError, "not configured\n"), nil
	}
	owner := "slack-actions"
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		owner = lc.AwsRequestID
	}
	// Slack has been answered 500 already; a Lambda error would only add a retry-less log line.
	resp, _ := h.ServeURL(ctx, req, owner)
	return resp, nil
}

// NewFunction builds the function once per cold start. awsCfg must carry the watchdog's app ID.
func NewFunction(env Env, awsCfg aws.Config, log *slog.Logger) (*Function, error) {
	cfg, err := env.Config()
	if err != nil {
		return nil, err
	}
	if env.SlackSecretARN == "" {
		return nil, errors.New("SLACK_SECRET_ARN is not set: requests cannot be verified without the signing secret")
	}
	if env.StateTable == "" {
		return nil, errors.New("STATE_TABLE is not set: the buttons act on what the state table holds")
	}
	rem, err := env.Remediator(awsCfg, cfg)
	if err != nil {
		return nil, err
	}
	if len(cfg.Slack.Approvers) == 0 && len(cfg.Slack.ApproverGroups) == 0 {
		log.Warn("no approvers are configured (slack.approvers, slack.approver_groups, SLACK_APPROVERS): every click is refused")
	}
	codec, err := env.Codec(awsCfg)
	if err != nil {
		return nil, err
	}
	store := env.Store(awsCfg)
	sm := secretsmanager.NewFromConfig(awsCfg)
	httpClient := &http.Client{Timeout: 5 * time.Second}
	return &Function{Log: log, Load: func(ctx context.Context) (*Handler, error) {
		secret, err := env.Secret(ctx, sm)
		if err != nil {
			return nil, err
		}
		if secret.SigningSecret == "" || secret.Token == "" {
			return nil, fmt.Errorf("SLACK_SECRET_ARN: the secret needs both \"token\" and \"signing_secret\" for the buttons")
		}
		bot, err := notify.NewBotClient(notify.BotConfig{Token: secret.Token, APIURL: env.SlackAPIURL, HTTPClient: httpClient, MaxAttempts: 2})
		if err != nil {
			return nil, err
		}
		return &Handler{
			Store: store, Codec: codec, Detector: detect.DefaultWith(cfg.Detection()), Config: cfg,
			Slack: bot, Remediator: rem, SigningSecret: secret.SigningSecret,
			Approvers: cfg.Slack, Window: cfg.Slack.Window(), Log: log, HaltReason: env.HaltReason(),
		}, nil
	}}, nil
}

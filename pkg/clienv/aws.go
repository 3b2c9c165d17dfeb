// Package clienv is the CLI's environment, as pkg/lambdaenv is the functions': the AWS
// configuration and credentials of the person running it, the state store --state names, and
// the pipeline and undo a command's flags describe.
package clienv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/logging"

	"github.com/iam-watchdog/iam-watchdog/pkg/policy"
)

// ErrNoCredentials says that the SDK found no credentials: what it says is all a person needs.
var ErrNoCredentials = errors.New("no AWS credentials found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run aws sso login")

// Env loads the SDK's configuration once, on first use, for every command that talks to AWS.
type Env struct {
	aws func() (aws.Config, error)
}

// New is the environment of one command. The SDK's own log lines (the IMDS fallback warnings,
// retries) go to debug, and are dropped when it is nil (no --debug).
func New(ctx context.Context, debug io.Writer) *Env {
	return &Env{aws: sync.OnceValues(func() (aws.Config, error) { return AWSConfig(ctx, debug) })}
}

// AWS is the SDK's configuration.
func (e *Env) AWS() (aws.Config, error) { return e.aws() }

// AWSConfig is the SDK's standard configuration (profiles, environment, AWS_ENDPOINT_URL),
// marked with the watchdog's app ID so its own calls are recognised in CloudTrail; the SDK's
// log lines go to debug, or nowhere.
func AWSConfig(ctx context.Context, debug io.Writer) (aws.Config, error) {
	var logger logging.Logger = logging.Nop{}
	var mode aws.ClientLogMode
	if debug != nil {
		// Retries, not requests or responses: those carry session tokens and assumed credentials.
		logger, mode = logging.NewStandardLogger(debug), aws.LogRetries
	}
	cfg, err := config.LoadDefaultConfig(ctx, config.WithAppID(policy.AppID), config.WithLogger(logger), config.WithClientLogMode(mode))
	if err != nil {
		return cfg, fmt.Errorf("aws configuration: %w", err)
	}
	return cfg, nil
}

// Credentials retrieves the credentials the configuration resolves to, and says
// ErrNoCredentials when there are none. Without environment or profile credentials the SDK's
// chain ends at the EC2 instance metadata service, so a failure of that service's client is
// "none" on a laptop (and on an instance without a role). The chain's order:
// https://docs.aws.amazon.com/sdk-for-go/v2/developer-guide/configure-gosdk.html#specifying-credentials
func (e *Env) Credentials(ctx context.Context) error {
	cfg, err := e.aws()
	if err != nil {
		return err
	}
	if cfg.Credentials == nil {
		return ErrNoCredentials
	}
	_, err = cfg.Credentials.Retrieve(ctx)
	var op *smithy.OperationError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &op) && op.ServiceID == imds.ServiceID:
		return ErrNoCredentials
	}
	return fmt.Errorf("aws credentials: %w", err)
}

// With is the environment of a command that loaded the SDK's configuration itself.
func With(cfg aws.Config) *Env {
	return &Env{aws: func() (aws.Config, error) { return cfg, nil }}
}

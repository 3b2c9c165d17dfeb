// Command audit is the scheduled audit function: EventBridge Scheduler invokes it (daily by
// default), and it audits the account's IAM posture, keeps each account's snapshot for
// remediation, and posts one Slack digest of what changed (pkg/auditrun).
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/iam-watchdog/iam-watchdog/pkg/auditrun"
	"github.com/iam-watchdog/iam-watchdog/pkg/policy"
)

func main() {
	log := lambdacontext.NewLogger()
	awsCfg, err := config.LoadDefaultConfig(context.Background(), config.WithAppID(policy.AppID))
	if err != nil {
		log.Error("aws configuration", "error", err.Error())
		os.Exit(1)
	}
	h, err := handler(awsCfg, log)
	if err != nil {
		log.Error("configuration", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(h.Invoke)
}

func handler(awsCfg aws.Config, log *slog.Logger) (*auditrun.Handler, error) {
	env, err := auditrun.EnvFrom(os.Getenv)
	if err != nil {
		return nil, err
	}
	return auditrun.New(env, awsCfg, log)
}

// Command watchdog is the Lambda function: EventBridge delivers one CloudTrail event per
// invocation, and the shared pipeline detects, decides, acts and alerts.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/iam-watchdog/iam-watchdog/pkg/eventhandler"
	"github.com/iam-watchdog/iam-watchdog/pkg/lambdaenv"
	"github.com/iam-watchdog/iam-watchdog/pkg/policy"
)

func main() {
	log := lambdacontext.NewLogger()
	// Clients are built once here and reused by warm invocations. AWS_ENDPOINT_URL and the
	// other standard SDK variables are honoured by LoadDefaultConfig.
	awsCfg, err := config.LoadDefaultConfig(context.Background(), config.WithAppID(policy.AppID))
	if err != nil {
		log.Error("aws configuration", "error", err.Error())
		os.Exit(1)
	}
	h, err := eventhandler.New(lambdaenv.From(os.Getenv), awsCfg, log)
	if err != nil {
		log.Error("configuration", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(h.Invoke)
}

// Command slack-actions is the Lambda behind the Slack app's interactivity URL (a Function
// URL): it verifies each click on an alert's buttons and carries it out (pkg/slackaction).
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/iam-watchdog/iam-watchdog/pkg/policy"
	"github.com/iam-watchdog/iam-watchdog/pkg/slackaction"
)

func main() {
	log := lambdacontext.NewLogger()
	// The app ID marks this function's reverts as the watchdog's own in CloudTrail.
	awsCfg, err := config.LoadDefaultConfig(context.Background(), config.WithAppID(policy.AppID))
	if err != nil {
		log.Error("aws configuration", "error", err.Error())
		os.Exit(1)
	}
	fn, err := slackaction.NewFunction(slackaction.EnvFrom(os.Getenv), awsCfg, log)
	if err != nil {
		log.Error("configuration", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(fn.Invoke)
}

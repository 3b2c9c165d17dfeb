// Command replay is the replay function: each invocation replays one batch of a CloudTrail
// archive's S3 objects, sent by `watchdog replay --lambda`, through the watchdog's pipeline,
// never acting, and writes what it found under the results prefix (pkg/replayhandler).
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/iam-watchdog/iam-watchdog/pkg/policy"
	"github.com/iam-watchdog/iam-watchdog/pkg/replayhandler"
)

func main() {
	log := lambdacontext.NewLogger()
	env, err := replayhandler.EnvFrom(os.Getenv)
	if err != nil {
		log.Error("configuration", "error", err.Error())
		os.Exit(1)
	}
	// AWS_ENDPOINT_URL and the other standard SDK variables are honoured by LoadDefaultConfig.
	awsCfg, err := config.LoadDefaultConfig(context.Background(), config.WithAppID(policy.AppID))
	if err != nil {
		log.Error("aws configuration", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(replayhandler.New(env, awsCfg, log).Invoke)
}

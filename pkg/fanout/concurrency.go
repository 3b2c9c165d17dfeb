package fanout

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

// SafeConcurrency is the concurrency used when the account's limits cannot be read: a hundredth
// of Lambda's default quota of 1,000 concurrent executions per Region, so that a backtest
// cannot starve the account's other functions (the watchdog among them) of theirs.
// Reference: https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
const SafeConcurrency = 10

// DefaultConcurrency is the concurrency a fan-out uses unless told: half of the account's
// unreserved concurrency in the Region (lambda GetAccountSettings), the pool every function
// without reserved concurrency shares, so that they keep the other half; or SafeConcurrency
// when the settings cannot be read. why says which, for the user.
func DefaultConcurrency(ctx context.Context, api LambdaAPI) (n int, why string) {
	out, err := api.GetAccountSettings(ctx, &lambda.GetAccountSettingsInput{})
	if err != nil || out.AccountLimit == nil || out.AccountLimit.UnreservedConcurrentExecutions == nil {
		if err == nil {
			err = fmt.Errorf("no unreserved concurrency in the answer")
		}
		return SafeConcurrency, fmt.Sprintf("a safe default: the account's Lambda concurrency could not be read (lambda GetAccountSettings: %v)", err)
	}
	unreserved := int(aws.ToInt32(out.AccountLimit.UnreservedConcurrentExecutions))
	return max(1, unreserved/2), fmt.Sprintf("half the account's %d unreserved concurrent executions in this Region (lambda GetAccountSettings)", unreserved)
}

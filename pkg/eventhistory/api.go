package eventhistory

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
)

// API is the one CloudTrail call the reader makes. The reader passes one option of its own on
// every call (RetryMaxAttempts 1: it retries itself, so that retries too wait for the rate
// limiter) and calls it from several goroutines at once, as *cloudtrail.Client allows.
type API interface {
	LookupEvents(ctx context.Context, params *cloudtrail.LookupEventsInput, optFns ...func(*cloudtrail.Options)) (*cloudtrail.LookupEventsOutput, error)
}

var _ API = (*cloudtrail.Client)(nil)

// NewClient is a CloudTrail client for region from the SDK's configuration, as
// config.LoadDefaultConfig builds it: credentials and profiles as for any AWS tool, and the
// endpoint from AWS_ENDPOINT_URL_CLOUDTRAIL or AWS_ENDPOINT_URL when set (cfg.BaseEndpoint, or
// the service-specific setting the client resolves itself).
func NewClient(cfg aws.Config, region string) *cloudtrail.Client {
	return cloudtrail.NewFromConfig(cfg, func(o *cloudtrail.Options) { o.Region = region })
}

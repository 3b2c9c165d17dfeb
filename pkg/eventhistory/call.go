package eventhistory

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/smithy-go"

	"github.com/iam-watchdog/iam-watchdog/internal/sleep"
)

// throttlingCode is LookupEvents' answer to a caller over its rate. The SDK has no typed
// error for it on this operation, so it arrives as a smithy.GenericAPIError with this code.
// Reference: https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupEvents.html
const throttlingCode = "ThrottlingException"

// limited is the API as the paginator sees it: every attempt waits for the rate limiter, and
// throttling and transient errors are retried with backoff.
type limited struct {
	r      *Reader
	lookup string
}

// noSDKRetries turns off the client's own retries for one call: they would not wait for the
// limiter.
func noSDKRetries(o *cloudtrail.Options) { o.RetryMaxAttempts = 1 }

func (c *limited) LookupEvents(ctx context.Context, in *cloudtrail.LookupEventsInput, optFns ...func(*cloudtrail.Options)) (*cloudtrail.LookupEventsOutput, error) {
	r := c.r
	optFns = append(optFns, noSDKRetries)
	for attempt := 0; ; attempt++ {
		if err := r.limiter.Wait(ctx); err != nil {
			return nil, err
		}
		out, err := r.api.LookupEvents(ctx, in, optFns...)
		throttled := isThrottling(err)
		r.mu.Lock()
		r.stats.Calls++
		if attempt > 0 {
			r.stats.Retries++
		}
		if throttled {
			r.stats.Throttled++
		}
		if err != nil {
			r.report(c.lookup) // a page's report comes once it is counted (Reader.lookup)
		}
		r.mu.Unlock()
		if err == nil {
			return out, nil
		}
		if !throttled && !transient(err) || ctx.Err() != nil {
			return nil, err
		}
		if attempt >= r.opts.MaxRetries {
			return nil, fmt.Errorf("gave up after %d attempts: %w", attempt+1, err)
		}
		if werr := sleep.For(ctx, backoff(r.opts.Backoff, attempt)); werr != nil {
			return nil, fmt.Errorf("%w, while waiting to retry after: %w", werr, err)
		}
	}
}

func isThrottling(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == throttlingCode
}

// transient is an error the SDK's standard retryer would retry: a broken connection, a 5xx.
func transient(err error) bool {
	return retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err) == aws.TrueTernary
}

// backoff is the wait before retry attempt+1: base doubled per attempt, capped at MaxBackoff,
// then jittered into its upper half so that readers throttled together do not retry together.
func backoff(base time.Duration, attempt int) time.Duration {
	d := base
	for i := 0; i < attempt && d < MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, MaxBackoff)
	return d/2 + rand.N(d/2+1)
}

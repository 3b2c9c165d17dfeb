package remediate

import (
	"context"
	"errors"
	"net"

	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// attempts watches the attempts of one call (the SDK's standard retryer makes up to three) for
// one the service may have acted on without the watchdog learning so: sent and never answered
// (a reset connection, a timeout), or answered with a server error (5xx), which says nothing
// about whether the change was made before the failure. Only an answer that refuses the request
// (4xx: denied, throttled, invalid, not found) says nothing was done. If IAM acted on such an
// attempt, the retry of a detach or a delete meets NoSuchEntity, which is then the answer to
// the watchdog's own change and not a sign that somebody else reverted first.
type attempts struct {
	last  bool // the latest attempt may have been acted on
	acted bool // an attempt before the latest one may have been acted on
}

// middleware runs once per attempt: it is inserted right after the retry middleware.
func (a *attempts) middleware(stack *middleware.Stack) error {
	return stack.Finalize.Insert(middleware.FinalizeMiddlewareFunc("iam-watchdog/attempts",
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			out, md, err := next.HandleFinalize(ctx, in)
			a.acted = a.acted || a.last
			a.last = mayHaveActed(err)
			return out, md, err
		}), "Retry", middleware.After)
}

// watch is an option of an IAM call (optFns).
func (a *attempts) watch(o *iam.Options) { o.APIOptions = append(o.APIOptions, a.middleware) }

// watchTrail is an option of a CloudTrail call.
func (a *attempts) watchTrail(o *cloudtrail.Options) {
	o.APIOptions = append(o.APIOptions, a.middleware)
}

// mayHaveActed reports whether the attempt that ended with err may have been acted on: it was
// sent and got no answer (but not a failure to connect at all), or its answer was a server
// error. A success (nil) is no concern of this: the call's own result says what happened.
func mayHaveActed(err error) bool {
	if err == nil {
		return false
	}
	// A send failure comes wrapped in a ResponseError without a response: look for it first.
	var send *smithyhttp.RequestSendError
	if errors.As(err, &send) {
		var op *net.OpError
		return !errors.As(err, &op) || op.Op != "dial"
	}
	var resp *smithyhttp.ResponseError
	return errors.As(err, &resp) && resp.Response != nil && resp.Response.Response != nil && resp.Response.StatusCode >= 500
}

// ownNoSuchEntity reports whether err, the call's final error, is NoSuchEntity after an attempt
// that may have been acted on: the change the call asked for was made, by the call itself.
func (a *attempts) ownNoSuchEntity(err error) bool {
	return a.acted && isNoSuchEntity(err)
}

// outcome turns the call's final error into Do's: nil for success or for a NoSuchEntity that
// answers the call's own earlier attempt; an error wrapping ErrAlreadyReverted for any other
// NoSuchEntity; and one wrapping ErrMayHaveActed when the call failed after an attempt (the
// last one included) that may have been acted on, so that the caller keeps the undo record.
func (a *attempts) outcome(err error, format string, args ...any) error {
	switch {
	case err == nil, a.ownNoSuchEntity(err):
		return nil
	case !isNoSuchEntity(err) && (a.acted || a.last):
		return wrapMayHaveActed(err, format, args...)
	}
	return wrap(err, format, args...)
}

package remediate

import (
	"context"
	"errors"
	"net"

	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// attempts watches the attempts of one IAM call (the SDK's standard retryer makes up to three)
// for one that went unanswered: sent, but no HTTP response came back (a reset connection, a
// timeout). IAM may have acted on such an attempt; if it did, the retry of a detach or a delete
// meets NoSuchEntity, which is then the answer to the watchdog's own change and not a sign that
// somebody else reverted first.
type attempts struct {
	last       bool // the latest attempt went unanswered
	unanswered bool // an attempt before the latest one went unanswered
}

// watch is an option of the call (optFns): it adds the watching middleware right after the
// retry middleware, where it runs once per attempt.
func (a *attempts) watch(o *iam.Options) {
	o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
		return stack.Finalize.Insert(middleware.FinalizeMiddlewareFunc("iam-watchdog/attempts",
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				out, md, err := next.HandleFinalize(ctx, in)
				a.unanswered = a.unanswered || a.last
				a.last = sentUnanswered(err)
				return out, md, err
			}), "Retry", middleware.After)
	})
}

// sentUnanswered reports whether err says a request was sent and no answer came: the SDK's
// RequestSendError (no HTTP response), other than a failure to connect at all.
func sentUnanswered(err error) bool {
	var send *smithyhttp.RequestSendError
	if !errors.As(err, &send) {
		return false
	}
	var op *net.OpError
	return !errors.As(err, &op) || op.Op != "dial"
}

// ownNoSuchEntity reports whether err, the call's final error, is NoSuchEntity after an
// unanswered attempt: the change the call asked for was made, by the call itself.
func (a *attempts) ownNoSuchEntity(err error) bool {
	return a.unanswered && isNoSuchEntity(err)
}

package remediate

import (
	"errors"
	"fmt"

	"github.com/aws/smithy-go"
)

// ErrAlreadyReverted is wrapped into the error of Apply or Revert when IAM answers
// NoSuchEntity: what the call would change is already gone or already in the wanted state
// (a detached policy, a deleted inline policy or key, a deleted user). Callers treat it as
// "nothing left to do", not as a failure. The IAM error stays in the chain too, so errors.As
// still finds the smithy.APIError.
var ErrAlreadyReverted = errors.New("already reverted or gone")

// ErrMayHaveActed is wrapped into the error of Do, Apply or Revert when the call failed after
// an attempt the service may have acted on: one sent and never answered, or answered with a
// server error (5xx). The change may have been made, so the caller keeps the undo record
// (Apply and Carry return it with this error) and says so, rather than reporting nothing done.
var ErrMayHaveActed = errors.New("the service may have acted before the call failed")

// ErrIrreversible is wrapped into Revert's error for an action that is never undone
// (restart_logging: the watchdog never stops a trail on anyone's behalf).
var ErrIrreversible = errors.New("not reversible")

// accessDeniedCodes are the error codes AWS services use for a missing permission.
var accessDeniedCodes = map[string]bool{
	"AccessDenied":          true, // IAM, STS, S3 (query/XML protocols)
	"AccessDeniedException": true, // CloudTrail and other JSON protocols
	"UnauthorizedOperation": true, // EC2 style
}

// IsAccessDenied reports whether err carries an AWS API error meaning the caller lacks the
// permission: the watchdog's role needs a policy change, and retrying will not help.
func IsAccessDenied(err error) bool {
	var apiErr smithy.APIError
	return errors.As(err, &apiErr) && accessDeniedCodes[apiErr.ErrorCode()]
}

// isNoSuchEntity reports whether err is IAM's NoSuchEntity.
func isNoSuchEntity(err error) bool {
	var apiErr smithy.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode() == "NoSuchEntity"
}

// wrap says what was being done; NoSuchEntity also wraps ErrAlreadyReverted.
func wrap(err error, format string, args ...any) error {
	what := fmt.Sprintf(format, args...)
	if isNoSuchEntity(err) {
		return fmt.Errorf("%s: %w: %w", what, ErrAlreadyReverted, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// wrapMayHaveActed says what was being done, and that it may have been done.
func wrapMayHaveActed(err error, format string, args ...any) error {
	return fmt.Errorf("%s: %w: %w", fmt.Sprintf(format, args...), ErrMayHaveActed, err)
}

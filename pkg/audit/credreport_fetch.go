package audit

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/iam-watchdog/iam-watchdog/internal/sleep"
)

// fetchCredentialReport asks IAM for a credential report and reads it. GenerateCredentialReport
// starts one (or says COMPLETE when a report under four hours old exists); it is called again
// every poll until COMPLETE, for at most wait, as AWS documents:
//
//	https://docs.aws.amazon.com/IAM/latest/APIReference/API_GenerateCredentialReport.html
//
// A GetCredentialReport that still finds the report in progress (ReportInProgress) polls on
// within the same bound.
func fetchCredentialReport(ctx context.Context, api IAMAPI, wait, poll time.Duration) (*CredentialReport, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, wait, fmt.Errorf("credential report not ready after %s", wait))
	defer cancel()
	for {
		gen, err := api.GenerateCredentialReport(ctx, &iam.GenerateCredentialReportInput{})
		if err != nil {
			return nil, fmt.Errorf("generate credential report: %w", waitCause(ctx, err))
		}
		if gen.State == types.ReportStateTypeComplete {
			out, err := api.GetCredentialReport(ctx, &iam.GetCredentialReportInput{})
			var notReady *types.CredentialReportNotReadyException
			switch {
			case errors.As(err, &notReady):
				// Generated, not yet readable: wait like any report in progress.
			case err != nil:
				return nil, fmt.Errorf("get credential report: %w", waitCause(ctx, err))
			default:
				if out.ReportFormat != "" && out.ReportFormat != types.ReportFormatTypeTextCsv {
					return nil, fmt.Errorf("get credential report: format %q, want text/csv", out.ReportFormat)
				}
				report, err := ParseCredentialReport(out.Content)
				if err != nil {
					return nil, fmt.Errorf("parse credential report: %w", err)
				}
				return report, nil
			}
		}
		if err := sleep.For(ctx, poll); err != nil {
			return nil, fmt.Errorf("wait for the credential report (state %s): %w", gen.State, waitCause(ctx, err))
		}
	}
}

// waitCause replaces a deadline error with the cause the wait's context was given, which says
// what was waited for.
func waitCause(ctx context.Context, err error) error {
	if cause := context.Cause(ctx); cause != nil && errors.Is(err, context.DeadlineExceeded) {
		return cause
	}
	return err
}

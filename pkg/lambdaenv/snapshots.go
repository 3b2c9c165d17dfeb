package lambdaenv

import (
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/iam-watchdog/iam-watchdog/pkg/auditstore"
	"github.com/iam-watchdog/iam-watchdog/pkg/remediate"
)

// withSnapshots lets r revert to the audits' snapshots in the state table (pkg/auditstore),
// authenticated with the state key as the alert records are, and, with
// RESTORE_INLINE_POLICIES=true, put an overwritten inline policy back to its snapshot document,
// which needs iam:PutUserPolicy: template.yaml grants it, to the watchdog function alone, only
// with its RestoreInlinePolicies parameter.
func (e Env) withSnapshots(r *remediate.Remediator, awsCfg aws.Config) error {
	r.RestoreInline = e.RestoreInline
	st := e.Store(awsCfg)
	if st == nil {
		return nil
	}
	codec, err := e.Codec(awsCfg)
	if err != nil {
		return err
	}
	r.Snapshots = &auditstore.Store{State: st, Codec: codec}
	return nil
}

// HomeAccount is the function's own account, from its role ARN (WATCHDOG_ROLE_ARN).
func (e Env) HomeAccount() string { return e.account() }

package auditrun

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/iam-watchdog/iam-watchdog/pkg/audit"
	"github.com/iam-watchdog/iam-watchdog/pkg/policy"
	"github.com/iam-watchdog/iam-watchdog/pkg/remediate"
)

// Once audits scope once with awsCfg's credentials, as `watchdog audit` does: with the config's
// audit: keys, the sight checks told where the deployment is by the function's own variables
// (read through getenv), and other accounts entered through the config's member role.
func Once(ctx context.Context, cfg policy.Config, scope Scope, awsCfg aws.Config, getenv func(string) string) (audit.Report, error) {
	env, err := EnvFrom(getenv)
	if err != nil {
		return audit.Report{}, err
	}
	au, err := audit.New(Options(cfg.Audit, env.Sight(awsCfg)))
	if err != nil {
		return audit.Report{}, fmt.Errorf("config: %w", err)
	}
	var assume audit.Assumer
	if cfg.MemberRoleName != "" {
		// The CLI's credentials say nothing of a home account: every account but theirs is entered.
		assume = remediate.NewAssumeRoleAs(awsCfg, "", cfg.MemberRoleName, remediate.AuditSessionName, sts.NewFromConfig(awsCfg))
	}
	return scope.Run(ctx, au, audit.NewClients(awsCfg), assume)
}

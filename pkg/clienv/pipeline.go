package clienv

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/policy"
	"github.com/iam-watchdog/iam-watchdog/pkg/remediate"
	"github.com/iam-watchdog/iam-watchdog/pkg/watchdog"
)

// Pipeline assembles a CLI run's pipeline under cfg. When no rule acts (off, dry-run) it needs
// no AWS and keeps state only in the store spec names, if any. When some rule acts it keeps state
// in spec or the default file and acts with the caller's credentials; with none, every finding
// is still alerted on and each action fails with ErrNoCredentials.
func (e *Env) Pipeline(ctx context.Context, cfg policy.Config, spec string) (*watchdog.Pipeline, error) {
	p := &watchdog.Pipeline{Detector: detect.DefaultWith(cfg.Detection()), Config: cfg, Owner: fmt.Sprintf("cli-%d", os.Getpid())}
	describe := &remediate.Remediator{QuarantinePolicyARN: cfg.QuarantinePolicyARN}
	if !cfg.Acts() {
		// The remediator only describes.
		p.Remediator = describe
		if spec == "" {
			return p, nil
		}
	} else {
		rem, _, err := e.Remediator(ctx, cfg)
		switch {
		case errors.Is(err, ErrNoCredentials) && cfg.StateKeyARN != "":
			return nil, fmt.Errorf("state_key_arn: the state's records are authenticated with KMS: %w", err)
		case errors.Is(err, ErrNoCredentials):
			p.Remediator = noCredentials{describe}
		case err != nil:
			return nil, err
		default:
			p.Remediator = rem
		}
		if spec == "" {
			spec = DefaultStatePath()
		}
	}
	records, err := e.Records(cfg, spec)
	p.Store, p.Codec = records.Store, records.Codec
	return p, err
}

// Remediator builds the remediator the Lambda would: it acts in the caller's own account with
// these credentials and, with member_role_name, in any other account through the member role
// there. Without a member role it refuses events from other accounts: acting with these
// credentials there would hit a same-named user here. It also returns who the caller is.
func (e *Env) Remediator(ctx context.Context, pc policy.Config) (*remediate.Remediator, remediate.Caller, error) {
	if err := e.Credentials(ctx); err != nil {
		return nil, remediate.Caller{}, err
	}
	cfg, err := e.aws()
	if err != nil {
		return nil, remediate.Caller{}, err
	}
	caller, err := remediate.WhoAmI(ctx, sts.NewFromConfig(cfg))
	if err != nil {
		return nil, caller, err
	}
	rem, err := remediate.New(cfg, caller.Account, pc.MemberRoleName, pc.QuarantinePolicyARN)
	return rem, caller, err
}

// noCredentials describes actions as the remediator does and fails each with ErrNoCredentials,
// so that each alert says in one sentence why nothing was done.
type noCredentials struct{ describe *remediate.Remediator }

var _ watchdog.Remediator = noCredentials{}

func (n noCredentials) Describe(a detect.Action) string { return n.describe.Describe(a) }

func (noCredentials) Plan(context.Context, detect.Action) (remediate.Undo, error) {
	return remediate.Undo{}, ErrNoCredentials
}

func (noCredentials) Do(context.Context, remediate.Undo) error { return ErrNoCredentials }

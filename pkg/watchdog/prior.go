package watchdog

import (
	"context"
	"time"

	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/remediate"
)

// priorPlanner plans an action as of the event's time, reverting to the last audit's snapshot
// taken before it (remediate.Remediator.PlanAt).
type priorPlanner interface {
	PlanAt(ctx context.Context, a detect.Action, eventTime time.Time) (remediate.Undo, error)
}

var _ priorPlanner = (*remediate.Remediator)(nil)

// carrier is what act hands remediate.Carry for f: the remediator, planning as of f's event
// time when it can consult the snapshots, and as Plan plans otherwise.
func (p *Pipeline) carrier(f detect.Finding) remediate.Carrier {
	if pp, ok := p.Remediator.(priorPlanner); ok {
		return asOf{Remediator: p.Remediator, plan: pp, at: f.EventTime}
	}
	return p.Remediator
}

// asOf is a Remediator whose Plan is PlanAt at a fixed event time.
type asOf struct {
	Remediator
	plan priorPlanner
	at   time.Time
}

func (a asOf) Plan(ctx context.Context, action detect.Action) (remediate.Undo, error) {
	return a.plan.PlanAt(ctx, action, a.at)
}

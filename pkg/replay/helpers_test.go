package replay

import (
	"bytes"
	"context"
	"testing"

	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/notify"
	"github.com/iam-watchdog/iam-watchdog/pkg/policy"
	"github.com/iam-watchdog/iam-watchdog/pkg/remediate"
	"github.com/iam-watchdog/iam-watchdog/pkg/watchdog"
)

// dryRun is the pipeline `watchdog replay` builds without flags: the built-in rules, dry-run,
// no state.
func dryRun() *watchdog.Pipeline {
	cfg := policy.Default()
	return &watchdog.Pipeline{Detector: detect.DefaultWith(cfg.Detection()), Config: cfg,
		Remediator: &remediate.Remediator{QuarantinePolicyARN: cfg.QuarantinePolicyARN}, Owner: "replay-test"}
}

// replayed is what one replay gave: its JSON Lines, its summary and the problems it was told.
type replayed struct {
	out      string
	summary  *Summary
	problems []string
}

// replayJSONL replays sources with jobs workers in scope, the findings as JSON Lines, and fails
// the test when the replay had to stop.
func replayJSONL(t *testing.T, sources []Source, jobs int, sc Scope) replayed {
	t.Helper()
	var out bytes.Buffer
	var r replayed
	s, err := Run(context.Background(), Options{Pipeline: dryRun(), Output: notify.NewJSONL(&out), Sources: sources, Jobs: jobs, Scope: sc,
		Problems: func(err error) { r.problems = append(r.problems, err.Error()) }})
	if err != nil {
		t.Fatalf("replay: %v", err)
	}
	r.out, r.summary = out.String(), s
	return r
}

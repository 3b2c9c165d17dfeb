// Package noise previews what Slack would receive from an archive of CloudTrail: the archive is
// replayed (pkg/replay: every form, source and scope replay reads) and its findings go through the
// deployed watchdog's own pipeline — the same routing, thresholds, flood control and digest —
// with an in-memory store in place of the state table and a counting sink in place of Slack. No
// message is sent and no AWS API is called (beyond reading s3:// inputs). `watchdog noise` runs
// it; teams run it on last month's logs before deploying, and again after tuning.
package noise

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/iam-watchdog/iam-watchdog/pkg/alert"
	"github.com/iam-watchdog/iam-watchdog/pkg/cloudtrail"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/notify"
	"github.com/iam-watchdog/iam-watchdog/pkg/policy"
	"github.com/iam-watchdog/iam-watchdog/pkg/remediate"
	"github.com/iam-watchdog/iam-watchdog/pkg/render"
	"github.com/iam-watchdog/iam-watchdog/pkg/replay"
	"github.com/iam-watchdog/iam-watchdog/pkg/state"
	"github.com/iam-watchdog/iam-watchdog/pkg/watchdog"
)

// Options shape a preview.
type Options struct {
	Config  policy.Config
	Sources []replay.Source
	Jobs    int
	Scope   replay.Scope
	// Problems is told of what replay could not read, and of records the pipeline failed on.
	Problems func(error)
	Progress func(replay.Progress)
}

// Run replays the sources and reports what Slack would have received. It reads in two passes
// over what the archive holds: replay finds the records a rule reports (in input order, which is
// by account and region before time), then they are handled in the order of their event times,
// each with the pipeline's clock at its time, as the deployed watchdog meets them. Windows,
// thresholds and digest periods are therefore those of the events' own times.
func Run(ctx context.Context, o Options) (*Report, *replay.Summary, error) {
	recs, sum, err := find(ctx, o)
	if err != nil {
		return nil, sum, err
	}
	rep, err := Deliver(ctx, o.Config, recs, o.Problems)
	if err != nil {
		return nil, sum, err
	}
	rep.Records = sum.Records
	return rep, sum, nil
}

// find replays the sources and returns the records a rule reported on, in input order. The
// replay only finds them: every rule is in dry-run, so nothing is acted on or counted as failed.
func find(ctx context.Context, o Options) ([]*cloudtrail.Record, *replay.Summary, error) {
	c := &collector{seen: map[*cloudtrail.Record]bool{}}
	cfg := o.Config
	cfg.Mode, cfg.Rules = policy.DryRun, maps.Clone(cfg.Rules)
	for id, rc := range cfg.Rules {
		if rc.Mode != "" && rc.Mode != policy.Off {
			rc.Mode = policy.DryRun
			cfg.Rules[id] = rc
		}
	}
	p := &watchdog.Pipeline{Detector: detect.DefaultWith(cfg.Detection()), Config: cfg, Owner: "noise",
		Remediator: &remediate.Remediator{QuarantinePolicyARN: cfg.QuarantinePolicyARN}}
	sum, err := replay.Run(ctx, replay.Options{Pipeline: p, Output: c, Sources: o.Sources, Jobs: o.Jobs, Scope: o.Scope,
		Problems: o.Problems, Progress: o.Progress})
	return c.recs, sum, err
}

// collector keeps the records of the findings replay alerted on, once each.
type collector struct {
	recs []*cloudtrail.Record
	seen map[*cloudtrail.Record]bool
}

func (c *collector) Notify(_ context.Context, a alert.Alert) (alert.Delivery, error) {
	if r := a.Finding.Record; r != nil && !c.seen[r] {
		c.seen[r] = true
		c.recs = append(c.recs, r)
	}
	return alert.Delivery{}, nil
}

// Deliver takes records through the pipeline in the order of their event times (input order
// among equals), with routing, thresholds, flood control and the digest as cfg sets them, an
// in-memory store, and a sink that counts what Slack would receive. The pipeline's clock reads
// each record's event time while it is handled. Remediation is rehearsed, never carried out:
// in auto mode a finding is routed as the done revert it would be. problems, if set, is told of
// each record the pipeline failed on.
func Deliver(ctx context.Context, cfg policy.Config, recs []*cloudtrail.Record, problems func(error)) (*Report, error) {
	recs = slices.Clone(recs)
	slices.SortStableFunc(recs, func(a, b *cloudtrail.Record) int { return a.EventTime.Compare(b.EventTime) })
	var now time.Time
	clock := func() time.Time { return now }
	sink := &counter{shared: &counted{}}
	p := &watchdog.Pipeline{
		Detector:   detect.DefaultWith(cfg.Detection()),
		Config:     cfg,
		Remediator: rehearsal{describe: &remediate.Remediator{QuarantinePolicyARN: cfg.QuarantinePolicyARN}},
		Store:      &state.Memory{Now: clock},
		Sink:       sink,
		Owner:      "noise",
		Now:        clock,
	}
	t := newTally(cfg)
	for _, rec := range recs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if !rec.EventTime.IsZero() {
			now = rec.EventTime
		}
		results, err := p.Handle(ctx, rec)
		if err != nil {
			t.failed++
			if problems != nil {
				problems(fmt.Errorf("%s: %w", rec.Pos, err))
			}
		}
		for _, r := range results {
			if r.Alerted && !r.Duplicate {
				t.finding(r)
			}
		}
	}
	digests, err := alert.Digests{Store: p.Store}.Open(ctx)
	if err != nil {
		return nil, err
	}
	for _, d := range digests {
		t.digestMessages += len(d.Channels)
	}
	return t.report(sink), nil
}

// rehearsal carries nothing out: it plans each action as remediate would record it and
// succeeds without an AWS call, so that the preview routes what auto mode would revert as the
// revert it would be.
type rehearsal struct{ describe *remediate.Remediator }

var _ watchdog.Remediator = rehearsal{}

func (r rehearsal) Describe(a detect.Action) string { return r.describe.Describe(a) }

func (rehearsal) Plan(_ context.Context, a detect.Action) (remediate.Undo, error) {
	return remediate.Undo{Action: a.Kind, Account: a.Account, Region: a.Region, UserName: a.UserName, AccessKeyID: a.AccessKeyID,
		PolicyARN: a.PolicyARN, PolicyName: a.PolicyName, Trail: a.Trail}, nil
}

func (rehearsal) Do(context.Context, remediate.Undo) error { return nil }

// counter is Slack as the preview sees it: every message posted, update and thread reply is
// counted, none is sent. The pipeline tells it each finding's route through the Result.
type counter struct {
	channel string // this view's channel, "" for the default
	shared  *counted
}

type counted struct {
	seq     int
	posts   []post
	updates int
	replies int
}

// post is one message Slack would have received at once.
type post struct {
	channel  string
	day      string
	severity detect.Severity
	rule     string
	caller   string
	account  string
}

var (
	_ notify.Threads  = (*counter)(nil)
	_ notify.Channels = (*counter)(nil)
)

func (c *counter) state() *counted { return c.shared }

// Notify counts a message posted at once.
func (c *counter) Notify(_ context.Context, a alert.Alert) (alert.Delivery, error) {
	s := c.state()
	s.seq++
	f := a.Finding
	s.posts = append(s.posts, post{channel: channelName(c.channel), day: day(f.EventTime), severity: f.Severity, rule: f.Rule,
		caller: policy.Caller(f.Actor), account: f.Account})
	return alert.Delivery{Channel: channelName(c.channel), TS: fmt.Sprintf("%d.%06d", 1, s.seq)}, nil
}

// Update counts a message brought up to date.
func (c *counter) Update(context.Context, alert.Delivery, alert.Alert) error {
	c.state().updates++
	return nil
}

// Reply counts a thread reply.
func (c *counter) Reply(context.Context, alert.Delivery, render.FollowUp) error {
	c.state().replies++
	return nil
}

// In is the view of the counter posting to channel.
func (c *counter) In(channel string) notify.Sink {
	return &counter{channel: channel, shared: c.state()}
}

// DefaultChannel names the default channel (SLACK_CHANNEL) in the report.
const DefaultChannel = "default"

func channelName(c string) string { return cmp.Or(c, DefaultChannel) }

// day is the UTC date of t, "unknown" for a record without a time.
func day(t time.Time) string {
	if t.IsZero() {
		return "unknown"
	}
	return t.UTC().Format(time.DateOnly)
}

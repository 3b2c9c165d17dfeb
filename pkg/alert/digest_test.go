package alert

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/state"
)

func TestDigestEntries(t *testing.T) {
	ctx := context.Background()
	store := &state.Memory{}
	d := Digests{Store: store}
	day := time.Date(2024, 5, 2, 0, 0, 0, 0, time.UTC)
	add := func(channel, key, caller string, f detect.Finding) {
		t.Helper()
		if err := d.Add(ctx, day, 24*time.Hour, channel, key, caller, f); err != nil {
			t.Fatal(err)
		}
	}
	denied := func(i int, sev detect.Severity) detect.Finding {
		return detect.Finding{Rule: "unauthorized-api-calls", Category: "unauthorized_api_calls", Severity: sev, Account: "123456789012",
			EventID: fmt.Sprintf("ev-%d", i), EventTime: day.Add(time.Duration(i) * time.Minute)}
	}
	const agent = "arn:aws:iam::123456789012:user/backup-agent"
	for i := range 5 {
		add("", fmt.Sprintf("ev-%d#unauthorized-api-calls", i), agent, denied(i, detect.Low))
	}
	add("", "ev-3#unauthorized-api-calls", agent, denied(3, detect.Low)) // a retried invocation
	add("", "ev-9#unauthorized-api-calls", agent, denied(9, detect.Medium))
	add("", "ev-10#iam-user-created", "arn:aws:iam::123456789012:user/alice",
		detect.Finding{Rule: "iam-user-created", Category: "iam_user_created", Severity: detect.Low, EventID: "ev-10", EventTime: day.Add(time.Hour)})
	add("C0DIGEST", "ev-11#iam-user-created", "arn:aws:iam::123456789012:user/alice",
		detect.Finding{Rule: "iam-user-created", Category: "iam_user_created", Severity: detect.Low, EventID: "ev-11", EventTime: day.Add(time.Hour)})

	got, err := d.Read(ctx, day, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Groups) != 2 {
		t.Fatalf("%d groups, want 2: %+v", len(got.Groups), got.Groups)
	}
	g := got.Groups[0] // the worst first
	if g.Category != "unauthorized_api_calls" || g.Caller != agent || g.Count != 6 || g.Severities["low"] != 5 || g.Severities["medium"] != 1 || g.Worst() != detect.Medium {
		t.Errorf("group %+v: want the agent's 6 denied calls, 5 low and 1 medium", g)
	}
	if len(g.Examples) != DigestExamples || g.Examples[0].EventID != "ev-9" || g.Examples[1].EventID != "ev-0" {
		t.Errorf("examples %+v: want the medium one first, then the earliest", g.Examples)
	}
	if !g.FirstAt.Equal(day) || !g.LastAt.Equal(day.Add(9*time.Minute)) {
		t.Errorf("first %s last %s", g.FirstAt, g.LastAt)
	}
	open, err := d.Open(ctx)
	if err != nil || len(open) != 1 || !open[0].Start.Equal(day) || len(open[0].Channels) != 2 || !open[0].End().Equal(day.Add(24*time.Hour)) {
		t.Fatalf("open digests %+v, %v: want one period with both channels", open, err)
	}
	for i := range DigestShards {
		e, err := store.Get(ctx, DigestKey(day, "", i))
		if err == nil && !e.ExpiresAt.Equal(day.Add(24*time.Hour+DigestKeep)) {
			t.Errorf("shard %d expires %s, want %s after the period", i, e.ExpiresAt, DigestKeep)
		}
	}

	// Posting: claimed once, then closed; a second claim finds it posted.
	claim, err := d.ClaimPost(ctx, day, "", "run-1", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.ClaimPost(ctx, day, "", "run-2", time.Minute); !errors.Is(err, state.ErrBusy) {
		t.Fatalf("a second run claimed a digest being posted: %v", err)
	}
	if err := d.Posted(ctx, claim, day, "", Delivery{Channel: "C0SECURITY", TS: "1.1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.ClaimPost(ctx, day, "", "run-2", time.Minute); !errors.Is(err, ErrDigestPosted) {
		t.Fatalf("a posted digest was claimed again: %v", err)
	}
	if open, _ := d.Open(ctx); len(open) != 1 || len(open[0].Channels) != 1 || open[0].Channels[0] != "C0DIGEST" {
		t.Errorf("open after posting the default channel's: %+v", open)
	}
	if err := d.Close(ctx, day, "C0DIGEST"); err != nil {
		t.Fatal(err)
	}
	if open, _ := d.Open(ctx); len(open) != 0 {
		t.Errorf("open after posting both: %+v", open)
	}
}

// Callers beyond a shard's room are counted by category, never dropped.
func TestDigestOverflow(t *testing.T) {
	ctx := context.Background()
	d := Digests{Store: &state.Memory{}}
	day := time.Date(2024, 5, 2, 0, 0, 0, 0, time.UTC)
	const callers = DigestShards*MaxDigestGroups + 150
	for i := range callers {
		f := detect.Finding{Rule: "unauthorized-api-calls", Category: "unauthorized_api_calls", Severity: detect.Low, EventID: fmt.Sprintf("ev-%d", i)}
		if err := d.Add(ctx, day, 24*time.Hour, "", f.EventID+"#r", fmt.Sprintf("caller-%d", i), f); err != nil {
			t.Fatal(err)
		}
	}
	got, err := d.Read(ctx, day, "")
	if err != nil {
		t.Fatal(err)
	}
	counted := got.Overflow["unauthorized_api_calls"]
	for _, g := range got.Groups {
		counted += g.Count
	}
	if counted != callers || len(got.Groups) > DigestShards*MaxDigestGroups || got.Overflow["unauthorized_api_calls"] == 0 {
		t.Errorf("%d findings counted in %d groups and %v overflow; want all %d", counted, len(got.Groups), got.Overflow, callers)
	}
}

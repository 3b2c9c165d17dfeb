package replay

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/eventhistory"
)

// A region named twice is read under one rate limiter (LookupEvents' quota is the account's and
// the region's), another region under its own; a name that is not a region is an input that
// cannot be read.
func TestHistorySources(t *testing.T) {
	var notes []string
	h := &History{Plan: eventhistory.NewPlan(detect.Rules()),
		Config: func(context.Context) (aws.Config, error) { return aws.Config{}, nil },
		Notes:  func(s string) { notes = append(notes, s) }}
	srcs := Locator{History: h}.Sources([]string{"cloudtrail://us-east-1", "cloudtrail://eu-west-1", "cloudtrail://us-east-1", "cloudtrail://Mars"})
	if len(srcs) != 4 {
		t.Fatalf("%d sources, want 4", len(srcs))
	}
	a, b, c := srcs[0].(historySource), srcs[1].(historySource), srcs[2].(historySource)
	if a.limiter == nil || a.limiter != c.limiter || a.limiter == b.limiter {
		t.Errorf("limiters: us-east-1 %p and %p, eu-west-1 %p; want us-east-1's shared, eu-west-1's its own", a.limiter, c.limiter, b.limiter)
	}
	for in, err := range srcs[3].Inputs(t.Context(), Scope{}, false) {
		if err == nil || in.Name != "cloudtrail://Mars" {
			t.Errorf("cloudtrail://Mars: input %q, error %v; want it unreadable", in.Name, err)
		}
	}
	if len(notes) == 0 {
		t.Error("no note of the rules Event history skips")
	}
}

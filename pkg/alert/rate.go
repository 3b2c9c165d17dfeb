package alert

import (
	"slices"
	"time"
)

// Thresholds: a rule with a threshold (policy.Limit) counts each caller's findings over a sliding
// window on the threshold's index, RateKey(rule, account, caller). Below the count they go to
// the digest. The finding that brings the window to the count leads a burst on the same index,
// as a flood index names one: its message counts and lists the window's findings, and the
// caller's next findings join it. Counting and taking the lead are one conditional write, so of
// many invocations counting at once exactly one reaches the count, and no count is lost.

// RateKey is the store key of the threshold index of a rule and caller in an account.
func RateKey(rule, account, caller string) string {
	return "rate#" + rule + "#" + account + "#" + caller
}

// Rate is the window of one caller's findings of one rule not yet posted, oldest first.
type Rate struct {
	Counted []Counted `json:"counted"`
}

// Counted is one finding in a threshold's window. Only the latest MaxListed keep their event:
// they are what the message lists.
type Counted struct {
	Key   string    `json:"key"`
	At    time.Time `json:"at"`
	Event *Member   `json:"event,omitempty"`
}

// Count counts the finding key (its event m) at now in the threshold window of count findings
// within window, and reports whether the window now holds the count: the finding reaches the
// threshold and leads its message, which Before describes; SetMessage empties the window once
// the message is posted. A finding counted before (its invocation was retried) is not counted
// again. Findings older than the window are forgotten; the index expires a day after its last
// finding.
func (e *Entry) Count(key string, m Member, now time.Time, count int, window time.Duration) (reached bool) {
	r := e.Rate
	if r == nil {
		r = &Rate{}
	}
	e.Rate = r
	r.Counted = slices.DeleteFunc(r.Counted, func(c Counted) bool { return !now.Before(c.At.Add(window)) })
	if slices.ContainsFunc(r.Counted, func(c Counted) bool { return c.Key == key }) {
		return false
	}
	r.Counted = append(r.Counted, Counted{Key: key, At: now, Event: &m})
	if n := len(r.Counted) - MaxListed; n > 0 {
		r.Counted[n-1].Event = nil
	}
	if expires := now.Add(window + 24*time.Hour); expires.After(e.ExpiresAt) {
		e.ExpiresAt = expires
	}
	return len(r.Counted) >= count
}

// Before is what the window held besides the leader's finding when it reached the count: the
// events kept of the others, oldest first, and how many others there were.
func (r *Rate) Before(leader string) (events []Member, counted int) {
	if r == nil {
		return nil, 0
	}
	for _, c := range r.Counted {
		if c.Key == leader {
			continue
		}
		counted++
		if c.Event != nil {
			events = append(events, *c.Event)
		}
	}
	return events, counted
}

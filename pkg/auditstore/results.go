package auditstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/iam-watchdog/iam-watchdog/pkg/audit"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/state"
)

// ResultsKey is the state-table key of the last scheduled audit's results.
const ResultsKey = "audit#results"

const kindResults = "results"

// storedResult is a result as kept for the next digest: what audit.Compare and the digest read.
// The check's CIS ID, title, why and fix come back from the catalogue (audit.Lookup).
type storedResult struct {
	Check    string          `json:"c"`
	Account  string          `json:"a"`
	Resource string          `json:"r"`
	Status   audit.Status    `json:"s"`
	Severity detect.Severity `json:"v"`
	Detail   string          `json:"d,omitempty"`
}

type results struct {
	At      time.Time      `json:"at"`
	Results []storedResult `json:"results"`
}

// SaveResults keeps the failures and errors of the audit that ran at at, for the next digest.
// Passes and not-applicable results are left out: audit.Compare reads a result absent before as
// one that did not fail, which is all they would say.
func (s *Store) SaveResults(ctx context.Context, at time.Time, rs []audit.Result) error {
	kept := results{At: at.UTC(), Results: []storedResult{}}
	for _, r := range rs {
		if r.Status != audit.Fail && r.Status != audit.Error {
			continue
		}
		kept.Results = append(kept.Results, storedResult{Check: r.Check, Account: r.Account, Resource: r.Resource, Status: r.Status, Severity: r.Severity, Detail: r.Detail})
	}
	env, err := seal(ctx, s.Codec, ResultsKey, kindResults, kept)
	if err != nil {
		return fmt.Errorf("save the audit's results: %w", err)
	}
	raw, err := json.Marshal(body{Audit: &env})
	if err != nil {
		return err
	}
	_, err = s.State.Update(ctx, ResultsKey, func(e *state.Entry) error {
		e.Body = raw
		e.ExpiresAt = s.now().Add(state.Retention)
		return nil
	})
	if err != nil {
		return fmt.Errorf("save the audit's results: %w", err)
	}
	return nil
}

// LastResults returns the results SaveResults kept and when their audit ran; found is false
// before the first audit (or after the item expired).
func (s *Store) LastResults(ctx context.Context) (rs []audit.Result, at time.Time, found bool, err error) {
	e, err := s.State.Get(ctx, ResultsKey)
	if errors.Is(err, state.ErrNotFound) {
		return nil, time.Time{}, false, nil
	}
	if err != nil {
		return nil, time.Time{}, false, fmt.Errorf("read the last audit's results: %w", err)
	}
	var kept results
	if err := s.readBody(ctx, ResultsKey, kindResults, e, &kept); err != nil {
		if errors.Is(err, errEmpty) {
			return nil, time.Time{}, false, nil
		}
		return nil, time.Time{}, false, fmt.Errorf("read the last audit's results: %w", err)
	}
	for _, k := range kept.Results {
		r := audit.Result{Check: k.Check, Account: k.Account, Resource: k.Resource, Status: k.Status, Severity: k.Severity, Detail: k.Detail, Title: k.Check}
		if c, ok := audit.Lookup(k.Check); ok {
			r.CIS, r.Title, r.Why, r.Fix = c.CIS, c.Title, c.Why, c.Fix
		}
		rs = append(rs, r)
	}
	return rs, kept.At, true, nil
}

package main

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/iam-watchdog/iam-watchdog/pkg/cloudtrail"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
)

// summary counts what a run saw, for the closing report on standard error.
type summary struct {
	inputs, findings, unreadable, failed int
	records, decoded, input, bytes       int64
	byCategory, byRule, byActor          map[string]int
	unreadableNames                      []string
	began                                time.Time
	jobs                                 int
	done                                 atomic.Int64 // inputs finished, for the progress bar
}

func newSummary(jobs int) *summary {
	return &summary{byCategory: map[string]int{}, byRule: map[string]int{}, byActor: map[string]int{}, began: time.Now(), jobs: jobs}
}

func (s *summary) add(st cloudtrail.ScanStats) {
	s.records += st.Records
	s.decoded += st.Decoded
	s.input += st.Input
	s.bytes += st.Bytes
}

func (s *summary) finding(f detect.Finding) {
	s.findings++
	s.byCategory[f.Category]++
	s.byRule[f.Rule]++
	actor := f.Actor.ARN
	if actor == "" {
		actor = f.Actor.Name
	}
	s.byActor[actor]++
}

func (s *summary) unreadableInput(name string) {
	s.unreadable++
	s.unreadableNames = append(s.unreadableNames, name)
}

// Lists in the summary stop after this many entries.
const (
	topActors      = 5
	listUnreadable = 10
)

// print writes the summary. Its first line is the contract scripts read; with details, lines
// follow on throughput, rules, actors and unreadable inputs.
func (s *summary) print(w io.Writer, details bool) {
	fmt.Fprintf(w, "watchdog: %d inputs, %d records, %d findings", s.inputs, s.records, s.findings)
	if len(s.byCategory) > 0 {
		fmt.Fprintf(w, " (%s)", counts(s.byCategory, 0, func(a, b string) int { return strings.Compare(a, b) }))
	}
	fmt.Fprintf(w, "; %d unreadable\n", s.unreadable)
	if !details {
		return
	}
	took := time.Since(s.began)
	secs := max(took.Seconds(), 1e-9)
	fmt.Fprintf(w, "watchdog: read %s of JSON (%s as stored) in %s with %d jobs: %.0f MB/s, %.0f records/s; %d records decoded for the rules\n",
		megabytes(s.bytes), megabytes(s.input), took.Round(time.Millisecond), s.jobs, float64(s.bytes)/1e6/secs, float64(s.records)/secs, s.decoded)
	if len(s.byRule) > 0 {
		fmt.Fprintf(w, "watchdog: findings by rule: %s\n", counts(s.byRule, 0, nil))
		fmt.Fprintf(w, "watchdog: top actors: %s\n", counts(s.byActor, topActors, nil))
	}
	if n := len(s.unreadableNames); n > 0 {
		list := strings.Join(s.unreadableNames[:min(n, listUnreadable)], ", ")
		if n > listUnreadable {
			list += fmt.Sprintf(" and %d more", n-listUnreadable)
		}
		fmt.Fprintf(w, "watchdog: could not read: %s\n", list)
	}
}

// counts formats "name n, name n", by name when order is given, else most first (then by
// name), keeping the first limit (0: all).
func counts(m map[string]int, limit int, order func(a, b string) int) string {
	names := slices.Collect(maps.Keys(m))
	if order == nil {
		order = func(a, b string) int { return cmp.Or(m[b]-m[a], strings.Compare(a, b)) }
	}
	slices.SortFunc(names, order)
	if limit > 0 && len(names) > limit {
		names = names[:limit]
	}
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s %d", n, m[n])
	}
	return strings.Join(parts, ", ")
}

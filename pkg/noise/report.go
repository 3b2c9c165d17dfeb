package noise

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/policy"
	"github.com/iam-watchdog/iam-watchdog/pkg/watchdog"
)

// Report is what Slack would have received. Its JSON (`watchdog noise --output json`) is a
// contract: fields may be added, none renamed or removed. Severity maps always hold all five
// severities.
type Report struct {
	// Records were read from the archive; Findings were alerted on (posted or kept for the
	// digest); Failed records could not be handled.
	Records  int64 `json:"records"`
	Findings int   `json:"findings"`
	Failed   int   `json:"failed"`
	// Days is how many UTC days the findings span, first to last; Accounts how many accounts
	// they are in.
	Days     int    `json:"days"`
	FirstDay string `json:"first_day,omitempty"`
	LastDay  string `json:"last_day,omitempty"`
	Accounts int    `json:"accounts"`
	// Immediate messages were posted at once; Updates brought them up to date as findings joined
	// (flood control, thresholds); ThreadReplies told of failed remediations in a burst's thread.
	Immediate     int `json:"immediate"`
	Updates       int `json:"updates"`
	ThreadReplies int `json:"thread_replies"`
	// DigestEntries were kept for the digest, which would post DigestMessages messages (one per
	// channel and period with entries).
	DigestEntries  int `json:"digest_entries"`
	DigestMessages int `json:"digest_messages"`
	// ImmediatePerAccountDay is Immediate over Accounts × Days; OtherImmediatePerAccountDay counts
	// only the messages below high (a critical or high finding is always posted at once).
	ImmediatePerAccountDay      float64 `json:"immediate_per_account_day"`
	OtherImmediatePerAccountDay float64 `json:"other_immediate_per_account_day"`
	// ImmediateBySeverity counts messages posted at once by the severity they read;
	// FindingsBySeverity counts the findings; ImmediateFindingsBySeverity those that reached
	// Slack at once, in a message of their own or one they joined; DigestEntriesBySeverity those
	// kept for the digest.
	ImmediateBySeverity         map[string]int `json:"immediate_by_severity"`
	FindingsBySeverity          map[string]int `json:"findings_by_severity"`
	ImmediateFindingsBySeverity map[string]int `json:"immediate_findings_by_severity"`
	DigestEntriesBySeverity     map[string]int `json:"digest_entries_by_severity"`
	// Channels are the channels that would receive anything ("default" is SLACK_CHANNEL), with
	// their immediate messages per day; PerDay sums the channels per day.
	Channels []Channel `json:"channels"`
	PerDay   []Day     `json:"per_day"`
	// TopRules and TopCallers made the most immediate messages, then digest entries.
	TopRules   []Top `json:"top_rules"`
	TopCallers []Top `json:"top_callers"`
}

// Channel is what one channel would receive.
type Channel struct {
	Channel        string         `json:"channel"`
	Immediate      int            `json:"immediate"`
	DigestEntries  int            `json:"digest_entries"`
	ImmediateByDay map[string]int `json:"immediate_by_day"`
}

// Day is what one UTC day would bring.
type Day struct {
	Date          string `json:"date"`
	Immediate     int    `json:"immediate"`
	DigestEntries int    `json:"digest_entries"`
}

// Top is a rule or a caller and what it made.
type Top struct {
	Name          string `json:"name"`
	Immediate     int    `json:"immediate"`
	DigestEntries int    `json:"digest_entries"`
	Findings      int    `json:"findings"`
}

// topN is how many rules and callers the report names.
const topN = 10

// tally counts findings as the pipeline routes them.
type tally struct {
	cfg                       policy.Config
	findings, failed          int
	digestMessages            int
	bySev, immediateSev, dSev map[string]int
	digestByChannel           map[string]int
	digestByDay               map[string]int
	rules, callers            map[string]*Top
	accounts                  map[string]bool
	first, last               time.Time
}

func newTally(cfg policy.Config) *tally {
	return &tally{cfg: cfg, bySev: severities(), immediateSev: severities(), dSev: severities(), digestByChannel: map[string]int{},
		digestByDay: map[string]int{}, rules: map[string]*Top{}, callers: map[string]*Top{}, accounts: map[string]bool{}}
}

func severities() map[string]int {
	m := map[string]int{}
	for s := detect.Info; s <= detect.Critical; s++ {
		m[s.String()] = 0
	}
	return m
}

func top(m map[string]*Top, name string) *Top {
	t, ok := m[name]
	if !ok {
		t = &Top{Name: name}
		m[name] = t
	}
	return t
}

// finding counts one finding the pipeline alerted on.
func (t *tally) finding(r watchdog.Result) {
	f := r.Finding
	sev := f.Severity.String()
	t.findings++
	t.bySev[sev]++
	top(t.rules, f.Rule).Findings++
	top(t.callers, policy.Caller(f.Actor)).Findings++
	if f.Account != "" {
		t.accounts[f.Account] = true
	}
	if at := f.EventTime; !at.IsZero() {
		if t.first.IsZero() || at.Before(t.first) {
			t.first = at
		}
		if at.After(t.last) {
			t.last = at
		}
	}
	if r.Route.Kind == policy.Digest {
		t.dSev[sev]++
		t.digestByChannel[channelName(r.Route.Channel)]++
		t.digestByDay[day(f.EventTime)]++
		top(t.rules, f.Rule).DigestEntries++
		top(t.callers, policy.Caller(f.Actor)).DigestEntries++
		return
	}
	t.immediateSev[sev]++
}

// report sums the tally and what the sink counted.
func (t *tally) report(sink *counter) *Report {
	s := sink.state()
	r := &Report{Findings: t.findings, Failed: t.failed, Accounts: len(t.accounts), Immediate: len(s.posts), Updates: s.updates,
		ThreadReplies: s.replies, DigestMessages: t.digestMessages, ImmediateBySeverity: severities(), FindingsBySeverity: t.bySev,
		ImmediateFindingsBySeverity: t.immediateSev, DigestEntriesBySeverity: t.dSev}
	for _, n := range t.digestByChannel {
		r.DigestEntries += n
	}
	if !t.first.IsZero() {
		r.FirstDay, r.LastDay = day(t.first), day(t.last)
		first, _ := time.Parse(time.DateOnly, r.FirstDay)
		last, _ := time.Parse(time.DateOnly, r.LastDay)
		r.Days = int(last.Sub(first)/(24*time.Hour)) + 1
	}
	channels := map[string]*Channel{}
	ch := func(name string) *Channel {
		c, ok := channels[name]
		if !ok {
			c = &Channel{Channel: name, ImmediateByDay: map[string]int{}}
			channels[name] = c
		}
		return c
	}
	days := map[string]*Day{}
	dy := func(date string) *Day {
		d, ok := days[date]
		if !ok {
			d = &Day{Date: date}
			days[date] = d
		}
		return d
	}
	other := 0
	for _, p := range s.posts {
		r.ImmediateBySeverity[p.severity.String()]++
		if p.severity < detect.High {
			other++
		}
		c := ch(p.channel)
		c.Immediate++
		c.ImmediateByDay[p.day]++
		dy(p.day).Immediate++
		top(t.rules, p.rule).Immediate++
		top(t.callers, p.caller).Immediate++
	}
	for name, n := range t.digestByChannel {
		ch(name).DigestEntries += n
	}
	for date, n := range t.digestByDay {
		dy(date).DigestEntries += n
	}
	if accountDays := r.Accounts * r.Days; accountDays > 0 {
		r.ImmediatePerAccountDay = round2(float64(r.Immediate) / float64(accountDays))
		r.OtherImmediatePerAccountDay = round2(float64(other) / float64(accountDays))
	}
	for _, name := range slices.Sorted(maps.Keys(channels)) {
		r.Channels = append(r.Channels, *channels[name])
	}
	for _, date := range slices.Sorted(maps.Keys(days)) {
		r.PerDay = append(r.PerDay, *days[date])
	}
	r.TopRules, r.TopCallers = ranked(t.rules), ranked(t.callers)
	return r
}

func round2(v float64) float64 { return float64(int64(v*100+0.5)) / 100 }

// ranked are the entries that made the most immediate messages, then digest entries, then
// findings; at most topN.
func ranked(m map[string]*Top) []Top {
	out := make([]Top, 0, len(m))
	for _, t := range m {
		out = append(out, *t)
	}
	slices.SortFunc(out, func(a, b Top) int {
		return cmp.Or(cmp.Compare(b.Immediate, a.Immediate), cmp.Compare(b.DigestEntries, a.DigestEntries),
			cmp.Compare(b.Findings, a.Findings), cmp.Compare(a.Name, b.Name))
	})
	return out[:min(len(out), topN)]
}

// WriteJSON writes the report as one indented JSON object, the contract's shape.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes the report for a person.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	span := "no findings"
	if r.Days > 0 {
		span = fmt.Sprintf("%d day(s), %s to %s, %d account(s)", r.Days, r.FirstDay, r.LastDay, r.Accounts)
	}
	fmt.Fprintf(&b, "What Slack would have received: %d records read, %d findings over %s.\n\n", r.Records, r.Findings, span)
	fmt.Fprintf(&b, "  posted at once   %6d messages (%.2f per account-day; %.2f below high), %d updates, %d thread replies\n",
		r.Immediate, r.ImmediatePerAccountDay, r.OtherImmediatePerAccountDay, r.Updates, r.ThreadReplies)
	fmt.Fprintf(&b, "  digest           %6d entries in %d message(s)\n", r.DigestEntries, r.DigestMessages)
	if r.Failed > 0 {
		fmt.Fprintf(&b, "  failed           %6d records could not be handled\n", r.Failed)
	}
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(&b)
	fmt.Fprintln(tw, "severity\tfindings\tat once\tdigest\tmessages\t")
	for s := detect.Critical; s >= detect.Info; s-- {
		n := s.String()
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t\n", n, r.FindingsBySeverity[n], r.ImmediateFindingsBySeverity[n], r.DigestEntriesBySeverity[n], r.ImmediateBySeverity[n])
	}
	tw.Flush()
	fmt.Fprintln(&b)
	tw = tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "channel\tposted at once\tdigest entries\tbusiest day")
	for _, c := range r.Channels {
		busiest, most := "", 0
		for _, d := range slices.Sorted(maps.Keys(c.ImmediateByDay)) {
			if c.ImmediateByDay[d] > most {
				busiest, most = d, c.ImmediateByDay[d]
			}
		}
		if most > 0 {
			busiest = fmt.Sprintf("%s (%d)", busiest, most)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\n", c.Channel, c.Immediate, c.DigestEntries, cmp.Or(busiest, "—"))
	}
	tw.Flush()
	for _, list := range []struct {
		title string
		tops  []Top
	}{{"rules", r.TopRules}, {"callers", r.TopCallers}} {
		if len(list.tops) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\nThe %s that made the most (posted at once / digest / findings):\n", list.title)
		for _, t := range list.tops {
			fmt.Fprintf(&b, "  %5d %5d %5d  %s\n", t.Immediate, t.DigestEntries, t.Findings, t.Name)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

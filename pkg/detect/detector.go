package detect

import (
	"slices"
	"strings"

	"github.com/iam-watchdog/iam-watchdog/pkg/cloudtrail"
)

// Rule is one entry of the rule table. The exported fields are its stable description
// (`watchdog rules` prints them); match decides and fills in the finding.
type Rule struct {
	ID       string   `json:"id"`
	Category string   `json:"category"`
	Title    string   `json:"title"`
	Source   string   `json:"source"` // eventSource, e.g. iam.amazonaws.com
	Events   []string `json:"events"` // eventNames
	CIS      []string `json:"cis"`    // CIS AWS Foundations v3.0 controls it implements
	Action   string   `json:"remediation"`

	// match reports whether the record is a finding of this rule and fills in f, which
	// arrives with the fields common to every finding already set.
	match func(rec *cloudtrail.Record, f *Finding) bool
}

type eventKey struct{ source, name string }

// Detector looks records up in the rule table by (eventSource, eventName). Events no rule
// watches are skipped on purpose and never decoded further.
type Detector struct {
	rules []Rule
	index map[eventKey][]*Rule
}

// New builds a detector over rules, in their order.
func New(rules []Rule) *Detector {
	d := &Detector{rules: rules, index: map[eventKey][]*Rule{}}
	for i := range d.rules {
		r := &d.rules[i]
		for _, name := range r.Events {
			k := eventKey{r.Source, name}
			d.index[k] = append(d.index[k], r)
		}
	}
	return d
}

// Default is a detector over every built-in rule.
func Default() *Detector { return New(Rules()) }

// Rules is the rule table. Order is the order findings of one record are reported in.
func (d *Detector) Rules() []Rule { return slices.Clone(d.rules) }

// Watches reports whether any rule looks at this (eventSource, eventName).
func (d *Detector) Watches(source, name string) bool {
	return len(d.index[eventKey{source, name}]) > 0
}

// Detect returns the findings for one record, none for events no rule watches.
func (d *Detector) Detect(rec *cloudtrail.Record) []Finding {
	rules := d.index[eventKey{rec.EventSource, rec.EventName}]
	if len(rules) == 0 {
		return nil
	}
	var out []Finding
	for _, r := range rules {
		f := base(rec, r)
		if r.match(rec, &f) {
			f.Severity = clamp(f.Severity)
			f.Why = upperFirst(f.Why)
			out = append(out, f)
		}
	}
	return out
}

func base(rec *cloudtrail.Record, r *Rule) Finding {
	return Finding{
		Rule:      r.ID,
		Category:  r.Category,
		Title:     r.Title,
		Actor:     actorOf(rec),
		Account:   rec.Account(),
		Region:    rec.AWSRegion,
		EventID:   rec.EventID,
		EventName: rec.EventName,
		EventTime: rec.EventTime,
		Record:    rec,
	}
}

func actorOf(rec *cloudtrail.Record) Actor {
	id := rec.UserIdentity
	a := Actor{
		ARN:       rec.ActorARN(),
		IssuerARN: rec.IssuerARN(),
		Type:      id.Type,
		SourceIP:  rec.SourceIPAddress,
		UserAgent: rec.UserAgent,
		InvokedBy: id.InvokedBy,
	}
	switch {
	case id.Type == "Root":
		a.Name = "the root user"
	case id.Type == "IAMUser" && id.UserName != "":
		a.Name = id.UserName
	case id.Type == "AssumedRole" && id.SessionContext != nil:
		a.Name = "role " + id.SessionContext.SessionIssuer.UserName
		if i := strings.LastIndexByte(id.ARN, '/'); i >= 0 {
			a.Name += " (session " + id.ARN[i+1:] + ")"
		}
	case id.Type == "AWSService" && id.InvokedBy != "":
		a.Name = id.InvokedBy
	case id.ARN != "":
		a.Name = id.ARN
	case id.UserName != "":
		a.Name = id.UserName
	default:
		a.Name = "principal " + id.PrincipalID
	}
	return a
}

func upperFirst(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

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
	Source   string   `json:"source"` // eventSource, e.g. iam.amazonaws.com; "*" for an AnyEvent rule
	Events   []string `json:"events"` // eventNames; ["*"] for an AnyEvent rule
	// AnyEvent rules look at every record, whatever its source and name (root activity,
	// unauthorized calls), and are never indexed. Scope says in words which records they report.
	AnyEvent bool     `json:"any_event,omitempty"`
	Scope    string   `json:"scope,omitempty"`
	CIS      []string `json:"cis"` // CIS AWS Foundations v3.0 controls it implements
	Action   string   `json:"remediation"`

	// match reports whether the record is a finding of this rule and fills in f, which
	// arrives with the fields common to every finding already set.
	match func(rec *cloudtrail.Record, f *Finding) bool
	// wants, for AnyEvent rules, says cheaply from typed fields alone whether match could
	// report the record, so that the common record costs no allocation.
	wants func(rec *cloudtrail.Record) bool
}

// AnyEventSource is the Source and only Event of an AnyEvent rule.
const AnyEventSource = "*"

// Settings is the part of the configuration detection needs. Detection stays pure: it reads
// nothing but the event and these settings, and calls no AWS API.
type Settings struct {
	// AdminGroups are IAM group names whose members are administrators, matched without
	// regard to case as IAM does. Groups whose name contains "admin" count as well.
	AdminGroups []string
	// SelfRoleARNs are the watchdog's own roles (its functions' roles): creating, deleting or
	// changing one of them is watchdog-role-changed, high.
	SelfRoleARNs []string
	// MemberRoleName is the role the watchdog assumes in member accounts, a path allowed
	// ("security/iam-watchdog-member"): creating, deleting or changing a role of that name, in
	// any account, is watchdog-role-changed too. Empty watches infra/member-role.yaml's
	// default name, iam-watchdog-member.
	MemberRoleName string
	// TrailBuckets are the S3 buckets CloudTrail delivers to: a lifecycle rule that expires
	// their objects within days is cloudtrail-logs-expiring. Buckets whose name contains
	// "cloudtrail" count as well.
	TrailBuckets []string
}

type eventKey struct{ source, name string }

// Detector looks records up in the rule table by (eventSource, eventName), then offers the
// records no indexed rule reported to the AnyEvent rules. Events no rule watches cost a map
// lookup and two string comparisons; their parameters are never decoded.
type Detector struct {
	rules []Rule
	index map[eventKey][]*Rule
	// names has the bit nameBit(name) set for every eventName in index: a record whose bit is
	// clear is in no rule's index, and Wants, asked about every record of a replay, skips the
	// map's hashing of both strings (most records' names are nobody's).
	names [nameBits / 64]uint64
	any   []*Rule
}

const nameBits = 1024

// nameBit is a cheap hash of an eventName: its length and three of its bytes.
func nameBit(name string) uint {
	n := len(name)
	if n == 0 {
		return 0
	}
	return (uint(n)*131 + uint(name[0])*31 + uint(name[n/2])*7 + uint(name[n-1])) % nameBits
}

// mayWatch is false when no indexed rule looks at events named name.
func (d *Detector) mayWatch(name string) bool {
	b := nameBit(name)
	return d.names[b/64]&(1<<(b%64)) != 0
}

// New builds a detector over rules, in their order.
func New(rules []Rule) *Detector {
	d := &Detector{rules: rules, index: map[eventKey][]*Rule{}}
	for i := range d.rules {
		r := &d.rules[i]
		if r.AnyEvent {
			if r.wants == nil {
				r.wants = func(*cloudtrail.Record) bool { return true }
			}
			d.any = append(d.any, r)
			continue
		}
		for _, name := range r.Events {
			k := eventKey{r.Source, name}
			d.index[k] = append(d.index[k], r)
			b := nameBit(name)
			d.names[b/64] |= 1 << (b % 64)
		}
	}
	return d
}

// Default is a detector over every built-in rule with default settings.
func Default() *Detector { return New(Rules()) }

// DefaultWith is a detector over every built-in rule with the given settings.
func DefaultWith(s Settings) *Detector { return New(RulesWith(s)) }

// Rules is the rule table. Order is the order findings of one record are reported in.
func (d *Detector) Rules() []Rule { return slices.Clone(d.rules) }

// Watches reports whether a rule indexed by (eventSource, eventName) looks at this pair.
// AnyEvent rules look at everything and are not counted.
func (d *Detector) Watches(source, name string) bool {
	return len(d.index[eventKey{source, name}]) > 0
}

// Detect returns the findings for one record, none for events no rule reports.
//
// One event gives one alert where it can: the rules indexed by the event's source and name
// speak first, and only when none of them reports the record are the AnyEvent rules asked, in
// table order, the first that matches winning. So a root ConsoleLogin is root_signin and a root
// CreateAccessKey is access_key_created (critical, and saying that root did it), never also
// root_activity; a denied CreateAccessKey is access_key_created, not also unauthorized_api_calls.
// The specific finding carries everything the general one would, plus a remediation.
func (d *Detector) Detect(rec *cloudtrail.Record) []Finding {
	var out []Finding
	for _, r := range d.index[eventKey{rec.EventSource, rec.EventName}] {
		if f, ok := apply(r, rec); ok {
			out = append(out, f)
		}
	}
	if len(out) > 0 {
		return out
	}
	for _, r := range d.any {
		if !r.wants(rec) {
			continue
		}
		if f, ok := apply(r, rec); ok {
			return []Finding{f}
		}
	}
	return nil
}

func apply(r *Rule, rec *cloudtrail.Record) (Finding, bool) {
	f := base(rec, r)
	if !r.match(rec, &f) {
		return Finding{}, false
	}
	f.Severity = clamp(f.Severity)
	f.Why = upperFirst(f.Why)
	if f.Action.Kind == "" && r.Action != "" && rec.Failed() {
		// A failed call changed nothing, so there is nothing to act on; the rule's action is
		// still named, so that the decision can say why it was not taken.
		f.Action = Action{Kind: r.Action, Account: rec.Account()}
	}
	return f, true
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
		InvokedBy: ActingService(id.InvokedBy),
	}
	if a.ARN == "" && id.Type == "IAMUser" && id.UserName != "" && rec.Account() != "" {
		// Failed sign-ins record no ARN, only the name typed, which CloudTrail hides when it
		// matches no user (hiddenUserName).
		a.ARN = "arn:" + rec.Partition() + ":iam::" + rec.Account() + ":user/" + id.UserName
	}
	switch {
	case id.Type == "Root":
		a.Name = "the root user"
	case id.Type == "IAMUser" && id.UserName == hiddenUserName:
		a.Name = "an unknown user name"
	case id.Type == "IAMUser" && id.UserName != "":
		a.Name = id.UserName
	case id.Type == "AssumedRole" && id.SessionContext != nil && id.SessionContext.SessionIssuer.UserName != "":
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
	case id.PrincipalID != "":
		a.Name = "principal " + id.PrincipalID
	default:
		a.Name = "an unidentified caller"
	}
	return a
}

// hiddenUserName is what CloudTrail records instead of a user name that matches no IAM user,
// in failed sign-ins: the typo may be someone's password.
// Reference: https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-aws-console-sign-in-events.html
const hiddenUserName = "HIDDEN_DUE_TO_SECURITY_REASONS"

func upperFirst(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

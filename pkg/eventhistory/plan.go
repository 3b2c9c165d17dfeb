package eventhistory

import (
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"

	"github.com/iam-watchdog/iam-watchdog/pkg/cloudtrail"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
)

// RootUsername is the user name Event history gives the root user. The LookupEvents reference
// uses it as its example of a Username look-up ("an AttributeKey of 'Username' with a value of
// 'root'", under NextToken); no page states it as a rule, and an IAM user may be named "root"
// too, so records from this look-up are kept only when their userIdentity.type is Root.
// Reference: https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupEvents.html
const RootUsername = "root"

// rootRules are the AnyEvent rules the Username=root look-up serves in full.
var rootRules = map[string]bool{"root-activity": true}

// anyEventReasons say why Event history cannot serve an AnyEvent rule. An AnyEvent rule in
// neither map is skipped with the generic reason (see NewPlan).
var anyEventReasons = map[string]string{
	// Reference: https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupAttribute.html
	"unauthorized-api-calls": "denied calls cannot be looked up: errorCode is not a look-up attribute " +
		"(only EventId, EventName, ReadOnly, Username, ResourceType, ResourceName, EventSource, AccessKeyId are), " +
		"and finding them otherwise means paging through every event; denied calls of watched event names, " +
		"and the root user's, are still read and reported by their own rules",
}

// dataEvents are well-known data events, which Event history never holds ("The CloudTrail
// Event history doesn't record data events"); a rule watching one is skipped for it.
// Reference: https://docs.aws.amazon.com/AmazonS3/latest/userguide/cloudtrail-logging-s3-info.html#cloudtrail-data-events
// Reference: https://docs.aws.amazon.com/awscloudtrail/latest/userguide/logging-data-events-with-cloudtrail.html
var dataEvents = map[string][]string{
	"s3.amazonaws.com": {"GetObject", "PutObject", "DeleteObject", "DeleteObjects", "CopyObject", "HeadObject",
		"GetObjectAcl", "PutObjectAcl", "GetObjectTagging", "PutObjectTagging", "DeleteObjectTagging", "RestoreObject",
		"CreateMultipartUpload", "UploadPart", "UploadPartCopy", "CompleteMultipartUpload", "AbortMultipartUpload",
		"SelectObjectContent", "PutObjectRetention", "PutObjectLegalHold", "GetObjectAttributes"},
	"lambda.amazonaws.com": {"Invoke"},
	"sns.amazonaws.com":    {"Publish", "PublishBatch"},
	"dynamodb.amazonaws.com": {"GetItem", "PutItem", "UpdateItem", "DeleteItem", "BatchGetItem", "BatchWriteItem",
		"Query", "Scan", "TransactGetItems", "TransactWriteItems", "ExecuteStatement", "BatchExecuteStatement", "ExecuteTransaction"},
	"cloudtrail-data.amazonaws.com": {"PutAuditEvents"},
}

const dataEventReason = "data events: Event history holds management events only"

// globalSources are services whose events Event history shows in us-east-1 only (IAM, STS's
// global endpoint, console sign-in; Organizations' endpoint is in us-east-1).
// Reference: https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-concepts.html#cloudtrail-concepts-global-service-events
var globalSources = []string{"iam.amazonaws.com", "sts.amazonaws.com", "signin.amazonaws.com", "organizations.amazonaws.com"}

// GlobalRegion is the region whose Event history holds the global services' events.
const GlobalRegion = "us-east-1"

// A Lookup is one LookupEvents query of the plan: a single attribute, since LookupEvents takes
// one ("Currently the list can contain only one item").
// Reference: https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupEvents.html
type Lookup struct {
	Attribute types.LookupAttributeKey // EventName, or Username for the root user
	Value     string
	// Sources are the eventSources watched under this name, sorted (an EventName look-up
	// returns the name from every service); nil for the root look-up, which keeps any source.
	Sources []string
	// Rules are the IDs of the rules this look-up serves, in table order.
	Rules []string
}

// String is the look-up as errors and progress name it: "EventName=CreateAccessKey".
func (l Lookup) String() string { return string(l.Attribute) + "=" + l.Value }

// A Skip is a rule, or some of its events, that Event history cannot serve.
type Skip struct {
	Rule   string   // the rule's ID
	Title  string   // the rule's title
	Events []string // the event names skipped; nil when the whole rule is
	Reason string
}

// String says what is skipped and why, for standard error.
func (s Skip) String() string {
	what := s.Rule + " (" + s.Title + ")"
	if s.Events != nil {
		what += " for " + strings.Join(s.Events, ", ")
	}
	return what + ": " + s.Reason
}

// Plan is the set of look-ups that reads, from Event history, every record the rules could
// report there, and the rules it cannot serve.
type Plan struct {
	Lookups []Lookup
	Skipped []Skip
	watched map[[2]string]bool // (eventSource, eventName) of every served indexed rule
	root    bool               // the Username=root look-up is planned
	global  []string           // IDs of served rules that watch a global service
}

// NewPlan derives the look-ups from the rule table (detect.Rules(), or a Detector's Rules()):
// one EventName look-up per watched eventName, shared by every rule and source that watches
// it; one Username look-up for the root user's activity; never a look-up of all events. A rule
// that needs records no look-up attribute can select is listed in Skipped.
func NewPlan(rules []detect.Rule) *Plan {
	p := &Plan{watched: map[[2]string]bool{}}
	byName := map[string]int{} // eventName → index in p.Lookups
	for _, r := range rules {
		if r.AnyEvent || r.Source == detect.AnyEventSource {
			p.anyEvent(r)
			continue
		}
		var data []string
		for _, name := range r.Events {
			if slices.Contains(dataEvents[r.Source], name) {
				data = append(data, name)
				continue
			}
			p.watched[[2]string{r.Source, name}] = true
			if slices.Contains(globalSources, r.Source) && !slices.Contains(p.global, r.ID) {
				p.global = append(p.global, r.ID)
			}
			i, ok := byName[name]
			if !ok {
				i = len(p.Lookups)
				byName[name] = i
				p.Lookups = append(p.Lookups, Lookup{Attribute: types.LookupAttributeKeyEventName, Value: name})
			}
			l := &p.Lookups[i]
			if !slices.Contains(l.Sources, r.Source) {
				l.Sources = append(l.Sources, r.Source)
				slices.Sort(l.Sources)
			}
			if !slices.Contains(l.Rules, r.ID) {
				l.Rules = append(l.Rules, r.ID)
			}
		}
		if data != nil {
			p.Skipped = append(p.Skipped, Skip{Rule: r.ID, Title: r.Title, Events: data, Reason: dataEventReason})
		}
	}
	return p
}

func (p *Plan) anyEvent(r detect.Rule) {
	if rootRules[r.ID] {
		if !p.root {
			p.root = true
			p.Lookups = append(p.Lookups, Lookup{Attribute: types.LookupAttributeKeyUsername, Value: RootUsername})
		}
		for i := range p.Lookups {
			if l := &p.Lookups[i]; l.Attribute == types.LookupAttributeKeyUsername {
				l.Rules = append(l.Rules, r.ID)
			}
		}
		return
	}
	reason, ok := anyEventReasons[r.ID]
	if !ok {
		reason = "it watches every event (" + r.Scope + "), and no look-up attribute selects its records short of paging through all events"
	}
	p.Skipped = append(p.Skipped, Skip{Rule: r.ID, Title: r.Title, Reason: reason})
}

// Covers reports whether a rule the plan serves watches rec: its (eventSource, eventName) is
// watched, or the root user made it and root activity is planned. A look-up by name returns
// that name from every service, and a look-up by user name any IAM user so named: records
// Covers refuses are dropped and counted (Stats.Unwatched).
func (p *Plan) Covers(rec *cloudtrail.Record) bool {
	return p.watched[[2]string{rec.EventSource, rec.EventName}] || p.root && rec.IsRoot()
}

// RegionWarnings says which served rules will find nothing because the regions read leave out
// us-east-1, where Event history keeps the events of IAM, STS's global endpoint, console
// sign-in and Organizations (and every root console sign-in). None when us-east-1 is read.
func (p *Plan) RegionWarnings(regions []string) []string {
	if slices.Contains(regions, GlobalRegion) || len(regions) == 0 {
		return nil
	}
	ids := p.global
	if len(ids) == 0 {
		return nil
	}
	return []string{"Event history keeps IAM, STS (global endpoint), console sign-in and Organizations events in " + GlobalRegion +
		" only, which is not being read: add cloudtrail://" + GlobalRegion + " for rules " + strings.Join(ids, ", ")}
}

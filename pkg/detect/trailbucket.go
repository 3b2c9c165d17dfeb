package detect

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/iam-watchdog/iam-watchdog/pkg/cloudtrail"
)

// expiringWithin is how soon a lifecycle expiration must delete a trail bucket's objects to be
// reported as logs expiring: CloudTrail's Event history keeps management events for 90 days, so
// a trail that keeps less holds nothing Event history does not, and within a week the logs are
// gone before a weekly review reads them.
const (
	expiringWithin = 90
	expiringSoon   = 7
)

// trailBuckets knows the buckets CloudTrail delivers to: those the configuration lists
// (trail_buckets) and, as a heuristic, any whose name contains "cloudtrail". Detection calls
// no AWS API, so a trail bucket under another name is missed unless it is listed.
type trailBuckets struct{ listed []string }

func newTrailBuckets(names []string) trailBuckets { return trailBuckets{listed: names} }

func (b trailBuckets) holds(bucket string) bool {
	if bucket == "" {
		return false
	}
	for _, l := range b.listed {
		if strings.EqualFold(l, bucket) {
			return true
		}
	}
	return strings.Contains(strings.ToLower(bucket), "cloudtrail")
}

// flexInt reads a JSON number or a number in a string: CloudTrail turns S3's XML bodies into
// JSON, and a value may come out either way.
type flexInt struct {
	n  int
	ok bool
}

func (v *flexInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	n, err := strconv.Atoi(s)
	if err != nil {
		return nil // not a number: left unset
	}
	*v = flexInt{n: n, ok: true}
	return nil
}

type lifecycleRule struct {
	ID     string `json:"ID"`
	Status string `json:"Status"`
	Prefix string `json:"Prefix"`
	Filter struct {
		Prefix string `json:"Prefix"`
		And    struct {
			Prefix string `json:"Prefix"`
		} `json:"And"`
	} `json:"Filter"`
	Expiration *struct {
		Days flexInt `json:"Days"`
		Date string  `json:"Date"`
	} `json:"Expiration"`
}

// expiry is the lifecycle rule of a PutBucketLifecycle that deletes objects soonest.
type expiry struct {
	bucket string
	days   int
	rule   string
	prefix string
}

// soonestExpiry returns the enabled rule of a PutBucketLifecycle on a trail bucket that deletes
// current objects soonest, if one does within expiringWithin days. Every enabled rule counts,
// whatever its prefix: the trail's own key prefix is not in the event, so a rule cannot be
// shown to miss the logs.
// Reference: https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketLifecycleConfiguration.html
func (b trailBuckets) soonestExpiry(rec *cloudtrail.Record) (expiry, bool) {
	var req struct {
		BucketName    string `json:"bucketName"`
		Configuration struct {
			Rule json.RawMessage `json:"Rule"`
		} `json:"LifecycleConfiguration"`
	}
	if rec.Param(&req) != nil || !b.holds(req.BucketName) {
		return expiry{}, false
	}
	best := expiry{bucket: req.BucketName, days: math.MaxInt}
	for _, r := range oneOrMany[lifecycleRule](req.Configuration.Rule) {
		if !strings.EqualFold(r.Status, "Enabled") || r.Expiration == nil {
			continue
		}
		days := -1
		switch {
		case r.Expiration.Days.ok:
			days = r.Expiration.Days.n
		case r.Expiration.Date != "":
			if t, err := time.Parse(time.RFC3339, r.Expiration.Date); err == nil {
				days = max(0, int(math.Ceil(t.Sub(rec.EventTime).Hours()/24)))
			}
		}
		if days < 0 || days >= best.days {
			continue
		}
		best.days, best.rule = days, r.ID
		best.prefix = r.Filter.Prefix + r.Filter.And.Prefix + r.Prefix
	}
	return best, best.days <= expiringWithin
}

// logsExpiring reports a lifecycle rule that deletes a trail bucket's objects within
// expiringWithin days: within a week high, else medium. It takes the event from
// s3-bucket-policy-changed, which reports every other lifecycle change.
func (b trailBuckets) logsExpiring(rec *cloudtrail.Record, f *Finding) bool {
	e, ok := b.soonestExpiry(rec)
	if !ok {
		return false
	}
	f.Target = "arn:" + rec.Partition() + ":s3:::" + e.bucket
	base := Medium
	if e.days <= expiringSoon {
		base = High
	}
	when := fmt.Sprintf("%d days after they are written", e.days)
	switch e.days {
	case 0:
		when = "at once"
	case 1:
		when = "a day after they are written"
	}
	scope := "its objects"
	if e.prefix != "" {
		scope = "its objects under " + e.prefix
	}
	f.Severity = grade(base, rec)
	f.Why = fmt.Sprintf("%s set a lifecycle rule on trail bucket %s that deletes %s %s%s%s; CloudTrail logs that expire this soon are gone before anyone reads them, which is how tracks get covered.",
		f.Actor.Name, e.bucket, scope, when, failedClause(rec), byService(rec))
	f.Manual = fmt.Sprintf("If nobody agreed to it, remove or lengthen the rule (aws s3api get-bucket-lifecycle-configuration --bucket %s) and keep trail logs as long as your retention policy asks; Event history keeps only 90 days.", e.bucket)
	if rec.IsRoot() {
		f.Manual += " " + rootManual
	}
	return true
}

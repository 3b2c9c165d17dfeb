package replay

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/iam-watchdog/iam-watchdog/pkg/cloudtrail"
)

// Scope is what a replay lets through (--since, --until, --account and --region). It prunes
// archives by the key path first (logPath), so that what is out of scope is not even read, then
// checks each record's own eventTime, account and region. The zero Scope lets everything
// through.
type Scope struct {
	Since, Until    time.Time // [Since, Until); zero is open
	Account, Region string
}

// ParseScope reads the four flags. Its errors name the flag.
func ParseScope(since, until, account, region string) (Scope, error) {
	var s Scope
	var err error
	if s.Since, err = parseWhen(since); err != nil {
		return s, fmt.Errorf("--since: %w", err)
	}
	if s.Until, err = parseWhen(until); err != nil {
		return s, fmt.Errorf("--until: %w", err)
	}
	if !s.Since.IsZero() && !s.Until.IsZero() && !s.Since.Before(s.Until) {
		return s, fmt.Errorf("--since %s is not before --until %s", since, until)
	}
	if account != "" && !accountID.MatchString(account) {
		return s, fmt.Errorf("--account %q is not a 12-digit account ID", account)
	}
	s.Account, s.Region = account, region
	return s, nil
}

var accountID = regexp.MustCompile(`^\d{12}$`)

// parseWhen reads an RFC 3339 time or a date (midnight UTC starting it).
func parseWhen(v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return t, fmt.Errorf("%q is neither a date (2024-05-01) nor an RFC 3339 time (2024-05-01T12:00:00Z)", v)
	}
	return t, nil
}

// Keeps says whether a record is in scope. It reads typed fields only, so it can judge the head
// of a record the pre-filter has not decoded.
func (s Scope) Keeps(rec *cloudtrail.Record) bool {
	return (s.Since.IsZero() || !rec.EventTime.Before(s.Since)) &&
		(s.Until.IsZero() || rec.EventTime.Before(s.Until)) &&
		(s.Account == "" || rec.Account() == s.Account) &&
		(s.Region == "" || rec.AWSRegion == s.Region)
}

// How far a log file's delivery time, in its key, may be from the events in it. CloudTrail
// delivers within about 5 minutes on average, without a guarantee, and names a file and its
// day's folder by the delivery time, so a file may hold events from before its folder's day: a
// day of lateness is allowed. No event is later than its file, bar clock skew.
// Reference: https://docs.aws.amazon.com/awscloudtrail/latest/userguide/how-cloudtrail-works.html
const (
	deliveryLateness = 24 * time.Hour
	deliverySkew     = 15 * time.Minute
)

// logPath is what a path in CloudTrail's S3 layout says about the events under it:
//
//	[prefix/]AWSLogs/[o-orgid/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHmmZ_ID.json.gz
//
// A folder's path says as much as it reaches (an account, a region, a year, a month, a day).
// Reference: https://docs.aws.amazon.com/awscloudtrail/latest/userguide/get-and-view-cloudtrail-log-files.html
type logPath struct {
	account, region string
	// from and to bound the eventTimes the path can hold; zero when the path says nothing.
	from, to time.Time
}

// fileTime is the delivery time in a log file's name.
var fileTime = regexp.MustCompile(`_(\d{8}T\d{4}Z)_`)

// parseLogPath reads what a path (with / separators) says. ok is false for a path outside the
// layout, or in a part of it that holds no events (CloudTrail-Digest).
func parseLogPath(p string) (lp logPath, ok bool) {
	segs := strings.Split(strings.Trim(p, "/"), "/")
	k := -1
	for i, s := range segs {
		if s == "AWSLogs" {
			k = i
		}
	}
	if k < 0 {
		return lp, false
	}
	rest := segs[k+1:]
	if len(rest) > 0 && strings.HasPrefix(rest[0], "o-") { // an organization trail
		rest = rest[1:]
	}
	if len(rest) == 0 {
		return lp, true
	}
	lp.account, rest = rest[0], rest[1:]
	if len(rest) == 0 {
		return lp, true
	}
	if rest[0] != "CloudTrail" {
		return lp, false // CloudTrail-Digest, CloudTrail-Insight, something else
	}
	rest = rest[1:]
	if len(rest) == 0 {
		return lp, true
	}
	lp.region, rest = rest[0], rest[1:]
	var ymd [3]int
	n := 0
	for n < 3 && n < len(rest) {
		v, err := strconv.Atoi(rest[n])
		if err != nil {
			break
		}
		ymd[n] = v
		n++
	}
	switch n {
	case 1:
		lp.from = time.Date(ymd[0], 1, 1, 0, 0, 0, 0, time.UTC)
		lp.to = lp.from.AddDate(1, 0, 0)
	case 2:
		lp.from = time.Date(ymd[0], time.Month(ymd[1]), 1, 0, 0, 0, 0, time.UTC)
		lp.to = lp.from.AddDate(0, 1, 0)
	case 3:
		lp.from = time.Date(ymd[0], time.Month(ymd[1]), ymd[2], 0, 0, 0, 0, time.UTC)
		lp.to = lp.from.AddDate(0, 0, 1)
	}
	if n == 3 && len(rest) > 3 {
		if m := fileTime.FindStringSubmatch(rest[3]); m != nil {
			if t, err := time.Parse("20060102T1504Z", m[1]); err == nil {
				lp.from, lp.to = t, t.Add(time.Minute)
			}
		}
	}
	if !lp.from.IsZero() {
		lp.from, lp.to = lp.from.Add(-deliveryLateness), lp.to.Add(deliverySkew)
	}
	return lp, true
}

// Prunes says whether nothing under a path (with / separators) in CloudTrail's layout can be in
// scope, so that the folder or file need not be read: a source lists and opens only what the
// scope does not prune.
func (s Scope) Prunes(p string) bool {
	if s == (Scope{}) {
		return false
	}
	lp, ok := parseLogPath(p)
	if !ok {
		return false
	}
	return s.Account != "" && lp.account != "" && lp.account != s.Account ||
		s.Region != "" && lp.region != "" && lp.region != s.Region ||
		!s.Since.IsZero() && !lp.to.IsZero() && !lp.to.After(s.Since) ||
		!s.Until.IsZero() && !lp.from.IsZero() && !lp.from.Before(s.Until)
}

package render

import (
	"regexp"
	"strings"
)

// Both values end up in a URL a responder clicks in a security alert, and both can come from a
// crafted log file in a replay, so they are checked rather than escaped: a region of
// "evil.example/x?" would otherwise turn the link's host into the attacker's.
var (
	regionPattern  = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$`)
	eventIDPattern = regexp.MustCompile(`^[A-Za-z0-9-]{1,128}$`)
)

// EventURL links to an event in the CloudTrail console. An empty region means us-east-1, where
// IAM events are recorded. It returns "" when there is no event ID, or when the region or event
// ID is not shaped like one AWS issues.
func EventURL(region, eventID string) string {
	if region == "" {
		region = "us-east-1"
	}
	if !regionPattern.MatchString(region) || !eventIDPattern.MatchString(eventID) {
		return ""
	}
	return "https://" + region + "." + consoleDomain(region) +
		"/cloudtrailv2/home?region=" + region + "#/events/" + eventID
}

// consoleDomain is the console's domain for the region's partition.
func consoleDomain(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "console.amazonaws.cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "console.amazonaws-us-gov.com"
	default:
		return "console.aws.amazon.com"
	}
}

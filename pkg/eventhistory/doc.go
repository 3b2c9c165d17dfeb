// Package eventhistory reads the account's CloudTrail Event history — the last 90 days of
// management events in a region, kept by CloudTrail with no trail and no S3 bucket — through
// LookupEvents, for `watchdog replay cloudtrail://REGION`.
//
// LookupEvents filters on one attribute per call, returns at most 50 events a page, newest
// first, and allows two calls a second per account and region. So the reader never pages
// through all events: a Plan, derived from the rule table, looks up each watched eventName once
// (shared by every rule and service that watches it) and the root user's activity by Username,
// and lists the rules Event history cannot serve (denied calls, whose errorCode is no look-up
// attribute; data events, which Event history never holds). A Reader runs the plan for one
// region: every call waits for a Limiter (DefaultRate, shared by all look-ups of the account
// and region), throttling and transient errors are retried with backoff, and the records found
// are decoded from each event's CloudTrailEvent text by pkg/cloudtrail, de-duplicated by
// eventID and yielded oldest first.
//
// A 90-day read costs at least one call per look-up, plus one per further 50 watched events:
// with the built-in rules (about a hundred look-ups) a quiet account is read in about a minute
// per region, whatever its other traffic.
//
// The client comes from the SDK's standard configuration (NewClient), so AWS_ENDPOINT_URL and
// AWS_ENDPOINT_URL_CLOUDTRAIL point it elsewhere, as internal/cloudtrailserver does in tests.
// Reference: https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupEvents.html
package eventhistory

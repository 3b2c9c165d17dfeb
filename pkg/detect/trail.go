package detect

import (
	"fmt"
	"slices"
	"strings"

	"github.com/iam-watchdog/iam-watchdog/pkg/cloudtrail"
)

// CIS 4.5 lists CreateTrail, UpdateTrail, DeleteTrail, StartLogging and StopLogging, and all five
// are reported: those that can take logging away (StopLogging, DeleteTrail, an UpdateTrail that
// records less) high, those that add logging (CreateTrail low, StartLogging info) so that every
// trail change is seen. The watchdog's own StartLogging (restart_logging) is its own call and
// dropped by the policy. PutEventSelectors is not in CIS 4.5 but can silence a trail as surely as
// StopLogging, so it is reported when it does.

// trailARN names a trail given by name or ARN.
func trailARN(rec *cloudtrail.Record, name string) string {
	if name == "" || strings.HasPrefix(name, "arn:") {
		return name
	}
	return "arn:" + rec.Partition() + ":cloudtrail:" + rec.AWSRegion + ":" + rec.Account() + ":trail/" + name
}

const trailManual = "Recreate or reconfigure the trail so that it logs management events (read and write) in every Region to a bucket only the security account can change, with log file validation on, then check what happened while it was off."

func trailDeleted(rec *cloudtrail.Record, f *Finding) bool {
	var req struct {
		Name string `json:"name"`
	}
	_ = rec.Param(&req)
	f.Target = trailARN(rec, req.Name)
	f.Severity = grade(High, rec)
	f.Why = fmt.Sprintf("%s deleted %s%s%s; without CloudTrail nobody can see what happens in the account, which is the first step of covering tracks.", f.Actor.Name, named("trail", req.Name), failedClause(rec), byService(rec))
	f.Manual = trailManual
	if rec.IsRoot() {
		f.Manual += " " + rootManual
	}
	return true
}

// trailUpdated grades UpdateTrail by what the new settings take away: global service events
// (IAM, STS and sign-in are recorded only as global service events), other Regions, log file
// validation, encryption, delivery to CloudWatch Logs (where the CIS metric filters run), or the
// bucket the logs go to. Each is high; a change that takes nothing away is low.
// Reference: https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_UpdateTrail.html
func trailUpdated(rec *cloudtrail.Record, f *Finding) bool {
	var req struct {
		Name                       string  `json:"name"`
		S3BucketName               *string `json:"s3BucketName"`
		IncludeGlobalServiceEvents *bool   `json:"includeGlobalServiceEvents"`
		IsMultiRegionTrail         *bool   `json:"isMultiRegionTrail"`
		EnableLogFileValidation    *bool   `json:"enableLogFileValidation"`
		KMSKeyID                   *string `json:"kmsKeyId"`
		CloudWatchLogsLogGroupARN  *string `json:"cloudWatchLogsLogGroupArn"`
	}
	_ = rec.Param(&req)
	f.Target = trailARN(rec, req.Name)
	var lost []string
	off := func(b *bool) bool { return b != nil && !*b }
	empty := func(s *string) bool { return s != nil && *s == "" }
	if off(req.IncludeGlobalServiceEvents) {
		lost = append(lost, "stopped recording global service events (IAM, STS, sign-in)")
	}
	if off(req.IsMultiRegionTrail) {
		lost = append(lost, "limited it to one Region")
	}
	if off(req.EnableLogFileValidation) {
		lost = append(lost, "turned log file validation off")
	}
	if empty(req.KMSKeyID) {
		lost = append(lost, "removed its KMS encryption")
	}
	if empty(req.CloudWatchLogsLogGroupARN) {
		lost = append(lost, "stopped its delivery to CloudWatch Logs")
	}
	if req.S3BucketName != nil && *req.S3BucketName != "" {
		lost = append(lost, "sent its logs to bucket "+*req.S3BucketName)
	}
	if len(lost) == 0 {
		f.Severity = grade(Low, rec)
		f.Why = fmt.Sprintf("%s changed %s%s%s without taking any logging away; CIS 4.5 asks that every trail change be seen.", f.Actor.Name, named("trail", req.Name), failedClause(rec), byService(rec))
	} else {
		f.Severity = grade(High, rec)
		f.Why = fmt.Sprintf("%s changed %s: %s%s%s; a trail that records less, or writes where an attacker can read or delete it, hides what happens next.", f.Actor.Name, named("trail", req.Name), strings.Join(lost, ", "), failedClause(rec), byService(rec))
		f.Manual = trailManual
	}
	if rec.IsRoot() {
		f.Manual = strings.TrimSpace(f.Manual + " " + rootManual)
	}
	return true
}

// eventSelectorsChanged reports PutEventSelectors that leaves a trail recording no write
// management events: every basic selector excludes management events or records only reads, or
// no advanced selector selects eventCategory Management without limiting it to readOnly true.
// Reads-only is reported too: the changes an attacker makes are writes.
// Reference: https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_PutEventSelectors.html
func eventSelectorsChanged(rec *cloudtrail.Record, f *Finding) bool {
	var req struct {
		TrailName      string `json:"trailName"`
		EventSelectors []struct {
			ReadWriteType           string `json:"readWriteType"`
			IncludeManagementEvents *bool  `json:"includeManagementEvents"`
		} `json:"eventSelectors"`
		AdvancedEventSelectors []struct {
			FieldSelectors []struct {
				Field     string   `json:"field"`
				Equals    []string `json:"equals"`
				NotEquals []string `json:"notEquals"`
			} `json:"fieldSelectors"`
		} `json:"advancedEventSelectors"`
	}
	if rec.Param(&req) != nil {
		return false
	}
	writes := false
	for _, s := range req.EventSelectors {
		management := s.IncludeManagementEvents == nil || *s.IncludeManagementEvents // true by default
		if management && s.ReadWriteType != "ReadOnly" {
			writes = true
		}
	}
	for _, s := range req.AdvancedEventSelectors {
		management, readsOnly := false, false
		for _, fs := range s.FieldSelectors {
			switch fs.Field {
			case "eventCategory":
				management = slices.Contains(fs.Equals, "Management")
			case "readOnly":
				readsOnly = slices.Equal(fs.Equals, []string{"true"}) || slices.Equal(fs.NotEquals, []string{"false"})
			}
		}
		if management && !readsOnly {
			writes = true
		}
	}
	if writes {
		return false
	}
	f.Target = trailARN(rec, req.TrailName)
	f.Severity = grade(High, rec)
	f.Why = fmt.Sprintf("%s changed the event selectors of %s so that it no longer records write management events%s%s; the trail still looks on, but the changes an attacker makes go unrecorded.", f.Actor.Name, named("trail", req.TrailName), failedClause(rec), byService(rec))
	f.Manual = trailManual
	if rec.IsRoot() {
		f.Manual += " " + rootManual
	}
	return true
}

// trailCreated reports CreateTrail (CIS 4.5) at low: more logging is welcome, but a trail also
// copies every call to the bucket it names, so the alert says where the logs go. A failed
// CreateTrail created nothing and is left to the denied-call and root rules.
// Reference: https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_CreateTrail.html
func trailCreated(rec *cloudtrail.Record, f *Finding) bool {
	if rec.Failed() {
		return false
	}
	var req struct {
		Name         string `json:"name"`
		S3BucketName string `json:"s3BucketName"`
	}
	var resp struct {
		TrailARN string `json:"trailARN"`
	}
	_ = rec.Param(&req)
	_ = rec.Response(&resp)
	f.Target = trailARN(rec, req.Name)
	if strings.HasPrefix(resp.TrailARN, "arn:") {
		f.Target = resp.TrailARN
	}
	where := "; check which bucket it delivers to"
	if req.S3BucketName != "" {
		where = ", delivering to bucket " + req.S3BucketName + "; check that the bucket is one only the security team controls"
	}
	f.Severity = grade(Low, rec)
	f.Why = fmt.Sprintf("%s created %s%s%s, since a trail hands a copy of every call in the account to whoever can read its bucket.", f.Actor.Name, named("trail", req.Name), byService(rec), where)
	if rec.IsRoot() {
		f.Manual = rootManual
	}
	return true
}

// loggingStarted reports StartLogging (CIS 4.5) at info: logging is as it should be, but a start
// can be the end of a stop that went unseen. A failed StartLogging changed nothing.
func loggingStarted(rec *cloudtrail.Record, f *Finding) bool {
	if rec.Failed() {
		return false
	}
	var req struct {
		Name string `json:"name"`
	}
	_ = rec.Param(&req)
	f.Target = trailARN(rec, req.Name)
	f.Severity = grade(Info, rec)
	f.Why = fmt.Sprintf("%s started logging on %s%s; logging is as it should be, but CIS 4.5 asks that every trail change be seen, and a start can end a stop nobody noticed.", f.Actor.Name, named("trail", req.Name), byService(rec))
	if rec.IsRoot() {
		f.Manual = rootManual
	}
	return true
}

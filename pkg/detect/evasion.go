package detect

import (
	"fmt"
	"slices"
	"strings"

	"github.com/iam-watchdog/iam-watchdog/pkg/cloudtrail"
)

// The defence-evasion rules report services that would see an attacker being switched off,
// graded by how much the account goes blind: threat detection (GuardDuty) or the account-wide
// guard on public buckets gone high; a narrower view (Security Hub's checks, Access Analyzer's
// findings, one VPC's flow logs, one bucket's guard, GuardDuty's exports) medium.

// guardDutyEvents are the GuardDuty calls that stop or narrow its watch, or hide its findings.
var guardDutyEvents = []string{"DeleteDetector", "UpdateDetector", "DeletePublishingDestination", "DisassociateFromAdministratorAccount"}

// guardDutyDisabled reports a GuardDuty detector deleted or suspended (high), protections turned
// off or findings no longer exported or seen by the administrator account (medium). An
// UpdateDetector that turns nothing off (say, the publishing frequency) is not reported.
// Reference: https://docs.aws.amazon.com/guardduty/latest/APIReference/API_UpdateDetector.html
func guardDutyDisabled(rec *cloudtrail.Record, f *Finding) bool {
	var req struct {
		DetectorID    string `json:"detectorId"`
		DestinationID string `json:"destinationId"`
		Enable        *bool  `json:"enable"`
		Features      []struct {
			Name   string `json:"name"`
			Status string `json:"status"`
		} `json:"features"`
		DataSources struct {
			S3Logs struct {
				Enable *bool `json:"enable"`
			} `json:"s3Logs"`
			Kubernetes struct {
				AuditLogs struct {
					Enable *bool `json:"enable"`
				} `json:"auditLogs"`
			} `json:"kubernetes"`
			MalwareProtection struct {
				ScanEC2InstanceWithFindings struct {
					EBSVolumes *bool `json:"ebsVolumes"`
				} `json:"scanEc2InstanceWithFindings"`
			} `json:"malwareProtection"`
		} `json:"dataSources"`
	}
	_ = rec.Param(&req)
	if req.DetectorID != "" {
		f.Target = "arn:" + rec.Partition() + ":guardduty:" + rec.AWSRegion + ":" + rec.Account() + ":detector/" + req.DetectorID
	}
	detector := named("GuardDuty detector", req.DetectorID)
	manual := "If nobody agreed to it, enable GuardDuty again in this Region (aws guardduty create-detector --enable, or update-detector --enable) and review what happened while it was off."
	base, what, why := Medium, "", ""
	switch rec.EventName {
	case "DeleteDetector":
		base, what = High, "deleted "+detector
		why = "GuardDuty stops looking for threats in this Region and its findings are deleted with it, which is what an attacker does first"
	case "DisassociateFromAdministratorAccount":
		what = "took " + detector + " out of its GuardDuty administrator account"
		why = "the security team's central view no longer shows this account's findings"
		manual = "If nobody agreed to it, invite the account again from the GuardDuty administrator account."
	case "DeletePublishingDestination":
		what = fmt.Sprintf("deleted %s of %s", named("publishing destination", req.DestinationID), detector)
		why = "its findings are no longer exported, so they stay where fewer people look"
		manual = "If nobody agreed to it, create the publishing destination again (aws guardduty create-publishing-destination)."
	default: // UpdateDetector
		if req.Enable != nil && !*req.Enable {
			base, what = High, "suspended "+detector
			why = "GuardDuty stops looking for threats in this Region until it is enabled again"
			break
		}
		var off []string
		for _, ft := range req.Features {
			if strings.EqualFold(ft.Status, "DISABLED") && ft.Name != "" {
				off = append(off, ft.Name)
			}
		}
		ds := req.DataSources
		for name, enabled := range map[string]*bool{
			"S3 logs": ds.S3Logs.Enable, "Kubernetes audit logs": ds.Kubernetes.AuditLogs.Enable,
			"malware scans of EBS volumes": ds.MalwareProtection.ScanEC2InstanceWithFindings.EBSVolumes,
		} {
			if enabled != nil && !*enabled {
				off = append(off, name)
			}
		}
		if len(off) == 0 {
			return false
		}
		slices.Sort(off)
		what = fmt.Sprintf("turned off GuardDuty protection (%s) on %s", strings.Join(off, ", "), detector)
		why = "what those protections watch goes unwatched"
		manual = "If nobody agreed to it, turn the protections on again (aws guardduty update-detector --features)."
	}
	f.Severity = grade(base, rec)
	f.Why = fmt.Sprintf("%s %s%s%s; %s.", f.Actor.Name, what, failedClause(rec), byService(rec), why)
	f.Manual = evasionManual(rec, manual)
	return true
}

// securityHubDisabled reports DisableSecurityHub (medium): Security Hub's checks stop and its
// findings are deleted, though the services that feed it still detect on their own.
// Reference: https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_DisableSecurityHub.html
func securityHubDisabled(rec *cloudtrail.Record, f *Finding) bool {
	f.Target = "arn:" + rec.Partition() + ":securityhub:" + rec.AWSRegion + ":" + rec.Account() + ":hub/default"
	f.Severity = grade(Medium, rec)
	f.Why = fmt.Sprintf("%s disabled Security Hub%s%s; its security checks stop and its findings are deleted, so the account's posture in this Region goes unwatched.", f.Actor.Name, failedClause(rec), byService(rec))
	f.Manual = evasionManual(rec, "If nobody agreed to it, enable Security Hub again (aws securityhub enable-security-hub) with the standards you use.")
	return true
}

// accessAnalyzerDeleted reports DeleteAnalyzer (medium): resources shared outside the account or
// organization are no longer reported.
// Reference: https://docs.aws.amazon.com/access-analyzer/latest/APIReference/API_DeleteAnalyzer.html
func accessAnalyzerDeleted(rec *cloudtrail.Record, f *Finding) bool {
	var req struct {
		AnalyzerName string `json:"analyzerName"`
	}
	_ = rec.Param(&req)
	if req.AnalyzerName != "" {
		f.Target = "arn:" + rec.Partition() + ":access-analyzer:" + rec.AWSRegion + ":" + rec.Account() + ":analyzer/" + req.AnalyzerName
	}
	f.Severity = grade(Medium, rec)
	f.Why = fmt.Sprintf("%s deleted %s%s%s; resources shared outside the account are no longer reported in this Region.", f.Actor.Name, named("IAM Access Analyzer analyzer", req.AnalyzerName), failedClause(rec), byService(rec))
	f.Manual = evasionManual(rec, "If nobody agreed to it, create the analyzer again (aws accessanalyzer create-analyzer) and review its findings.")
	return true
}

// flowLogsDeleted reports DeleteFlowLogs (medium): the traffic of the VPCs, subnets or interfaces
// they covered is no longer recorded. EC2 records the IDs (FlowLogId.N) under its own request
// element, so they are read wherever in requestParameters they appear.
// Reference: https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeleteFlowLogs.html
func flowLogsDeleted(rec *cloudtrail.Record, f *Finding) bool {
	var params any
	_ = rec.Param(&params)
	ids := idsWithPrefix(params, "fl-")
	if len(ids) > 0 {
		f.Target = ec2Target(rec, "vpc-flow-log", ids[0])
	}
	logs, they := "flow logs the record does not name", "they"
	switch len(ids) {
	case 0:
	case 1:
		logs, they = "flow log "+ids[0], "it"
	default:
		logs = "flow logs " + strings.Join(ids, ", ")
	}
	f.Severity = grade(Medium, rec)
	f.Why = fmt.Sprintf("%s deleted VPC %s%s%s; the network traffic %s recorded is no longer captured, which hides exfiltration and lateral movement.", f.Actor.Name, logs, failedClause(rec), byService(rec), they)
	f.Manual = evasionManual(rec, "If nobody agreed to it, create the flow logs again (aws ec2 create-flow-logs) for the same VPCs, subnets or interfaces.")
	return true
}

// idsWithPrefix collects, in order and once each, the strings in a decoded JSON value that
// begin with prefix.
func idsWithPrefix(v any, prefix string) []string {
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case string:
			if strings.HasPrefix(v, prefix) && !slices.Contains(out, v) {
				out = append(out, v)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		case map[string]any:
			keys := make([]string, 0, len(v))
			for k := range v {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				walk(v[k])
			}
		}
	}
	walk(v)
	return out
}

// publicAccessBlockEvents are the S3 Block Public Access calls, for buckets and for the account.
// The account's go through S3 Control but are recorded with eventSource s3.amazonaws.com under
// the names of their IAM actions.
// Reference: https://docs.aws.amazon.com/AmazonS3/latest/userguide/cloudtrail-logging-s3-info.html
var publicAccessBlockEvents = []string{
	"PutBucketPublicAccessBlock", "DeleteBucketPublicAccessBlock",
	"PutAccountPublicAccessBlock", "DeleteAccountPublicAccessBlock",
}

// flexBool reads a JSON boolean or a boolean in a string.
type flexBool struct{ v, ok bool }

func (b *flexBool) UnmarshalJSON(data []byte) error {
	switch strings.ToLower(strings.Trim(string(data), `"`)) {
	case "true":
		*b = flexBool{true, true}
	case "false":
		*b = flexBool{false, true}
	}
	return nil
}

// publicAccessBlockRemoved reports S3 Block Public Access deleted, or put with any of its four
// settings off (a setting left out of PutPublicAccessBlock is off): for the whole account high,
// for one bucket medium. A Put with all four on is not reported.
// Reference: https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutPublicAccessBlock.html,
// https://docs.aws.amazon.com/AmazonS3/latest/API/API_control_PutPublicAccessBlock.html
func publicAccessBlockRemoved(rec *cloudtrail.Record, f *Finding) bool {
	var req struct {
		BucketName string `json:"bucketName"`
		Config     struct {
			BlockPublicAcls       flexBool `json:"BlockPublicAcls"`
			IgnorePublicAcls      flexBool `json:"IgnorePublicAcls"`
			BlockPublicPolicy     flexBool `json:"BlockPublicPolicy"`
			RestrictPublicBuckets flexBool `json:"RestrictPublicBuckets"`
		} `json:"PublicAccessBlockConfiguration"`
	}
	_ = rec.Param(&req)
	account := strings.Contains(rec.EventName, "Account")
	scope, base := "for "+named("bucket", req.BucketName), Medium
	why := "a policy or ACL can now make that bucket public"
	if account {
		scope, base = "for the whole account", High
		why = "any bucket can now be made public by its policy or ACL, so a data leak is one call away"
		f.Target = rootARN(rec)
	} else if req.BucketName != "" {
		f.Target = "arn:" + rec.Partition() + ":s3:::" + req.BucketName
	}
	what := "removed S3 Block Public Access " + scope
	if strings.HasPrefix(rec.EventName, "Put") {
		var off []string
		c := req.Config
		for _, s := range []struct {
			name string
			on   flexBool
		}{{"BlockPublicAcls", c.BlockPublicAcls}, {"IgnorePublicAcls", c.IgnorePublicAcls}, {"BlockPublicPolicy", c.BlockPublicPolicy}, {"RestrictPublicBuckets", c.RestrictPublicBuckets}} {
			if !s.on.v {
				off = append(off, s.name)
			}
		}
		if len(off) == 0 {
			return false
		}
		what = fmt.Sprintf("turned off %s of S3 Block Public Access %s", strings.Join(off, ", "), scope)
	}
	f.Severity = grade(base, rec)
	f.Why = fmt.Sprintf("%s %s%s%s; %s.", f.Actor.Name, what, failedClause(rec), byService(rec), why)
	command := "aws s3control put-public-access-block --account-id " + rec.Account()
	if !account {
		bucket := req.BucketName
		if bucket == "" {
			bucket = "<bucket>"
		}
		command = "aws s3api put-public-access-block --bucket " + bucket
	}
	f.Manual = evasionManual(rec, "If nobody agreed to it, turn all four settings on again ("+command+
		" --public-access-block-configuration BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true).")
	return true
}

// evasionManual is manual, with the root user's steps when root made the call.
func evasionManual(rec *cloudtrail.Record, manual string) string {
	if rec.IsRoot() {
		return manual + " " + rootManual
	}
	return manual
}

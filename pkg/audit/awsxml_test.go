package audit

import (
	"encoding/base64"
	"strings"

	"github.com/iam-watchdog/iam-watchdog/internal/faultproxy"
)

// These are IAM's answers in the query protocol's XML, as the API reference shows them, for
// what moto cannot say: a credential report with a <root_account> row, a virtual MFA device
// assigned to the root user, and ListOrganizationsFeatures (which moto does not implement).
// The faultproxy in front of moto answers with them instead of forwarding.

func iamAnswer(action, result string) faultproxy.Fault { return faultproxy.QueryResult(action, result) }

// credentialReportAnswer is GetCredentialReport's answer: the report Base64-encoded, as
// https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetCredentialReport.html shows.
func credentialReportAnswer(csv []byte) faultproxy.Fault {
	return iamAnswer("GetCredentialReport", "<Content>"+base64.StdEncoding.EncodeToString(csv)+"</Content>"+
		"<ReportFormat>text/csv</ReportFormat><GeneratedTime>2025-06-01T11:58:00Z</GeneratedTime>")
}

// rootVirtualMFAAnswer is ListVirtualMFADevices listing the root user's virtual device, which
// AWS names root-account-mfa-device and shows with the root user's ARN.
func rootVirtualMFAAnswer(account string) faultproxy.Fault {
	return iamAnswer("ListVirtualMFADevices", "<VirtualMFADevices><member>"+
		"<SerialNumber>arn:aws:iam::"+account+":mfa/root-account-mfa-device</SerialNumber>"+
		"<User><Path>/</Path><UserName>"+account+"</UserName><UserId>"+account+"</UserId>"+
		"<Arn>arn:aws:iam::"+account+":root</Arn><CreateDate>2019-03-01T10:00:00Z</CreateDate></User>"+
		"<EnableDate>2019-03-01T10:05:00Z</EnableDate></member></VirtualMFADevices><IsTruncated>false</IsTruncated>")
}

// orgFeaturesAnswer is ListOrganizationsFeatures' answer:
// https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListOrganizationsFeatures.html
func orgFeaturesAnswer(features ...string) faultproxy.Fault {
	var members strings.Builder
	for _, f := range features {
		members.WriteString("<member>" + f + "</member>")
	}
	return iamAnswer("ListOrganizationsFeatures", "<OrganizationId>o-aa111bb222</OrganizationId><EnabledFeatures>"+members.String()+"</EnabledFeatures>")
}

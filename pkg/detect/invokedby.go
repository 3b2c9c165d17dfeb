package detect

import "strings"

// consoleInvokers are userIdentity.invokedBy values that mean a person working in the AWS
// Management Console, not a service acting for a caller: CloudTrail names the console sign-in
// service for an IAM user's console calls (signin.amazonaws.com) and the console for the root
// user's (console.amazonaws.com), and AWS's own front ends appear as "AWS Internal".
// Reference: https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html
// (userAgent and sourceIPAddress), https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-user-identity.html
var consoleInvokers = []string{"signin.amazonaws.com", "console.amazonaws.com", "AWS Internal"}

// ActingService is the AWS service that made a call on the caller's behalf, from the record's
// userIdentity.invokedBy, or "" when invokedBy names none: absent, the console (a person at the
// keyboard), AWS Internal, or anything that is not a service principal (<name>.amazonaws.com).
// Only a service acting for a caller (CloudFormation, Config, Organizations, SSO, …) lowers a
// finding's grade and holds back its revert; a console user is graded and remediated exactly as
// if the field were absent, so anything not recognised as a service counts as a person.
func ActingService(invokedBy string) string {
	s := strings.TrimSpace(invokedBy)
	if s == "" || hasPrefixFold(s, "aws-internal") {
		return ""
	}
	for _, c := range consoleInvokers {
		if strings.EqualFold(s, c) {
			return ""
		}
	}
	for _, suffix := range []string{".amazonaws.com", ".amazonaws.com.cn"} {
		if len(s) > len(suffix) && strings.EqualFold(s[len(s)-len(suffix):], suffix) {
			return s
		}
	}
	return ""
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

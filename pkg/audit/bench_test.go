package audit

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// BenchmarkParseCredentialReport parses a report of 5,000 users (IAM's quota per account), as
// AWS formats it.
func BenchmarkParseCredentialReport(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated\n")
	for i := range 5000 {
		fmt.Fprintf(&sb, "user%04d,arn:aws:iam::123456789012:user/user%04d,2024-01-10T09:00:00+00:00,true,2025-05-31T17:45:00+00:00,2024-01-10T09:05:00+00:00,N/A,true,true,2025-04-01T00:00:00+00:00,2025-05-31T18:00:00+00:00,eu-west-1,ec2,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n", i, i)
	}
	content := []byte(sb.String())
	b.SetBytes(int64(len(content)))
	b.ReportAllocs()
	for b.Loop() {
		r, err := ParseCredentialReport(content)
		if err != nil || len(r.Rows) != 5000 {
			b.Fatal(err)
		}
	}
}

// BenchmarkUserChecks evaluates the credential-report checks over 5,000 users.
func BenchmarkUserChecks(b *testing.B) {
	report := &CredentialReport{}
	for i := range 5000 {
		report.Rows = append(report.Rows, CredentialRow{
			User: fmt.Sprintf("user%04d", i), ARN: fmt.Sprintf("arn:aws:iam::123456789012:user/user%04d", i),
			Created: Stamp{Time: time.Date(2024, 1, 10, 9, 0, 0, 0, time.UTC)}, PasswordEnabled: FlagTrue,
			PasswordLastUsed: Stamp{Word: "no_information"}, PasswordLastChanged: Stamp{Word: "N/A"},
			Keys: [2]AccessKeyColumns{{Active: true, LastRotated: Stamp{Time: time.Date(2024, 1, 10, 9, 0, 0, 0, time.UTC)}, LastUsed: Stamp{Word: "N/A"}}, {LastRotated: Stamp{Word: "N/A"}, LastUsed: Stamp{Word: "N/A"}}},
		})
	}
	a := &accountAudit{account: "123456789012", partition: "aws", now: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC), opts: Options{}.withDefaults(), report: report}
	evals := []func(*accountAudit, *Check) []Result{
		func(a *accountAudit, c *Check) []Result { return evalUserMFA(b.Context(), a, c) },
		func(a *accountAudit, c *Check) []Result { return evalKeyAtSetup(b.Context(), a, c) },
		func(a *accountAudit, c *Check) []Result { return evalUnusedCredentials(b.Context(), a, c) },
		func(a *accountAudit, c *Check) []Result { return evalOneActiveKey(b.Context(), a, c) },
		func(a *accountAudit, c *Check) []Result { return evalKeyRotation(b.Context(), a, c) },
	}
	c := &checks[0]
	b.ReportAllocs()
	for b.Loop() {
		for _, eval := range evals {
			if got := len(eval(a, c)); got != 5000 {
				b.Fatalf("%d results", got)
			}
		}
	}
}

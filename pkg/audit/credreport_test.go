package audit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The fixtures in testdata/credreport are credential reports in the format AWS documents
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_getting-report.html): the
// documented columns in order, a <root_account> row, not_supported in the root user's password
// columns, N/A for what does not exist, no_information for a password never used, booleans in
// both the documented TRUE/FALSE and the true/false real reports carry, ISO 8601 times.

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "credreport", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestParseCredentialReportDocumentedFormat(t *testing.T) {
	report, err := ParseCredentialReport(readFixture(t, "root-key-no-mfa.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if len(report.Rows) != 3 {
		t.Fatalf("%d rows, want 3", len(report.Rows))
	}
	root, ok := report.RootRow()
	if !ok {
		t.Fatal("no root row")
	}
	want := CredentialRow{
		User: RootUser, ARN: "arn:aws:iam::123456789012:root",
		Created:             Stamp{Time: mustTime("2019-03-01T10:00:00Z")},
		PasswordEnabled:     FlagNotSupported,
		PasswordLastUsed:    Stamp{Time: mustTime("2025-05-20T08:30:00Z")},
		PasswordLastChanged: Stamp{Word: "not_supported"},
		Keys: [2]AccessKeyColumns{
			{Active: true, LastRotated: Stamp{Time: mustTime("2019-03-02T10:00:00Z")}, LastUsed: Stamp{Time: mustTime("2025-05-30T12:00:00Z")}},
			{LastRotated: Stamp{Word: "N/A"}, LastUsed: Stamp{Word: "N/A"}},
		},
	}
	if !equalRows(root, want) {
		t.Errorf("root row\n got %+v\nwant %+v", root, want)
	}
	if !root.HasPassword() {
		t.Error("a root row with password_enabled not_supported has no password; the root user always has one there")
	}
	users := report.Users()
	if len(users) != 2 || users[0].User != "alice" || users[1].User != "deploy-bot" {
		t.Fatalf("users %+v", users)
	}
	alice := users[0]
	if alice.PasswordEnabled != FlagTrue || !alice.HasPassword() || !alice.MFAActive || !alice.Keys[0].Active || alice.Keys[1].Active {
		t.Errorf("alice (TRUE/FALSE as documented) read as %+v", alice)
	}
	bot := users[1]
	if bot.HasPassword() || bot.PasswordLastUsed.Word != "N/A" || !bot.Keys[1].Active || bot.Keys[1].LastUsed.Set() {
		t.Errorf("deploy-bot (true/false as reports carry) read as %+v", bot)
	}
	if got := bot.Keys[1].LastUsed.String(); got != "N/A" {
		t.Errorf("an unused key's last use prints %q, want N/A", got)
	}
}

func equalRows(a, b CredentialRow) bool {
	eq := func(x, y Stamp) bool { return x.Word == y.Word && x.Time.Equal(y.Time) }
	if a.User != b.User || a.ARN != b.ARN || a.PasswordEnabled != b.PasswordEnabled || a.MFAActive != b.MFAActive ||
		!eq(a.Created, b.Created) || !eq(a.PasswordLastUsed, b.PasswordLastUsed) || !eq(a.PasswordLastChanged, b.PasswordLastChanged) {
		return false
	}
	for i := range a.Keys {
		if a.Keys[i].Active != b.Keys[i].Active || !eq(a.Keys[i].LastRotated, b.Keys[i].LastRotated) || !eq(a.Keys[i].LastUsed, b.Keys[i].LastUsed) {
			return false
		}
	}
	return true
}

func TestParseCredentialReportRootWithoutCredentials(t *testing.T) {
	report, err := ParseCredentialReport(readFixture(t, "root-no-credentials.csv"))
	if err != nil {
		t.Fatal(err)
	}
	root, _ := report.RootRow()
	if root.HasPassword() || rootHasCredentials(root) {
		t.Errorf("root with password_enabled FALSE and no keys read as having credentials: %+v", root)
	}
}

func TestParseCredentialReportRejects(t *testing.T) {
	header := "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated\n"
	good := "bob,arn:aws:iam::123456789012:user/bob,2024-01-10T09:00:00+00:00,true,no_information,2024-01-10T09:00:00+00:00,N/A,false,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n"
	for _, tc := range []struct {
		name, content, want string
	}{
		{"empty", "", "empty"},
		{"missing columns", "user,arn,mfa_active\nbob,arn:aws:iam::1:user/bob,true\n", "lacks column(s) user_creation_time"},
		{"yes for a boolean", header + strings.Replace(good, ",false,false,", ",yes,false,", 1), `column mfa_active: "yes" is not TRUE or FALSE`},
		{"not_supported for a user's password", header + strings.Replace(good, ",true,no_information,", ",not_supported,no_information,", 1), "column password_enabled"},
		{"a date that is not ISO 8601", header + strings.Replace(good, "2024-01-10T09:00:00+00:00,true", "10/01/2024,true", 1), "column user_creation_time"},
		{"a row cut short", header + "bob,arn:aws:iam::123456789012:user/bob\n", "wrong number of fields"},
		{"no ARN", header + strings.Replace(good, "arn:aws:iam::123456789012:user/bob", "", 1), "both must be set"},
		{"something else than an ARN", header + strings.Replace(good, "arn:aws:iam::123456789012:user/bob", "user/bob", 1), "is not an ARN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseCredentialReport([]byte(tc.content))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	if _, err := ParseCredentialReport([]byte(header + good)); err != nil {
		t.Errorf("the good row was refused: %v", err)
	}
}

// FuzzParseCredentialReport: no input makes the parser panic, and what it accepts is whole
// (every row has a user and an ARN, and every time column is a time or one of the words).
func FuzzParseCredentialReport(f *testing.F) {
	for _, name := range []string{"root-key-no-mfa.csv", "root-no-credentials.csv", "root-never-used.csv"} {
		f.Add(readFixture(f, name))
	}
	f.Add([]byte("user,arn\n"))
	f.Fuzz(func(t *testing.T, content []byte) {
		report, err := ParseCredentialReport(content)
		if err != nil {
			return
		}
		for _, r := range report.Rows {
			if r.User == "" || !strings.HasPrefix(r.ARN, "arn:") {
				t.Fatalf("accepted row %+v", r)
			}
			for _, s := range []Stamp{r.Created, r.PasswordLastUsed, r.PasswordLastChanged, r.Keys[0].LastRotated, r.Keys[0].LastUsed, r.Keys[1].LastRotated, r.Keys[1].LastUsed} {
				if !s.Set() && !stampWords[s.Word] {
					t.Fatalf("accepted stamp %+v in row %+v", s, r)
				}
			}
		}
	})
}

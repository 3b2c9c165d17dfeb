package audit

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// The credential report, in the format AWS documents:
//   https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_getting-report.html
// A CSV file with a header row; one row per IAM user and one for the root user, whose user is
// "<root_account>" and whose ARN is arn:<partition>:iam::<account>:root. Booleans are TRUE or
// FALSE (reports in the wild say true and false); times are ISO 8601 (2014-10-20T22:02:54+00:00).
// Where there is no time, a column holds a word instead:
//   - N/A: nothing to date (no password, no access key, a key never used);
//   - no_information: a password never used, or not used since IAM began tracking it (2014-10-20);
//   - not_supported: a column that does not apply to the root user (password_enabled in older
//     reports, password_last_changed, password_next_rotation). moto also writes it in
//     password_last_used of users without a password, where AWS writes N/A.

// RootUser is the user column of the root user's row.
const RootUser = "<root_account>"

// Flag is a boolean column of the credential report.
type Flag string

// Flag values. NotSupported appears in the root user's password_enabled.
const (
	FlagTrue         Flag = "true"
	FlagFalse        Flag = "false"
	FlagNotSupported Flag = "not_supported"
)

// Stamp is a time column: a Time, or, when the report has none, the word it gives instead
// (N/A, no_information or not_supported).
type Stamp struct {
	Time time.Time
	Word string
}

// Set reports whether the column holds a time.
func (s Stamp) Set() bool { return s.Word == "" && !s.Time.IsZero() }

// String is the column as the report wrote it, normalised to RFC 3339 for times.
func (s Stamp) String() string {
	if s.Set() {
		return s.Time.UTC().Format(time.RFC3339)
	}
	return s.Word
}

// AccessKeyColumns are the columns of one of a user's two access keys.
type AccessKeyColumns struct {
	Active      bool
	LastRotated Stamp // when the key was created or last changed; N/A without an active key
	LastUsed    Stamp // N/A when the key has never been used (or not since 2015-04-22)
}

// CredentialRow is one user's row.
type CredentialRow struct {
	User                string
	ARN                 string
	Created             Stamp
	PasswordEnabled     Flag
	PasswordLastUsed    Stamp
	PasswordLastChanged Stamp
	MFAActive           bool
	Keys                [2]AccessKeyColumns
}

// Root reports whether the row is the root user's.
func (r CredentialRow) Root() bool { return r.User == RootUser }

// HasPassword reports whether the user can sign in to the console with a password. The root
// user has one unless the report says FALSE (a member account whose root credentials were
// removed through centralized root access); older reports say not_supported for it.
func (r CredentialRow) HasPassword() bool {
	if r.Root() {
		return r.PasswordEnabled != FlagFalse
	}
	return r.PasswordEnabled == FlagTrue
}

// CredentialReport is a parsed credential report.
type CredentialReport struct {
	Rows []CredentialRow // in report order, the root user's included
}

// RootRow returns the root user's row, if the report has one (moto's has none).
func (c *CredentialReport) RootRow() (CredentialRow, bool) {
	for _, r := range c.Rows {
		if r.Root() {
			return r, true
		}
	}
	return CredentialRow{}, false
}

// Users returns the IAM users' rows: every row but the root user's.
func (c *CredentialReport) Users() []CredentialRow {
	var users []CredentialRow
	for _, r := range c.Rows {
		if !r.Root() {
			users = append(users, r)
		}
	}
	return users
}

// reportColumns are the columns the audit reads; any others (cert_*, *_last_used_region, columns
// AWS may add) are ignored, and the order of columns is taken from the header.
var reportColumns = []string{
	"user", "arn", "user_creation_time", "password_enabled", "password_last_used",
	"password_last_changed", "mfa_active",
	"access_key_1_active", "access_key_1_last_rotated", "access_key_1_last_used_date",
	"access_key_2_active", "access_key_2_last_rotated", "access_key_2_last_used_date",
}

// ParseCredentialReport reads a credential report's CSV (the decoded Content of
// GetCredentialReport). A row with a value the format does not allow is an error naming the
// row's user, the column and the value: a report misread would pass or fail users wrongly.
func ParseCredentialReport(content []byte) (*CredentialReport, error) {
	r := csv.NewReader(bytes.NewReader(content))
	r.ReuseRecord = false
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, errors.New("credential report is empty: no header row")
	}
	if err != nil {
		return nil, fmt.Errorf("credential report header: %w", err)
	}
	col := map[string]int{}
	for i, name := range header {
		col[strings.TrimSpace(strings.TrimPrefix(name, "\ufeff"))] = i
	}
	var missing []string
	for _, name := range reportColumns {
		if _, ok := col[name]; !ok {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("credential report header lacks column(s) %s", strings.Join(missing, ", "))
	}

	report := &CredentialReport{}
	for line := 2; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return report, nil
		}
		if err != nil {
			return nil, fmt.Errorf("credential report: %w", err)
		}
		row, err := parseRow(rec, col)
		if err != nil {
			return nil, fmt.Errorf("credential report line %d: %w", line, err)
		}
		report.Rows = append(report.Rows, row)
	}
}

func parseRow(rec []string, col map[string]int) (CredentialRow, error) {
	get := func(name string) string { return strings.TrimSpace(rec[col[name]]) }
	row := CredentialRow{User: get("user"), ARN: get("arn")}
	if row.User == "" || row.ARN == "" {
		return row, fmt.Errorf("user %q, arn %q: both must be set", row.User, row.ARN)
	}
	if !strings.HasPrefix(row.ARN, "arn:") {
		return row, fmt.Errorf("user %s: arn %q is not an ARN", row.User, row.ARN)
	}
	var errs []error
	stamp := func(name string) Stamp {
		s, err := parseStamp(get(name))
		if err != nil {
			errs = append(errs, fmt.Errorf("user %s: column %s: %w", row.User, name, err))
		}
		return s
	}
	flag := func(name string, notSupportedOK bool) Flag {
		f, err := parseFlag(get(name), notSupportedOK)
		if err != nil {
			errs = append(errs, fmt.Errorf("user %s: column %s: %w", row.User, name, err))
		}
		return f
	}
	row.Created = stamp("user_creation_time")
	row.PasswordEnabled = flag("password_enabled", row.Root())
	row.PasswordLastUsed = stamp("password_last_used")
	row.PasswordLastChanged = stamp("password_last_changed")
	row.MFAActive = flag("mfa_active", false) == FlagTrue
	for i := range row.Keys {
		prefix := fmt.Sprintf("access_key_%d_", i+1)
		row.Keys[i] = AccessKeyColumns{
			Active:      flag(prefix+"active", false) == FlagTrue,
			LastRotated: stamp(prefix + "last_rotated"),
			LastUsed:    stamp(prefix + "last_used_date"),
		}
	}
	return row, errors.Join(errs...)
}

func parseFlag(v string, notSupportedOK bool) (Flag, error) {
	switch strings.ToLower(v) {
	case "true":
		return FlagTrue, nil
	case "false":
		return FlagFalse, nil
	case "not_supported":
		if notSupportedOK {
			return FlagNotSupported, nil
		}
	}
	return "", fmt.Errorf("%q is not TRUE or FALSE", v)
}

// stampWords are the words a time column may hold instead of a time.
var stampWords = map[string]bool{"N/A": true, "no_information": true, "not_supported": true}

func parseStamp(v string) (Stamp, error) {
	if stampWords[v] {
		return Stamp{Word: v}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil || t.IsZero() {
		return Stamp{}, fmt.Errorf("%q is neither an ISO 8601 time nor N/A, no_information or not_supported", v)
	}
	return Stamp{Time: t}, nil
}

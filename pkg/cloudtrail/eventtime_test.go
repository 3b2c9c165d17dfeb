package cloudtrail

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// TestReadEventTime reads eventTime in each form CloudTrail and exports write it, and refuses
// placeholders.
func TestReadEventTime(t *testing.T) {
	utc := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v.UTC()
	}
	for _, tc := range []struct {
		text           string
		want           time.Time // zero: refused
		cloudTrailForm bool
	}{
		{"2024-05-01T12:00:00Z", utc("2024-05-01T12:00:00Z"), true},
		{"2022-09-27 17:09:18", utc("2022-09-27T17:09:18Z"), false},
		{"2024-11-25 17:51:21.000000000", utc("2024-11-25T17:51:21Z"), false},
		{"2024-11-25 17:51:21.123456789", utc("2024-11-25T17:51:21.123456789Z"), false},
		{"2024-11-25 17:51:21.5", utc("2024-11-25T17:51:21.5Z"), false},
		{"2024-11-25T17:51:21.000000000Z", utc("2024-11-25T17:51:21Z"), false},
		{"2024-11-25T17:51:21.000000000", utc("2024-11-25T17:51:21Z"), false},
		{"2024-11-25 17:51:21.000000000Z", utc("2024-11-25T17:51:21Z"), false},
		{"2022-09-27T17:09:18", utc("2022-09-27T17:09:18Z"), false},
		{"2022-09-27 17:09:18Z", utc("2022-09-27T17:09:18Z"), false},
		{"2024-02-29 23:59:59", utc("2024-02-29T23:59:59Z"), false},
		{"2024-05-01T14:00:00.123+02:00", utc("2024-05-01T12:00:00.123Z"), false},
		{"2024-05-01 14:00:00+02:00", utc("2024-05-01T12:00:00Z"), false},
		{"2024-05-01T12:00:00-00:00", utc("2024-05-01T12:00:00Z"), false},
		// Placeholders and broken times stay errors.
		{"", time.Time{}, false},
		{"...", time.Time{}, false},
		{"<eventTime>", time.Time{}, false},
		{"${eventTime}", time.Time{}, false},
		{"yesterday", time.Time{}, false},
		{"2022-09-27", time.Time{}, false},
		{"2022-09-27 17:09", time.Time{}, false},
		{"17:09:18", time.Time{}, false},
		{"2022-09-27 17:09:18 UTC", time.Time{}, false},
		{"2022-09-27 17:09:18.", time.Time{}, false},
		{"2022-09-27 17:09:18.x", time.Time{}, false},
		{"2022-09-27_17:09:18", time.Time{}, false},
		{"2023-02-29 12:00:00", time.Time{}, false},
		{"2022-09-27 25:09:18", time.Time{}, false},
		{"2022-09-27T17:09:18" + strings.Repeat("0", maxTimeText), time.Time{}, false},
		{"1714564800", time.Time{}, false},
	} {
		got, ctForm, ok := readEventTime([]byte(tc.text))
		if ok != !tc.want.IsZero() {
			t.Errorf("%q: read %v, want %v", tc.text, ok, !tc.want.IsZero())
			continue
		}
		if !ok {
			continue
		}
		if !got.Equal(tc.want) || ctForm != tc.cloudTrailForm {
			t.Errorf("%q: %v (CloudTrail's form %v), want %v (%v)", tc.text, got, ctForm, tc.want, tc.cloudTrailForm)
		}
		if _, offset := got.Zone(); !strings.ContainsAny(tc.text[10:], "+-") && (offset != 0 || got.Location() != time.UTC) {
			t.Errorf("%q: read in %v, want UTC", tc.text, got.Location())
		}
	}
}

// TestReadEventTimeAsBefore: every text time.Time's UnmarshalText reads (what was read before
// export forms were) is read to the same Time, location included; CloudTrail's form is told
// exactly. The texts are every day of every month of years around each leap rule, times at
// the edges, and random mutations of CloudTrail's form and an export's.
func TestReadEventTimeAsBefore(t *testing.T) {
	var texts []string
	for _, year := range []int{0, 1, 4, 99, 100, 400, 1600, 1899, 1900, 1969, 1970, 1999, 2000, 2004, 2023, 2024, 2100, 9999} {
		for month := 0; month <= 13; month++ {
			for day := 0; day <= 32; day++ {
				texts = append(texts, time.Date(year, time.Month(month), day, 12, 34, 56, 0, time.UTC).Format("2006-01-02T15:04:05Z"))
			}
		}
	}
	for _, hms := range []string{"00:00:00", "23:59:59", "24:00:00", "23:60:00", "23:59:60", "99:99:99"} {
		texts = append(texts, "2024-02-29T"+hms+"Z", "2023-12-31T"+hms+"Z")
	}
	texts = append(texts, "2024-05-02T23:55:14z", "2024-05-02t23:55:14Z", "2024-05-02T23:55:14.5Z",
		"2024-05-02T23:55:14+00:00", "2024-05-02 23:55:14Z", "+024-05-02T23:55:14Z", "-024-05-02T23:55:14Z",
		"2024-05-02T23:55:1Z", "", "2024-05-02T23:55:14ZZ", "2024-05-02T3:55:14Z")
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := "0123456789-:TZ+ ./:aé"
	for range 100000 {
		at := time.Unix(rng.Int64N(253402300799+62135596800)-62135596800, rng.Int64N(1e9)).UTC()
		for _, layout := range []string{"2006-01-02T15:04:05Z", "2006-01-02 15:04:05.000000000"} {
			b := []byte(at.Format(layout))
			for range rng.IntN(3) {
				b[rng.IntN(len(b))] = alphabet[rng.IntN(len(alphabet))]
			}
			texts = append(texts, string(b))
		}
	}
	read := 0
	for _, s := range texts {
		got, ctForm, ok := readEventTime([]byte(s))
		var want time.Time
		if err := want.UnmarshalText([]byte(s)); err != nil {
			continue
		}
		read++
		if !ok || got != want {
			t.Fatalf("readEventTime(%q) = %#v, %v; UnmarshalText reads %#v", s, got, ok, want)
		}
		if isCloudTrailForm := len(s) == 20 && s[10] == 'T' && s[19] == 'Z'; ctForm != isCloudTrailForm {
			t.Fatalf("readEventTime(%q): CloudTrail's form %v, want %v", s, ctForm, isCloudTrailForm)
		}
	}
	if read < len(texts)/4 {
		t.Fatalf("UnmarshalText read only %d of %d texts", read, len(texts))
	}
}

// TestUTCSecond checks utcSecond against time.Time's UnmarshalText: for every text it reads,
// the same Time (==, location included); for every text it declines, UnmarshalText is asked.
// The texts are every day of every month of years around each kind of leap rule, times at
// the edges, and random mutations of valid ones.
func TestUTCSecond(t *testing.T) {
	var texts []string
	for _, year := range []int{0, 1, 4, 99, 100, 400, 1600, 1899, 1900, 1969, 1970, 1999, 2000, 2004, 2023, 2024, 2100, 9999} {
		for month := 0; month <= 13; month++ {
			for day := 0; day <= 32; day++ {
				texts = append(texts, fmt.Sprintf("%04d-%02d-%02dT12:34:56Z", year, month, day))
			}
		}
	}
	for _, hms := range []string{"00:00:00", "23:59:59", "24:00:00", "23:60:00", "23:59:60", "99:99:99"} {
		texts = append(texts, "2024-02-29T"+hms+"Z", "2023-12-31T"+hms+"Z")
	}
	texts = append(texts, "2024-05-02T23:55:14z", "2024-05-02t23:55:14Z", "2024-05-02T23:55:14.5Z",
		"2024-05-02T23:55:14+00:00", "2024-05-02 23:55:14Z", "+024-05-02T23:55:14Z", "-024-05-02T23:55:14Z",
		"2024-05-02T23:55:1Z", "", "2024-05-02T23:55:14ZZ")
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := "0123456789-:TZ+ ./:aé"
	for range 200000 {
		b := []byte(time.Unix(rng.Int64N(253402300799+62135596800)-62135596800, 0).UTC().Format("2006-01-02T15:04:05Z"))
		for range rng.IntN(3) {
			b[rng.IntN(len(b))] = alphabet[rng.IntN(len(alphabet))]
		}
		texts = append(texts, string(b))
	}
	read := 0
	for _, s := range texts {
		got, ok := utcSecond([]byte(s))
		var want time.Time
		err := want.UnmarshalText([]byte(s))
		if !ok {
			if err == nil && len(s) == 20 && s[10] == 'T' && s[19] == 'Z' {
				t.Errorf("utcSecond(%q) declines what UnmarshalText reads as %v", s, want)
			}
			continue
		}
		read++
		if err != nil {
			t.Fatalf("utcSecond(%q) read %v; UnmarshalText refuses it: %v", s, got, err)
		}
		if got != want {
			t.Fatalf("utcSecond(%q) = %#v, UnmarshalText gives %#v", s, got, want)
		}
	}
	if read < len(texts)/4 {
		t.Fatalf("utcSecond read only %d of %d texts", read, len(texts))
	}
}

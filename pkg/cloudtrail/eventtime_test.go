package cloudtrail

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

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

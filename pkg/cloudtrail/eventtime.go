package cloudtrail

import "time"

// readEventTime reads an eventTime: in CloudTrail's own form, 2006-01-02T15:04:05Z; in any other
// RFC 3339 form that time.Time's UnmarshalText reads (fractional seconds, an offset), read as
// it reads them; or as SIEM and data-lake exports write it, with a space for the T and no zone
// ("2022-09-27 17:09:18", "2024-11-25 17:51:21.000000000", "2022-09-27T17:09:18"), read as UTC
// — CloudTrail's times are UTC. cloudTrailForm says the text was in CloudTrail's own form.
func readEventTime(s []byte) (t time.Time, cloudTrailForm, ok bool) {
	if t, ok := utcSecond(s); ok {
		return t, true, true
	}
	// The export forms: a date, a space or T, hh:mm:ss, maybe a fraction, maybe no zone.
	if len(s) >= len("2006-01-02T15:04:05") && len(s) < maxTimeText && s[13] == ':' && s[16] == ':' &&
		(s[10] == ' ' || s[10] == 'T' && !hasZone(s)) {
		var buf [maxTimeText + 1]byte
		n := copy(buf[:], s)
		buf[10] = 'T'
		if !hasZone(s) {
			buf[n] = 'Z'
			n++
		}
		if t.UnmarshalText(buf[:n]) != nil {
			return time.Time{}, false, false
		}
		return t, false, true
	}
	if t.UnmarshalText(s) != nil {
		return time.Time{}, false, false
	}
	return t, len(s) == len("2006-01-02T15:04:05Z") && s[10] == 'T' && s[19] == 'Z', true
}

// maxTimeText bounds the texts readEventTime rewrites: longer than any time it reads.
const maxTimeText = 64

// hasZone reports whether a time text, at least 19 bytes long, has anything after its seconds
// and their fraction: a zone, or something time.Time's parser will refuse.
func hasZone(s []byte) bool {
	i := len("2006-01-02T15:04:05")
	if i < len(s) && s[i] == '.' {
		for i++; i < len(s) && '0' <= s[i] && s[i] <= '9'; i++ {
		}
	}
	return i < len(s)
}

// utcSecond reads the one form CloudTrail writes eventTime in, 2006-01-02T15:04:05Z, into the
// Time that time.Time's UnmarshalText makes of it (the same instant and location, equal by ==),
// in about 250 fewer instructions: 2.6% of replay's fast path (docs/skimmer.md). ok is false
// for any other text, which readEventTime reads.
func utcSecond(s []byte) (t time.Time, ok bool) {
	if len(s) != len("2006-01-02T15:04:05Z") || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
		s[13] != ':' || s[16] != ':' || s[19] != 'Z' {
		return t, false
	}
	century, year := twoDigits(s, 0), twoDigits(s, 2)
	month, day := twoDigits(s, 5), twoDigits(s, 8)
	hour, minute, sec := twoDigits(s, 11), twoDigits(s, 14), twoDigits(s, 17)
	year += century * 100
	// twoDigits gives -1 for a non-digit, which fails every check below.
	if century < 0 || year < century*100 || month < 1 || month > 12 || day < 1 ||
		day > daysIn(month, year) || hour < 0 || hour > 23 || minute < 0 || minute > 59 || sec < 0 || sec > 59 {
		return t, false
	}
	// Days from 1970-01-01 to the date, in the proleptic Gregorian calendar (as package time
	// counts), by the days-from-civil method: years begin in March, so that the leap day ends
	// one, and January and February of year 0 fall in year -1.
	y := year
	if month <= 2 {
		y--
	}
	era := y / 400
	if y < 0 {
		era = (y - 399) / 400
	}
	yoe := y - era*400
	mp := (month + 9) % 12 // March is 0
	doy := (153*mp+2)/5 + day - 1
	days := era*146097 + yoe*365 + yoe/4 - yoe/100 + doy - 719468
	return time.Unix(int64(days)*86400+int64(hour*3600+minute*60+sec), 0).UTC(), true
}

// twoDigits reads the two decimal digits at s[i:], or returns -1.
func twoDigits(s []byte, i int) int {
	a, b := int(s[i])-'0', int(s[i+1])-'0'
	if uint(a) > 9 || uint(b) > 9 {
		return -1
	}
	return a*10 + b
}

// daysIn is the number of days of month in year (Gregorian).
func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

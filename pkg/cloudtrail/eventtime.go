package cloudtrail

import "time"

// readEventTime reads an eventTime: in CloudTrail's own form, 2006-01-02T15:04:05Z; in any other
// RFC 3339 form that time.Time's UnmarshalText reads (fractional seconds, an offset), read as
// it reads them; or as SIEM and data-lake exports write it, with a space for the T and no zone
// ("2022-09-27 17:09:18", "2024-11-25 17:51:21.000000000", "2022-09-27T17:09:18"), read as UTC
// — CloudTrail's times are UTC. cloudTrailForm says the text was in CloudTrail's own form.
func readEventTime(s []byte) (t time.Time, cloudTrailForm, ok bool) {
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

package cloudtrail

import "time"

// utcSecond reads the one form CloudTrail writes eventTime in, 2006-01-02T15:04:05Z, into the
// Time that time.Time's UnmarshalText makes of it (the same instant and location, equal by ==),
// at half the cost of its general parser (profiled in a replay: 1% of the time, every record
// having an eventTime). ok is false for any other text, which the caller gives to
// UnmarshalText to judge.
func utcSecond(s []byte) (t time.Time, ok bool) {
	if len(s) != len("2006-01-02T15:04:05Z") || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
		s[13] != ':' || s[16] != ':' || s[19] != 'Z' {
		return t, false
	}
	century, year := two(s, 0), two(s, 2)
	month, day := two(s, 5), two(s, 8)
	hour, minute, sec := two(s, 11), two(s, 14), two(s, 17)
	year += century * 100
	// two gives -1 for a non-digit, which fails every check below.
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

// two reads the two decimal digits at s[i:], or returns -1.
func two(s []byte, i int) int {
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

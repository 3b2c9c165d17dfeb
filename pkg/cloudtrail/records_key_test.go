package cloudtrail

import (
	"strings"
	"testing"
)

// CloudTrail's key is exactly "Records": encoding/json would match "records" too, and a log
// file under a look-alike key must be an error, not an input that silently holds nothing.
func TestRecordsKeyIsCaseSensitive(t *testing.T) {
	const rec = `{"eventName":"CreateAccessKey","eventSource":"iam.amazonaws.com","eventTime":"2024-01-01T00:00:00Z"}`
	for _, key := range []string{"records", "RECORDS"} {
		t.Run(key, func(t *testing.T) {
			var recs, errs int
			var msg string
			for r, err := range Records("trail.json", strings.NewReader(`{"`+key+`":[`+rec+`]}`)) {
				if err != nil {
					errs++
					msg = err.Error()
				} else if r != nil {
					recs++
				}
			}
			if recs != 0 || errs != 1 || !strings.Contains(msg, `no "Records" array`) || !strings.HasPrefix(msg, "trail.json") {
				t.Fatalf("%d records, %d errors (%q); want one error naming the file and the missing Records", recs, errs, msg)
			}
		})
	}
}

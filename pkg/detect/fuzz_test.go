package detect_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/iam-watchdog/iam-watchdog/pkg/cloudtrail"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
)

// FuzzDetect feeds arbitrary bytes through the Lambda's parser and the default rules: nothing may
// panic, and every finding must carry a rule, a category and a severity in Info..Critical.
// Seeds are the shared events, so mutations start from real shapes.
//
//	go test ./pkg/detect/ -run '^$' -fuzz FuzzDetect -fuzztime 1m
func FuzzDetect(f *testing.F) {
	for _, name := range eventFiles(f) {
		data, err := os.ReadFile(filepath.Join(eventsDir, filepath.FromSlash(name)))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	// Bare records and a log file, with the fields the rules decode in unexpected types.
	f.Add([]byte(`{"eventName":"CreateAccessKey","eventSource":"iam.amazonaws.com","eventTime":"2024-05-02T12:00:00Z","userIdentity":{"type":"Root"},"requestParameters":{"userName":7},"responseElements":"x"}`))
	f.Add([]byte(`{"Records":[{"eventName":"PutUserPolicy","eventSource":"iam.amazonaws.com","eventTime":"2024-05-02T12:00:00Z","requestParameters":{"userName":"u","policyDocument":"%7B%22Statement%22%3A%7B%7D%7D"}}]}`))
	f.Add([]byte(`{"eventName":"ConsoleLogin","eventSource":"signin.amazonaws.com","eventTime":"2024-05-02T12:00:00Z","userIdentity":{"type":"Root"},"additionalEventData":[1],"responseElements":null}`))

	d := detect.Default()
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, _ := cloudtrail.Decode("fuzz", data)
		for _, rec := range recs {
			for _, finding := range d.Detect(rec) {
				if finding.Severity < detect.Info || finding.Severity > detect.Critical {
					t.Fatalf("%s %s: severity %d outside info..critical", rec.EventSource, rec.EventName, finding.Severity)
				}
				if finding.Rule == "" || finding.Category == "" || finding.Why == "" {
					t.Fatalf("%s %s: finding without rule, category or sentence: %+v", rec.EventSource, rec.EventName, finding)
				}
			}
		}
	})
}

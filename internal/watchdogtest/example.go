package watchdogtest

import (
	"testing"
	"time"

	eventstestdata "github.com/iam-watchdog/iam-watchdog/events-testdata"
	"github.com/iam-watchdog/iam-watchdog/pkg/cloudtrail"
)

// Example is the CloudTrail record of the example event name (events-testdata) with its eventID
// and eventTime set and then edit applied to it, for tests of what happens to a sequence of
// events: a burst, a threshold, a day of them.
func Example(t testing.TB, name, eventID string, at time.Time, edit func(detail map[string]any)) *cloudtrail.Record {
	t.Helper()
	raw, err := eventstestdata.Event(name, func(d map[string]any) {
		d["eventID"], d["eventTime"] = eventID, at.UTC().Format(time.RFC3339)
		if edit != nil {
			edit(d)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	recs, errs := cloudtrail.Decode(name, raw)
	if len(errs) > 0 || len(recs) != 1 {
		t.Fatalf("%s: %v", name, errs)
	}
	return recs[0]
}

// IAMUser makes an example event's caller the IAM user name in account 123456789012.
func IAMUser(name string) func(detail map[string]any) {
	return func(d map[string]any) {
		d["userIdentity"] = map[string]any{"type": "IAMUser", "principalId": "AIDA" + name,
			"arn": "arn:aws:iam::" + Account + ":user/" + name, "accountId": Account, "userName": name}
	}
}

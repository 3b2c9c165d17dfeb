package detect

import "github.com/iam-watchdog/iam-watchdog/pkg/cloudtrail"

// Wants reports whether Detect could report rec, deciding from rec's typed fields alone: a rule
// indexed by its (eventSource, eventName), or an AnyEvent rule whose wants accepts it. It never
// reads Raw, RequestParameters, ResponseElements or AdditionalEventData, so it can be asked
// about a head — a record whose typed fields were skimmed from a log file without decoding it
// (cloudtrail.Scanner) — and a record it refuses need never be decoded.
//
// It is the pre-filter of every bulk read, built from the rule table itself so that it cannot
// drift from Detect: for every record, len(Detect(rec)) > 0 implies Wants(rec). An AnyEvent
// rule without a wants function is asked about every record. A rule's wants must therefore read
// typed fields only, as its documentation says.
func (d *Detector) Wants(rec *cloudtrail.Record) bool {
	if d.mayWatch(rec.EventName) && len(d.index[eventKey{rec.EventSource, rec.EventName}]) > 0 {
		return true
	}
	for _, r := range d.any {
		if r.wants(rec) {
			return true
		}
	}
	return false
}

package eventhistory

import (
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"

	"github.com/iam-watchdog/iam-watchdog/pkg/cloudtrail"
)

// An item is what one event of a look-up gave: a record, or an error naming the event.
type item struct {
	key  string    // the eventID the item is de-duplicated by; "" for none
	time time.Time // eventTime, for the merge: the record's, or the API's for an error
	rec  *cloudtrail.Record
	err  error
}

// verdict is what became of one event.
type verdict int

const (
	kept verdict = iota
	bad
	unwatched
	outOfRange
)

// decode turns one event of look-up l into a record, decoded from its CloudTrailEvent JSON
// text by pkg/cloudtrail, or into an error naming the region, the look-up and the event ID.
// Records no planned rule watches, or outside [since, until), are dropped and counted.
func (r *Reader) decode(l Lookup, ev types.Event) (item, verdict) {
	id := aws.ToString(ev.EventId)
	name := fmt.Sprintf("cloudtrail://%s %s event %s", r.region, l, id)
	if id == "" {
		name = fmt.Sprintf("cloudtrail://%s %s event (no EventId)", r.region, l)
	}
	it := item{key: id, time: aws.ToTime(ev.EventTime)}
	fail := func(err error) (item, verdict) {
		var ce *cloudtrail.Error
		if !errors.As(err, &ce) {
			err = &cloudtrail.Error{Pos: cloudtrail.Position{Name: name, Index: -1}, Err: err}
		}
		it.err = err
		return it, bad
	}
	text := aws.ToString(ev.CloudTrailEvent)
	if text == "" {
		return fail(errors.New("event has no CloudTrailEvent"))
	}
	recs, errs := cloudtrail.Decode(name, []byte(text))
	switch {
	case len(errs) > 0:
		return fail(errs[0])
	case len(recs) != 1:
		return fail(fmt.Errorf("CloudTrailEvent holds %d records, want one", len(recs)))
	case recs[0].DetailType != "":
		return fail(errors.New("CloudTrailEvent is an EventBridge event, want a CloudTrail record"))
	case id != "" && recs[0].EventID != id:
		// The ID is what the look-ups are de-duplicated by: the two must agree.
		return fail(fmt.Errorf("CloudTrailEvent has eventID %q, want the event's EventId", recs[0].EventID))
	}
	rec := recs[0]
	it.rec, it.time, it.key = rec, rec.EventTime, rec.EventID
	switch {
	case rec.EventTime.Before(r.window.Since) || !rec.EventTime.Before(r.window.Until):
		return it, outOfRange
	case !r.plan.Covers(rec):
		return it, unwatched
	}
	return it, kept
}

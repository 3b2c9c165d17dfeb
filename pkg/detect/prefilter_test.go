package detect

import (
	"io/fs"
	"testing"

	eventstestdata "github.com/iam-watchdog/iam-watchdog/events-testdata"
	"github.com/iam-watchdog/iam-watchdog/pkg/cloudtrail"
)

// TestWantsEveryFinding checks the pre-filter against Detect on every example event, alert and
// near-miss, and on variants of each that the AnyEvent rules look at (as root, denied): whatever
// Detect reports, Wants accepts, and Wants answers the same for a head (the record without its
// raw parts) as for the whole record.
func TestWantsEveryFinding(t *testing.T) {
	names, err := fs.Glob(eventstestdata.FS, "*/*.json")
	if err != nil || len(names) == 0 {
		t.Fatalf("no example events: %v", err)
	}
	d := DefaultWith(Settings{AdminGroups: []string{"platform-admins"}})
	checked, refused := 0, 0
	for _, name := range names {
		data, err := fs.ReadFile(eventstestdata.FS, name)
		if err != nil {
			t.Fatal(err)
		}
		recs, errs := cloudtrail.Decode(name, data)
		if len(errs) > 0 {
			t.Fatalf("%s: %v", name, errs)
		}
		for _, orig := range recs {
			for _, variant := range []struct {
				name string
				edit func(*cloudtrail.Record)
			}{
				{"as is", func(*cloudtrail.Record) {}},
				{"by root", func(r *cloudtrail.Record) {
					r.UserIdentity = cloudtrail.UserIdentity{Type: "Root", AccountID: r.Account()}
				}},
				{"denied", func(r *cloudtrail.Record) { r.ErrorCode = "AccessDenied" }},
				{"unauthorized", func(r *cloudtrail.Record) { r.ErrorCode = "Client.UnauthorizedOperation" }},
				{"by a service", func(r *cloudtrail.Record) { r.UserIdentity.InvokedBy = "cloudformation.amazonaws.com" }},
				{"unwatched name", func(r *cloudtrail.Record) { r.EventName += "Unwatched" }},
			} {
				rec := *orig
				variant.edit(&rec)
				head := rec
				head.Raw, head.RequestParameters, head.ResponseElements, head.AdditionalEventData = nil, nil, nil, nil
				found := d.Detect(&rec)
				wants, headWants := d.Wants(&rec), d.Wants(&head)
				checked++
				if !wants {
					refused++
				}
				if len(found) > 0 && !wants {
					t.Errorf("%s %s: Detect reports %s but Wants refuses the record", name, variant.name, found[0].Rule)
				}
				if wants != headWants {
					t.Errorf("%s %s: Wants is %v for the record, %v for its head: a rule's wants reads raw fields", name, variant.name, wants, headWants)
				}
			}
		}
	}
	// A pre-filter that accepts everything would pass the checks above and filter nothing.
	if refused == 0 {
		t.Errorf("Wants accepted all %d records: it filters nothing", checked)
	}
}

// TestWantsEveryIndexedEvent asks Wants about a bare record of every (eventSource, eventName)
// of the rule table: the bitmap of names it looks at first must let each one through.
func TestWantsEveryIndexedEvent(t *testing.T) {
	d := Default()
	n := 0
	for _, r := range d.Rules() {
		if r.AnyEvent {
			continue
		}
		for _, name := range r.Events {
			n++
			if !d.Wants(&cloudtrail.Record{EventSource: r.Source, EventName: name}) {
				t.Errorf("Wants refuses %s %s, which rule %s is indexed by", r.Source, name, r.ID)
			}
		}
	}
	if n < 20 {
		t.Fatalf("only %d indexed events in the rule table", n)
	}
}

package slackaction

import (
	"errors"
	"fmt"
	"strings"

	"github.com/iam-watchdog/iam-watchdog/pkg/alert"
	"github.com/iam-watchdog/iam-watchdog/pkg/cloudtrail"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/policy"
	"github.com/iam-watchdog/iam-watchdog/pkg/render"
)

// rederive is the action Revert now may take on the record at key: the stored action, only if
// the rules, run on the stored CloudTrail record, find exactly one finding of the record's rule
// and derive exactly that action, and the configuration as it is now (protect, allow, a
// disabled rule, the mode and REMEDIATION_MODE's ceiling) lets it act. The MAC already vouches
// that the watchdog wrote the record; this vouches that today's rules and configuration would
// still do what it says, so neither a record nor a stale decision steers the click.
func (h *Handler) rederive(key string, stored alert.Pieces) (detect.Action, error) {
	refuse := func(format string, args ...any) (detect.Action, error) {
		return detect.Action{}, fmt.Errorf("Revert now refused on %s: "+format, append([]any{key}, args...)...)
	}
	if h.Detector == nil {
		return refuse("the slack-actions handler has no rules to check the stored event with")
	}
	if stored.Action == nil || stored.Alert == nil {
		return refuse("the record holds no action or alert")
	}
	raw := stored.Alert.Finding.Record
	if raw == nil || len(raw.Raw) == 0 {
		return refuse("the record holds no CloudTrail event to derive the action from")
	}
	recs, errs := cloudtrail.Decode("stored event", raw.Raw)
	if err := errors.Join(errs...); err != nil || len(recs) != 1 {
		return refuse("its stored CloudTrail event does not read as one record (%d records; %v)", len(recs), err)
	}
	rec := recs[0]
	rec.Pos, rec.DetailType = raw.Pos, raw.DetailType
	rule := stored.Alert.Finding.Rule
	if alert.Key(rec.EventID, rule) != key {
		return refuse("its stored CloudTrail event is event %s, not this record's", rec.EventID)
	}
	var found []detect.Finding
	for _, f := range h.Detector.Detect(rec) {
		if f.Rule == rule {
			found = append(found, f)
		}
	}
	if len(found) != 1 {
		return refuse("the rules find %d findings of rule %s in its stored CloudTrail event, not exactly one", len(found), rule)
	}
	f := found[0]
	cfg := h.Config
	d := cfg.Decide(&f)
	switch {
	case !d.Alert || !d.Act:
		return refuse("the configuration now says: %s", d.Reason)
	case d.Mode != policy.Approve && d.Mode != policy.Auto:
		return refuse("remediation of rule %s is now %s", rule, d.Mode)
	case f.Action != *stored.Action:
		return refuse("the rules derive %q from its stored CloudTrail event, and the record says %q",
			strings.TrimSpace(render.ActionText(f.Action, false)), strings.TrimSpace(render.ActionText(*stored.Action, false)))
	}
	return f.Action, nil
}

// Package eventstestdata embeds the real-shaped EventBridge events in this folder, so that
// `watchdog demo` runs on a fresh machine with nothing else. The same files serve the tests and
// `sam local invoke -e`.
package eventstestdata

import (
	"embed"
	"encoding/json"
	"fmt"
)

// FS holds every event file, under <category>/alert-*.json and <category>/quiet-*.json.
//
//go:embed */*.json
var FS embed.FS

// The deployment the example events assume: the watchdog's own role (whose calls are its own)
// and the quarantine policy its stack created. A config for these events sets both.
const (
	WatchdogRoleARN     = "arn:aws:iam::123456789012:role/iam-watchdog-WatchdogFunctionRole-Q1W2E3R4T5Y6"
	QuarantinePolicyARN = "arn:aws:iam::123456789012:policy/iam-watchdog-DenyUnlessMFA-3J4K5L6M7N8P"
)

// Event is the example event at name (e.g. "access_key_created/alert-other-user.json") with its
// CloudTrail record changed by edit, for tests that point an example at state they created.
func Event(name string, edit func(detail map[string]any)) ([]byte, error) {
	raw, err := FS.ReadFile(name)
	if err != nil {
		return nil, err
	}
	var ev map[string]any
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	detail, ok := ev["detail"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: no detail object", name)
	}
	edit(detail)
	return json.Marshal(ev)
}

// AccessKeyCreated edits a CreateAccessKey record to name user and the key keyID.
func AccessKeyCreated(user, keyID string) func(detail map[string]any) {
	return func(detail map[string]any) {
		detail["requestParameters"] = map[string]any{"userName": user}
		detail["responseElements"] = map[string]any{"accessKey": map[string]any{
			"userName": user, "accessKeyId": keyID, "status": "Active", "createDate": "May 2, 2024 9:00:00 AM",
		}}
	}
}

// Package eventstestdata embeds the real-shaped EventBridge events in this folder, so that
// `watchdog demo` runs on a fresh machine with nothing else. The same files serve the tests and
// `sam local invoke -e`.
package eventstestdata

import "embed"

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

// Package remediate reverts risky IAM and CloudTrail changes with reversible actions, records
// how to undo each one, and reports what it did.
package remediate

// Status is what became of a remediation. The names are part of the --output jsonl contract.
type Status string

// Statuses.
const (
	Planned Status = "planned" // dry-run: what would have happened
	Done    Status = "done"
	Skipped Status = "skipped" // not acted on; Reason says why
	Failed  Status = "failed"
	Pending Status = "pending" // approve mode: waiting for a person
)

// Outcome reports one remediation.
type Outcome struct {
	Action string `json:"action"`
	Status Status `json:"status"`
	Reason string `json:"reason"`
	// Undo is the command that reverses a done action, e.g. "watchdog undo EVENT_ID".
	Undo string `json:"undo,omitempty"`
}

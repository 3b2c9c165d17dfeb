package remediate

import "time"

// Undo is everything Revert needs to reverse one done action, and nothing it would have to
// look up again: it is stored (DynamoDB, a local file) and may be replayed long after the
// finding. It round-trips through encoding/json unchanged.
type Undo struct {
	// Action is the detect action kind that was applied (detect.DeactivateAccessKey, …).
	Action  string `json:"action"`
	Account string `json:"account,omitempty"`
	Region  string `json:"region,omitempty"`
	// UserName is the IAM user acted on (every kind but restart_logging).
	UserName string `json:"user_name,omitempty"`
	// AccessKeyID is the key that was deactivated.
	AccessKeyID string `json:"access_key_id,omitempty"`
	// PolicyARN is the managed policy that was detached (detach_user_policy) or attached
	// (quarantine_user: the quarantine policy, which Revert detaches only if it is still the
	// remediator's own for that account).
	PolicyARN string `json:"policy_arn,omitempty"`
	// PolicyName and PolicyDocument are the inline policy that was deleted. PolicyDocument is
	// exactly what GetUserPolicy returned, URL-decoded, byte for byte: Revert puts it back as is.
	PolicyName     string `json:"policy_name,omitempty"`
	PolicyDocument string `json:"policy_document,omitempty"`
	// RestoreDocument, for delete_user_policy, is the document an audit snapshot shows the
	// inline policy held before the event: Do puts it back instead of deleting the policy, and
	// Revert puts PolicyDocument, the overwriting one, back as ever (see PlanAt).
	RestoreDocument string `json:"restore_document,omitempty"`
	// Prior says what the audit snapshot taken before the event showed, or that the prior
	// state was unknown, for the alert (see PlanAt); empty when no snapshot was asked.
	Prior string `json:"prior,omitempty"`
	// Trail is the trail logging was restarted on (restart_logging; never reverted).
	Trail string `json:"trail,omitempty"`
	// At is when the action was applied.
	At time.Time `json:"at"`
}

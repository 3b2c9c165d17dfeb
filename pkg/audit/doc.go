// Package audit is the engine of `watchdog audit`: the account's IAM posture now, as CIS AWS
// Foundations v3.0 section 1 sees it, plus the watchdog's own sight (trail, rules, forwarding,
// Slack, dead letters). It reads each account with a fixed number of calls, whatever its number
// of users: user facts come from the credential report and GetAccountAuthorizationDetails, never
// from one call per user.
//
// An audit returns one Result per check and resource, a Snapshot of each user's policies (the
// last known good that remediation reverts to), and, against the previous run's results, a Diff
// for the daily digest. Rendering (WriteText, JSON Lines of Result), the exit code (ExitCode) and
// the checks' catalogue (List) are here too; the CLI, the schedule and the state table are not.
package audit

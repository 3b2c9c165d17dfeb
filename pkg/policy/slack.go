package policy

import (
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
)

// SlackConfig says who may press the buttons on alerts (Revert now, Undo revert, Acknowledge)
// and how bursts are folded into one message.
type SlackConfig struct {
	// Approvers are Slack user IDs (U…, or W… in Enterprise Grid) allowed to act from an alert.
	Approvers []string `yaml:"approvers"`
	// ApproverGroups are Slack user group IDs (S…) whose members may act too. Membership is
	// asked of Slack (usergroups.users.list, scope usergroups:read) at each click.
	ApproverGroups []string `yaml:"approver_groups"`
	// FloodWindow is how long findings with the same rule and actor update the first one's
	// message instead of posting their own; unset means DefaultFloodWindow, 0 turns it off.
	FloodWindow *time.Duration `yaml:"flood_window"`
	// Routing: what is posted at once, what waits for the digest, and in which channel.
	Routing `yaml:",inline"`
}

// DefaultFloodWindow applies when slack.flood_window is not set.
const DefaultFloodWindow = 10 * time.Minute

// Window is the flood window in force.
func (s SlackConfig) Window() time.Duration {
	if s.FloodWindow == nil {
		return DefaultFloodWindow
	}
	return *s.FloodWindow
}

// IsApprover reports whether the Slack user ID is listed as an approver by ID.
func (s SlackConfig) IsApprover(userID string) bool {
	return userID != "" && slices.Contains(s.Approvers, userID)
}

var (
	slackUserID  = regexp.MustCompile(`^[UW][A-Z0-9]{2,}$`)
	slackGroupID = regexp.MustCompile(`^S[A-Z0-9]{2,}$`)
)

// IsSlackUserID reports whether s looks like a Slack user ID (U…, W…).
func IsSlackUserID(s string) bool { return slackUserID.MatchString(s) }

// IsSlackGroupID reports whether s looks like a Slack user group ID (S…).
func IsSlackGroupID(s string) bool { return slackGroupID.MatchString(s) }

func (s SlackConfig) validate() []*ConfigError {
	var errs []*ConfigError
	for i, id := range s.Approvers {
		if !slackUserID.MatchString(id) {
			errs = append(errs, fieldError(fmt.Sprintf("slack.approvers[%d]", i), "%q is not a Slack user ID (U… or W…: a profile's \"Copy member ID\")", id))
		}
	}
	for i, id := range s.ApproverGroups {
		if !slackGroupID.MatchString(id) {
			errs = append(errs, fieldError(fmt.Sprintf("slack.approver_groups[%d]", i), "%q is not a Slack user group ID (S…)", id))
		}
	}
	if w := s.Window(); w < 0 || w > 24*time.Hour {
		errs = append(errs, fieldError("slack.flood_window", "%s is outside 0 (off) to 24h", w))
	}
	return append(errs, s.Routing.validate(detect.Rules())...)
}

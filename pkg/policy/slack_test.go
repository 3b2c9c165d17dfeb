package policy

import (
	"strings"
	"testing"
	"time"
)

func TestSlackConfig(t *testing.T) {
	c, err := Parse([]byte("slack:\n  approvers: [U0123ABCD, W0456EFGH]\n  approver_groups: [S0SECTEAM]\n  flood_window: 5m\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Slack.IsApprover("U0123ABCD") || c.Slack.IsApprover("U0OTHER") || c.Slack.IsApprover("") {
		t.Errorf("approvers %v", c.Slack.Approvers)
	}
	if c.Slack.Window() != 5*time.Minute {
		t.Errorf("window %s, want 5m", c.Slack.Window())
	}
	if d := Default(); d.Slack.Window() != DefaultFloodWindow {
		t.Errorf("default window %s", d.Slack.Window())
	}
	if c, err := Parse([]byte("slack: {flood_window: 0s}")); err != nil || c.Slack.Window() != 0 {
		t.Errorf("flood_window 0s: %s, %v; want off", c.Slack.Window(), err)
	}

	for doc, want := range map[string]string{
		"slack: {approvers: [alice]}":        `slack.approvers[0]: "alice" is not a Slack user ID`,
		"slack: {approvers: [S0SECTEAM]}":    `slack.approvers[0]: "S0SECTEAM" is not a Slack user ID`,
		"slack: {approver_groups: [U0123]}":  `slack.approver_groups[0]: "U0123" is not a Slack user group ID`,
		"slack: {flood_window: -1m}":         "slack.flood_window: -1m0s is outside",
		"slack: {flood_window: 48h}":         "slack.flood_window: 48h0m0s is outside",
		"slack: {approver: [U0123ABCD]}":     "approver",
		"slack: {flood_window: ten minutes}": "flood_window",
	} {
		if _, err := Parse([]byte(doc)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want it to contain %q", doc, err, want)
		}
	}
}

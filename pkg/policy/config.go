// Package policy holds the watchdog's configuration and decides, for each finding, whether to
// alert and whether remediation may act: modes, allowlists by exact ARN, per-rule overrides and
// the rule that the watchdog never acts on its own calls.
package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
)

// Mode says what remediation does.
type Mode string

// Modes. Approve waits for a person (see the Slack control room); the others act alone.
const (
	Off     Mode = "off"
	DryRun  Mode = "dry-run"
	Auto    Mode = "auto"
	Approve Mode = "approve"
)

// ParseMode reads a mode name.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case Off, DryRun, Auto, Approve:
		return m, nil
	}
	return "", fmt.Errorf("unknown mode %q (want off, dry-run, auto or approve)", s)
}

// UnmarshalYAML checks the mode name.
func (m *Mode) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseMode(n.Value)
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// AppID is the SDK application ID the watchdog sends; it appears in the user agent of every
// call the watchdog makes ("app/iam-watchdog"), which is how its own events are recognised.
const AppID = "iam-watchdog"

// Allowlist lists principals and resources by exact ARN.
type Allowlist struct {
	Actors  []string `yaml:"actors"`
	Targets []string `yaml:"targets"`
}

// RuleConfig overrides the global settings for one rule.
type RuleConfig struct {
	Enabled  *bool            `yaml:"enabled"`
	Mode     Mode             `yaml:"mode"`
	Severity *detect.Severity `yaml:"severity"`
	Allow    Allowlist        `yaml:"allow"`
}

// Config is the one configuration of the watchdog, shared by the Lambda and the CLI.
type Config struct {
	// Mode is the default remediation mode: off, dry-run (the default), auto or approve.
	Mode Mode `yaml:"mode"`
	// QuarantinePolicyARN is the deny-unless-MFA managed policy quarantine_user attaches.
	QuarantinePolicyARN string `yaml:"quarantine_policy_arn"`
	// SelfRoleARNs are the watchdog's own roles: calls from them (or from sessions of them)
	// are neither alerted nor acted on, so the watchdog cannot loop on its own reverts.
	SelfRoleARNs []string `yaml:"self_role_arns"`
	// Allow lists actors and targets never acted on or alerted about, by exact ARN.
	Allow Allowlist `yaml:"allow"`
	// Rules holds per-rule overrides keyed by rule ID.
	Rules map[string]RuleConfig `yaml:"rules"`
}

// Default is the configuration used when none is given: alert on everything, act on nothing.
func Default() Config { return Config{Mode: DryRun} }

// Load reads and validates a YAML config file.
func Load(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	c, err := Parse(data)
	if err != nil {
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// Parse reads and validates YAML. Unknown keys and bad values are errors naming the key.
func Parse(data []byte) (Config, error) {
	c := Default()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, errors.New(strings.TrimPrefix(err.Error(), "yaml: "))
	}
	return c, c.Validate(detect.Rules())
}

// Validate checks values that YAML types cannot: ARNs, rule IDs and mode combinations.
func (c *Config) Validate(rules []detect.Rule) error {
	var errs []error
	if c.Mode == "" {
		c.Mode = DryRun
	}
	checkARNs := func(key string, arns []string) {
		for i, a := range arns {
			if !strings.HasPrefix(a, "arn:") || strings.Count(a, ":") < 5 {
				errs = append(errs, fmt.Errorf("%s[%d]: %q is not an ARN (allowlists match exact ARNs)", key, i, a))
			}
		}
	}
	checkARNs("self_role_arns", c.SelfRoleARNs)
	checkARNs("allow.actors", c.Allow.Actors)
	checkARNs("allow.targets", c.Allow.Targets)
	if c.QuarantinePolicyARN != "" {
		checkARNs("quarantine_policy_arn", []string{c.QuarantinePolicyARN})
	}
	known := map[string]bool{}
	for _, r := range rules {
		known[r.ID] = true
	}
	for id, rc := range c.Rules {
		if !known[id] {
			errs = append(errs, fmt.Errorf("rules.%s: no rule has this ID (see `watchdog rules`)", id))
		}
		checkARNs("rules."+id+".allow.actors", rc.Allow.Actors)
		checkARNs("rules."+id+".allow.targets", rc.Allow.Targets)
	}
	return errors.Join(errs...)
}

// ModeFor is the remediation mode for a rule.
func (c *Config) ModeFor(rule string) Mode {
	if rc, ok := c.Rules[rule]; ok && rc.Mode != "" {
		return rc.Mode
	}
	if c.Mode == "" {
		return DryRun
	}
	return c.Mode
}

// IsSelf reports whether a finding's actor is the watchdog itself: one of its roles, or a
// session of one. Only these are trusted, because a role ARN cannot be forged in CloudTrail.
func (c *Config) IsSelf(a detect.Actor) bool {
	return slices.Contains(c.SelfRoleARNs, a.ARN) || (a.IssuerARN != "" && slices.Contains(c.SelfRoleARNs, a.IssuerARN))
}

// SentByWatchdog reports whether the call carried the watchdog's SDK app ID in its user agent,
// as `watchdog undo` run with a person's credentials does. Anyone can send any user agent, so
// this only stops remediation (an undo must not be reverted) and never hides the alert.
func SentByWatchdog(a detect.Actor) bool {
	return strings.Contains(a.UserAgent, "app/"+AppID)
}

package policy

import "maps"

// modeRank orders the modes by how far remediation may go on its own: off never acts, dry-run
// only plans, approve acts once a person agrees, auto acts at once.
var modeRank = map[Mode]int{Off: 0, DryRun: 1, Approve: 2, Auto: 3}

// WithMode applies a mode given for a whole run (`--mode`, `--dry-run`, REMEDIATION_MODE), the
// one rule the CLI and the Lambda share: m becomes the default mode and the ceiling of every
// rule. A rule whose own mode goes further than m is brought down to m (off and dry-run stop
// every action, whatever the config file says; approve turns a rule's auto into approve); a rule
// whose mode goes less far keeps it. c is not changed: the result has its own rule map.
func (c Config) WithMode(m Mode) Config {
	c.Mode = m
	c.Rules = maps.Clone(c.Rules)
	for id, rc := range c.Rules {
		if rc.Mode != "" && modeRank[rc.Mode] > modeRank[m] {
			rc.Mode = m
			c.Rules[id] = rc
		}
	}
	return c
}

// CapAt is a ceiling without a default of its own: every mode that goes further than m, the
// default mode included, is brought down to m, and the rest are left as they are (a backtest's
// dry-run keeps a run's `--mode off`).
func (c Config) CapAt(m Mode) Config {
	d := c.Mode
	if d == "" {
		d = DryRun
	}
	if modeRank[d] > modeRank[m] {
		d = m
	}
	c = c.WithMode(m)
	c.Mode = d
	return c
}

package policy

// Acts reports whether any rule would change AWS state under c: auto or approve, by default or
// for a rule.
func (c Config) Acts() bool {
	if c.Mode == Auto || c.Mode == Approve {
		return true
	}
	for _, rc := range c.Rules {
		if rc.Mode == Auto || rc.Mode == Approve {
			return true
		}
	}
	return false
}

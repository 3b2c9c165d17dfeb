package policy

import (
	"errors"
	"fmt"
	"strings"
)

// ConfigError is one problem in a config file, in the config's own words: the file (set by
// Load), the line (0 when the value did not come from a file, as an environment override), the
// key path (rules.mfa-deactivated.mode, allow.actors[1]; "" for the top level) and what is wrong.
// It reads as FILE:LINE: KEY: MESSAGE, as compilers write, so editors jump to the line.
type ConfigError struct {
	File string
	Line int
	Key  string
	Msg  string
	// at is the path the problem is about, to find its line and to tell one problem reported
	// twice; for an unknown key or rule it is the key's own path, Key its parent's.
	at string
}

func (e *ConfigError) Error() string {
	var b strings.Builder
	switch {
	case e.File != "" && e.Line > 0:
		fmt.Fprintf(&b, "%s:%d: ", e.File, e.Line)
	case e.File != "":
		b.WriteString(e.File + ": ")
	case e.Line > 0:
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Key != "" {
		b.WriteString(e.Key + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// fieldError is a problem with the value at key, found after decoding.
func fieldError(key, format string, args ...any) *ConfigError {
	return &ConfigError{Key: key, Msg: fmt.Sprintf(format, args...), at: key}
}

// joinProblems is nil for no problems, else every problem, one a line.
func joinProblems(problems []*ConfigError) error {
	if len(problems) == 0 {
		return nil
	}
	errs := make([]error, len(problems))
	for i, p := range problems {
		errs[i] = p
	}
	return errors.Join(errs...)
}

// inFile names the file in each problem of err.
func inFile(path string, err error) error {
	var list []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list = j.Unwrap()
	} else {
		list = []error{err}
	}
	out := make([]error, len(list))
	for i, e := range list {
		var ce *ConfigError
		if errors.As(e, &ce) {
			named := *ce
			named.File = path
			out[i] = &named
			continue
		}
		out[i] = fmt.Errorf("%s: %w", path, e)
	}
	return errors.Join(out...)
}

// quoted quotes a name from the file for a message, cut short when it is long: a hostile key of
// a megabyte is named, not repeated.
func quoted(s string) string {
	const most = 64
	if r := []rune(s); len(r) > most {
		return fmt.Sprintf("%q…", string(r[:most]))
	}
	return fmt.Sprintf("%q", s)
}

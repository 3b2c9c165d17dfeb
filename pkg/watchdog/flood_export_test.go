package watchdog

import "time"

// SetFloodWait shortens how long a finding waits for its burst's message, for tests of the
// wait running out; it returns a function that restores the default.
func SetFloodWait(d time.Duration) (restore func()) {
	old := floodWait
	floodWait = d
	return func() { floodWait = old }
}

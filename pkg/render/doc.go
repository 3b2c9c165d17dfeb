// Package render lays alerts out for people: as Slack Block Kit messages (with a plain-text
// fallback, the status and buttons of the alert's thread, and the lines posted in that thread),
// and as the same facts in text for a terminal. Every value that came from an event is cleaned
// and escaped for the form it goes into; delivering what is rendered is pkg/notify's job.
package render

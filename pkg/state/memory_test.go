package state

import "testing"

// The memory store keeps the same contract as the file and DynamoDB stores.
func TestMemory(t *testing.T) {
	testStore(t, func(t *testing.T, c *clock) Store { return &Memory{Now: c.now} })
}

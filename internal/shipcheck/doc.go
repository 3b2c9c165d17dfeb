// Package shipcheck holds tests about what the project ships rather than how it behaves: no
// binary it builds for users (the CLI, the Lambda functions) links a test harness.
package shipcheck

// Package lambdabench measures the Lambda function as it runs in AWS: the real bootstrap under
// aws-lambda-rie, its secret in moto_server and Slack answered by a local server. Its benchmark
// (go test -bench . ./internal/lambdabench, run by `make bench`) reports INIT duration and warm
// invoke durations as the emulator's REPORT lines give them.
package lambdabench

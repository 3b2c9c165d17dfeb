package fanout

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/iam-watchdog/iam-watchdog/pkg/replay"
)

// LambdaAPI is what the fan-out calls on Lambda.
type LambdaAPI interface {
	// Invoke runs the function synchronously; a function error comes back as an answer with
	// FunctionError set, not as an error.
	Invoke(ctx context.Context, in *lambda.InvokeInput, optFns ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
	// GetAccountSettings gives the account's concurrency limits in this Region.
	GetAccountSettings(ctx context.Context, in *lambda.GetAccountSettingsInput, optFns ...func(*lambda.Options)) (*lambda.GetAccountSettingsOutput, error)
}

var _ LambdaAPI = (*lambda.Client)(nil)

// lambdaAttempts is how many times the client NewLambdaClient builds sends one invoke that
// Lambda throttles or fails on its side, with the SDK's backoff, before the batch counts a
// failure.
const lambdaAttempts = 8

// NewLambdaClient builds the Lambda client a fan-out invokes the replay function with.
func NewLambdaClient(cfg aws.Config) *lambda.Client {
	return lambda.NewFromConfig(cfg, func(o *lambda.Options) {
		o.Retryer = retry.AddWithMaxAttempts(o.Retryer, lambdaAttempts)
	})
}

// kind is what an invocation came to.
type kind int

const (
	answered   kind = iota // rows fetched and checked; some keys may remain
	refused                // the function refused the request: no retry can help
	tooBig                 // no answer: out of time or memory; smaller batches can help
	failedOnce             // an error a retry can help
)

// outcome is what one invocation of a batch came to.
type outcome struct {
	b    *batch
	kind kind
	resp *replay.BatchResponse
	rows string // the file its rows were fetched into
	err  error
	// lambdaMS is the Lambda time the invocation took: billed, when Lambda's log tail says,
	// else as the function measured it; 0 when neither is known.
	lambdaMS int64
	billed   bool
}

// functionError is the payload Lambda answers with when a function fails.
// Reference: https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html
type functionError struct {
	Message string `json:"errorMessage"`
	Type    string `json:"errorType"`
}

// outOfBounds are the error types with which Lambda reports a function that ran out of time
// or memory, or was killed: a smaller batch can help. Errors the handler returns carry their Go
// type instead.
// Reference: https://docs.aws.amazon.com/lambda/latest/dg/troubleshooting-invocation.html
var outOfBounds = []string{"Sandbox.Timedout", "Runtime.ExitError", "Runtime.OutOfMemory"}

// billedDuration reads "Billed Duration: N ms" from the REPORT line in the log tail Lambda
// returns for LogType Tail (base64, the last 4 KB of the invocation's log).
// Reference: https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs.html
var billedDuration = regexp.MustCompile(`Billed Duration: (\d+) ms`)

func billedMS(logTail *string) (int64, bool) {
	if logTail == nil {
		return 0, false
	}
	tail, err := base64.StdEncoding.DecodeString(*logTail)
	if err != nil {
		return 0, false
	}
	m := billedDuration.FindSubmatch(tail)
	if m == nil {
		return 0, false
	}
	ms, err := strconv.ParseInt(string(m[1]), 10, 64)
	return ms, err == nil
}

// invoke sends batch b to the function, after a pause when it is a retry, and fetches and
// checks its rows.
func (r *runner) invoke(ctx context.Context, b *batch) outcome {
	o := outcome{b: b}
	if b.attempts > 0 {
		if err := r.backoff.Wait(ctx, b.attempts-1); err != nil {
			o.kind, o.err = failedOnce, err
			return o
		}
	}
	results := r.resultsURL(b)
	payload, err := json.Marshal(replay.BatchRequest{Version: replay.BatchVersion, Batch: b.id, Bucket: b.bucket, Keys: b.keys,
		Results: results, Scope: r.o.Scope.Batch(), Config: r.o.Config})
	if err != nil {
		o.kind, o.err = refused, fmt.Errorf("encode the request: %w", err)
		return o
	}
	out, err := r.o.Lambda.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(r.o.Function), Payload: payload, LogType: types.LogTypeTail})
	if err != nil {
		o.kind, o.err = failedOnce, fmt.Errorf("invoke %s: %w", r.o.Function, err)
		return o
	}
	o.lambdaMS, o.billed = billedMS(out.LogResult)
	var fe functionError
	if json.Unmarshal(out.Payload, &fe) == nil && (fe.Message != "" || fe.Type != "") {
		o.err = fmt.Errorf("function error (%s): %s", fe.Type, fe.Message)
		o.kind = failedOnce
		if fe.Type == "" || slices.Contains(outOfBounds, fe.Type) {
			o.kind = tooBig
		}
		return o
	}
	var resp replay.BatchResponse
	if err := json.Unmarshal(out.Payload, &resp); err != nil || resp.Version == 0 {
		// aws-lambda-rie answers a timeout with plain text, and Lambda may answer a crash
		// with no payload: either way the batch never answered.
		o.kind, o.err = tooBig, fmt.Errorf("no answer from the function (%.200q): it may have run out of time or memory", out.Payload)
		return o
	}
	o.resp = &resp
	if !o.billed {
		o.lambdaMS = resp.DurationMS
	}
	if resp.Refused != "" {
		o.kind, o.err = refused, fmt.Errorf("refused by the function: %s", resp.Refused)
		return o
	}
	if err := checkResponse(b, &resp, results); err != nil {
		o.kind, o.err = failedOnce, err
		return o
	}
	if o.rows, err = r.fetchRows(ctx, b, &resp); err != nil {
		o.kind, o.err = failedOnce, err
		return o
	}
	o.kind = answered
	return o
}

// checkResponse holds an answer to the request: the same version, batch and results, and the
// keys split between done and remaining as the request listed them.
func checkResponse(b *batch, resp *replay.BatchResponse, results string) error {
	switch {
	case resp.Version != replay.BatchVersion:
		return fmt.Errorf("answer of version %d, want %d", resp.Version, replay.BatchVersion)
	case resp.Batch != b.id || resp.Results != results:
		return fmt.Errorf("answer for batch %s (results %s), not %s (%s)", resp.Batch, resp.Results, b.id, results)
	case resp.Done < 0 || resp.Done > len(b.keys) || !slices.Equal(resp.Remaining, b.keys[resp.Done:]):
		return fmt.Errorf("answer says %d keys done and %d remaining, of %d sent", resp.Done, len(resp.Remaining), len(b.keys))
	}
	return nil
}

// fetchRows copies a batch's rows from S3 into a file of the run's and checks them against the
// answer: the done keys in order, the same totals.
func (r *runner) fetchRows(ctx context.Context, b *batch, resp *replay.BatchResponse) (string, error) {
	bucket, key := splitName(resp.Results)
	out, err := r.o.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return "", fmt.Errorf("read the batch's results %s: %w", resp.Results, err)
	}
	defer out.Body.Close()
	f, err := os.CreateTemp(r.tmp, b.id+"-*.jsonl")
	if err != nil {
		return "", fmt.Errorf("keep the batch's results: %w", err)
	}
	keep := false
	defer func() {
		f.Close()
		if !keep {
			os.Remove(f.Name())
		}
	}()
	if _, err := io.Copy(f, out.Body); err != nil {
		return "", fmt.Errorf("read the batch's results %s: %w", resp.Results, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", fmt.Errorf("keep the batch's results: %w", err)
	}
	totals, err := replay.CheckRows(f, b.names()[:resp.Done])
	if err != nil {
		return "", fmt.Errorf("the batch's results %s: %w", resp.Results, err)
	}
	if totals != resp.Totals {
		return "", fmt.Errorf("the batch's results %s total %+v, its answer %+v", resp.Results, totals, resp.Totals)
	}
	keep = true
	return f.Name(), nil
}

// errNoTime is a batch whose function had no time to read even one key.
var errNoTime = errors.New("the function read no key in the time it had")

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	eventstestdata "github.com/iam-watchdog/iam-watchdog/events-testdata"
	"github.com/iam-watchdog/iam-watchdog/internal/lambdatest"
	"github.com/iam-watchdog/iam-watchdog/internal/mototest"
	"github.com/iam-watchdog/iam-watchdog/pkg/notify"
	"github.com/iam-watchdog/iam-watchdog/pkg/policy"
	"github.com/iam-watchdog/iam-watchdog/pkg/replay"
)

// TestBootstrapUnderRIE invokes the real bootstrap under aws-lambda-rie, reading moto_server's
// S3: a batch of the example events, asked to act in auto mode, is replayed in dry-run and
// its rows written under the results prefix; a request for another bucket is refused, and
// nothing is written for it.
func TestBootstrapUnderRIE(t *testing.T) {
	bootstrap := lambdatest.Build(t, "./functions/replay")
	srv := mototest.Start(t)
	fx := mototest.NewFixture(srv.Config(t))
	ctx := context.Background()
	for _, b := range []string{"org-trail", "backtests"} {
		if _, err := fx.S3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	names, err := fs.Glob(eventstestdata.FS, "*/alert-*.json")
	if err != nil || len(names) == 0 {
		t.Fatalf("no example events: %v", err)
	}
	var keys []string
	for _, n := range names {
		data, err := eventstestdata.FS.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		key := "AWSLogs/examples/" + n
		if _, err := fx.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("org-trail"), Key: aws.String(key), Body: bytes.NewReader(data)}); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, key)
	}
	fn := lambdatest.Start(t, bootstrap, "AWS_ENDPOINT_URL="+srv.Endpoint,
		"ARCHIVE_BUCKET=org-trail", "ARCHIVE_PREFIX=AWSLogs/", "RESULTS_BUCKET=backtests", "RESULTS_PREFIX=watchdog/")

	cfg := policy.Default()
	cfg.Mode = policy.Auto
	cfg.QuarantinePolicyARN = eventstestdata.QuarantinePolicyARN
	req := replay.BatchRequest{Version: replay.BatchVersion, Batch: "b000001", Bucket: "org-trail", Keys: keys,
		Results: "s3://backtests/watchdog/run/b000001.jsonl", Config: cfg}
	var resp replay.BatchResponse
	invoke(t, fn, req, &resp)
	if resp.Refused != "" || resp.Done != len(keys) || resp.Totals.Findings == 0 || resp.Results != req.Results {
		t.Fatalf("answer %+v; want every key done, findings, the results named", resp)
	}
	out, err := fx.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("backtests"), Key: aws.String("watchdog/run/b000001.jsonl")})
	if err != nil {
		t.Fatalf("the rows were not written: %v", err)
	}
	rows, err := io.ReadAll(out.Body)
	out.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	names = make([]string, len(keys))
	for i, k := range keys {
		names[i] = replay.ObjectName("org-trail", k)
	}
	if _, err := replay.CheckRows(bytes.NewReader(rows), names); err != nil {
		t.Fatalf("rows: %v", err)
	}
	var jsonl bytes.Buffer
	if err := replay.NewMerger(notify.NewJSONL(&jsonl), nil, 1).Rows(ctx, bytes.NewReader(rows)); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(jsonl.String(), `"status":"done"`) || strings.Contains(jsonl.String(), `"status":"failed"`) || !strings.Contains(jsonl.String(), `"status":"planned"`) {
		t.Errorf("asked for auto mode, the function did not stay in dry-run:\n%s", jsonl.String())
	}

	req.Bucket, req.Batch, req.Results = "payroll", "b000002", "s3://backtests/watchdog/run/b000002.jsonl"
	resp = replay.BatchResponse{}
	invoke(t, fn, req, &resp)
	if !strings.Contains(resp.Refused, `bucket "payroll": this function reads only s3://org-trail/AWSLogs/`) {
		t.Errorf("a request for another bucket: %+v", resp)
	}
	if _, err := fx.S3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("backtests"), Key: aws.String("watchdog/run/b000002.jsonl")}); err == nil {
		t.Error("rows were written for a refused request")
	}
}

// TestBootstrapRefusesToStartWithoutItsBuckets starts the bootstrap without its environment:
// it exits at start, naming what is missing, and no invocation succeeds.
func TestBootstrapRefusesToStartWithoutItsBuckets(t *testing.T) {
	fn := lambdatest.Start(t, lambdatest.Build(t, "./functions/replay"), "RESULTS_BUCKET=backtests")
	// The emulator answers 502 for a runtime that exited at start; Lambda, Runtime.ExitError.
	resp, err := http.Post(fn.URL, "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK && !lambdatest.FunctionError(body) {
		t.Errorf("invoke of a function that cannot start: %d %s", resp.StatusCode, body)
	}
	// The log line reaches the pipe after the answer, later on a busy machine.
	if !fn.LogsContain(`ARCHIVE_BUCKET \"\" is not an S3 bucket name`, 10*time.Second) {
		t.Errorf("the function's log does not say what is missing:\n%s", fn.Logs())
	}
}

func invoke(t *testing.T, fn *lambdatest.Function, req replay.BatchRequest, resp *replay.BatchResponse) {
	t.Helper()
	payload, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	body := fn.Invoke(t, payload)
	if lambdatest.FunctionError(body) {
		t.Fatalf("function error: %s", body)
	}
	if err := json.Unmarshal(body, resp); err != nil {
		t.Fatalf("answer %s: %v", body, err)
	}
}

package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/iam-watchdog/iam-watchdog/internal/corpus"
	"github.com/iam-watchdog/iam-watchdog/internal/mototest"
)

// TestReplayS3 replays an archive from moto_server's S3, found through the standard AWS
// environment (AWS_ENDPOINT_URL), and from a local copy: the same findings in the same order.
// pkg/replay tests the listing itself (paging, pruning, scopes, missing buckets).
func TestReplayS3(t *testing.T) {
	srv := mototest.Start(t)
	awsEnv(t, srv.Endpoint)
	fx := mototest.NewFixture(srv.Config(t))
	const bucket = "org-trail-logs"
	if _, err := fx.S3.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	cfg := corpus.Default(1e6)
	cfg.Days, cfg.Interval, cfg.AlertRate = 1, 2*time.Hour, 0.01
	dir := t.TempDir()
	if _, err := corpus.Generate(dir, cfg, 2, nil); err != nil {
		t.Fatal(err)
	}
	fx.Upload(t, bucket, "trails/", dir)

	want := mustRun(t, "replay", "--output", "jsonl", "--region", "us-east-1", dir).stdout
	if want == "" {
		t.Fatal("no findings in the local copy: the test tests nothing")
	}
	r := mustRun(t, "replay", "--output", "jsonl", "--region", "us-east-1", "s3://"+bucket+"/trails/")
	// Rows name their source: the S3 key where the local run names the file.
	if got := strings.ReplaceAll(r.stdout, "s3://"+bucket+"/trails/", dir+string(filepath.Separator)); got != want {
		t.Errorf("S3 and local replays differ:\ngot\n%.2000s\nwant\n%.2000s", got, want)
	}
	if !strings.Contains(r.stderr, "; 0 unreadable") {
		t.Errorf("summary:\n%s", r.stderr)
	}
}

// awsEnv points the standard AWS environment at endpoint (moto_server) with test credentials,
// and away from the user's own profiles, for the CLI as a user runs it.
func awsEnv(t *testing.T, endpoint string) {
	t.Helper()
	home := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
		"AWS_SESSION_TOKEN": "", "AWS_REGION": "us-east-1", "AWS_PROFILE": "",
		"AWS_CONFIG_FILE": filepath.Join(home, "none"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(home, "none"),
		"AWS_EC2_METADATA_DISABLED": "true", "HOME": home, "XDG_STATE_HOME": filepath.Join(home, "state"),
	} {
		t.Setenv(k, v)
	}
}

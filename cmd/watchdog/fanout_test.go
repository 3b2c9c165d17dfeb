package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/iam-watchdog/iam-watchdog/internal/corpus"
	"github.com/iam-watchdog/iam-watchdog/internal/faultproxy"
	"github.com/iam-watchdog/iam-watchdog/internal/lambdatest"
	"github.com/iam-watchdog/iam-watchdog/internal/mototest"
	"github.com/iam-watchdog/iam-watchdog/internal/textdiff"
)

// backtest is an archive in moto_server's S3 and the replay function's real bootstrap under
// several aws-lambda-rie emulators behind one endpoint (the Lambda Invoke API the CLI's SDK
// client calls), reading S3 through a fault-injecting proxy.
type backtest struct {
	pool   *lambdatest.Pool
	faults *faultproxy.Proxy
	fx     *mototest.Fixture
	// broken is a key of the archive that is not gzip.
	broken string
}

const (
	archiveURL = "s3://org-trail-logs/trails/"
	resultsURL = "s3://backtests/watchdog/"
	// functionTimeout is each emulator's deadline, in seconds: the function stops reading a
	// second before it (a tenth of it, at least a second).
	functionTimeout = 4
)

func startBacktest(t *testing.T) *backtest {
	t.Helper()
	// Built before HOME moves: go build finds its cache and modules through it.
	bootstrap := lambdatest.Build(t, "./functions/replay")
	srv := mototest.Start(t)
	awsEnv(t, srv.Endpoint)
	b := &backtest{fx: mototest.NewFixture(srv.Config(t))}
	for _, bucket := range []string{"org-trail-logs", "backtests"} {
		if _, err := b.fx.S3.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
			t.Fatal(err)
		}
	}
	cfg := corpus.Default(3e6)
	cfg.Days, cfg.Interval, cfg.AlertRate = 1, time.Hour, 0.01
	dir := t.TempDir()
	if _, err := corpus.Generate(dir, cfg, 2, nil); err != nil {
		t.Fatal(err)
	}
	// One log file that is not gzip: a problem both replays report, and an unreadable input.
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && b.broken == "" && strings.Contains(p, "us-east-1") && strings.Contains(filepath.Base(p), "T1200Z") {
			b.broken = p
		}
		return err
	})
	if err != nil || b.broken == "" {
		t.Fatalf("no log file of noon in us-east-1: %v", err)
	}
	if err := os.WriteFile(b.broken, []byte("\x1f\x8bnot gzip"), 0o600); err != nil {
		t.Fatal(err)
	}
	rel, _ := filepath.Rel(dir, b.broken)
	b.broken = "trails/" + filepath.ToSlash(rel)
	b.fx.Upload(t, "org-trail-logs", "trails/", dir)

	b.faults = faultproxy.Start(t, srv.Endpoint)
	b.pool = lambdatest.StartPool(t, bootstrap, 3,
		"AWS_ENDPOINT_URL="+b.faults.URL,
		"AWS_LAMBDA_FUNCTION_TIMEOUT="+strconv.Itoa(functionTimeout),
		"ARCHIVE_BUCKET=org-trail-logs", "ARCHIVE_PREFIX=trails/",
		"RESULTS_BUCKET=backtests", "RESULTS_PREFIX=watchdog/")
	t.Setenv("AWS_ENDPOINT_URL_LAMBDA", b.pool.URL)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("emulators' logs:\n%s", b.pool.Logs())
		}
	})
	return b
}

// onLambda runs `watchdog replay --lambda function` on the archive with args.
func onLambda(t *testing.T, args ...string) cliResult {
	t.Helper()
	full := append([]string{"replay", "--lambda", "function", "--results", resultsURL, "--batch-size", "150KB"}, args...)
	return runCLI(t, "", append(full, archiveURL)...)
}

// resultsWrite matches the function's PUT of one batch's rows.
func resultsWrite(batch string) faultproxy.Matcher {
	return func(r faultproxy.Request) bool {
		return r.Method == http.MethodPut && strings.HasPrefix(r.Path, "/backtests/watchdog/") && strings.HasSuffix(r.Path, "/"+batch+".jsonl")
	}
}

// objectRead matches the function's GET of one object.
func objectRead(key string) faultproxy.Matcher {
	return func(r faultproxy.Request) bool { return r.Method == http.MethodGet && r.Path == "/org-trail-logs/"+key }
}

// summaryLines are the lines of standard error a local replay prints too: the problems and the
// summary, less its line on time and jobs.
func summaryLines(stderr string) string {
	var keep []string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(l, "watchdog: read ") || strings.Contains(l, " batches on Lambda ") ||
			strings.HasPrefix(l, "watchdog: the batches' findings are in ") || strings.HasPrefix(l, "watchdog: --concurrency ") {
			continue
		}
		keep = append(keep, l)
	}
	return strings.Join(keep, "\n")
}

var reportLine = regexp.MustCompile(`watchdog: (\d+) batches on Lambda function, (\d+) at once: (\d+) invocations, (\d+) retried, (\d+) split, (\d+) failed; Lambda time `)

// TestReplayOnLambda replays an archive in moto_server's S3 on the replay function's bootstrap
// under aws-lambda-rie, three at once, and holds what it prints to what a local replay of the
// same archive prints, byte for byte: the JSON Lines and the text, the problems and the
// summary, and the exit code. Then again with a batch whose function fails once (its rows
// cannot be written), and with one whose function runs short of time on a slow object and
// leaves the rest of its keys to smaller batches.
func TestReplayOnLambda(t *testing.T) {
	b := startBacktest(t)
	for _, output := range []string{"jsonl", "text"} {
		want := runCLI(t, "", "replay", "--output", output, archiveURL)
		if !errors.Is(want.err, errSomeInputs) || !strings.Contains(want.stderr, b.broken) || len(want.stdout) < 1000 {
			t.Fatalf("the local replay: %v, no findings or not the broken object's problem: the test tests nothing\n%s", want.err, want.stderr)
		}
		for _, tc := range []struct {
			name  string
			fault func() *faultproxy.Rule
			// retried and split are what the report must say.
			retried, split string
		}{
			{name: "no faults", retried: "0", split: "0"},
			{name: "a function error once", retried: "1", split: "0", fault: func() *faultproxy.Rule {
				// The function's SDK tries each PUT three times: its third 500 fails the invocation.
				return b.faults.Inject(resultsWrite("b000002"), faultproxy.Status(http.StatusInternalServerError), faultproxy.Times(3))
			}},
			{name: "short of time", retried: "0", split: "1", fault: func() *faultproxy.Rule {
				return b.faults.Inject(objectRead(b.keyOf(t, "b000003", 2)), faultproxy.Latency(functionTimeout*time.Second), faultproxy.Times(1))
			}},
		} {
			t.Run(output+"/"+tc.name, func(t *testing.T) {
				b.faults.Clear()
				var rule *faultproxy.Rule
				if tc.fault != nil {
					rule = tc.fault()
				}
				served, _ := b.pool.Invocations()
				got := onLambda(t, "--concurrency", "3", "--output", output)
				if !errors.Is(got.err, errSomeInputs) {
					t.Errorf("exit: %v, want some inputs unreadable, as the local replay\n%s", got.err, got.stderr)
				}
				if got.stdout != want.stdout {
					t.Errorf("output differs from the local replay's:\n%s", textdiff.First(got.stdout, want.stdout))
				}
				if g, w := summaryLines(got.stderr), summaryLines(want.stderr); g != w {
					t.Errorf("problems or summary differ from the local replay's:\n%s", textdiff.First(g, w))
				}
				m := reportLine.FindStringSubmatch(got.stderr)
				if m == nil || m[2] != "3" || m[4] != tc.retried || m[5] != tc.split || m[6] != "0" {
					t.Errorf("report %v: want 3 at once, %s retried, %s split, none failed\n%s", m, tc.retried, tc.split, got.stderr)
				}
				if rule != nil && b.faults.Hits(rule) == 0 {
					t.Error("the fault never struck: the case tests nothing")
				}
				after, busiest := b.pool.Invocations()
				if m != nil && m[3] != strconv.Itoa(after-served) {
					t.Errorf("the report counts %s invocations, the emulators served %d", m[3], after-served)
				}
				if busiest < 2 {
					t.Errorf("at most %d invocations ran at once", busiest)
				}
				if !strings.Contains(got.stderr, "watchdog: the batches' findings are in "+resultsURL) {
					t.Errorf("the CLI does not say where the results are:\n%s", got.stderr)
				}
			})
		}
	}
}

// keyOf is the n-th key of a batch as the CLI plans them at --batch-size 150KB.
func (b *backtest) keyOf(t *testing.T, batch string, n int) string {
	t.Helper()
	// The planning is pkg/fanout's; its batches are runs of keys in listing order, cut when
	// they reach the batch size, so they are recomputed here from the listing.
	out, err := b.fx.S3.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String("org-trail-logs"), Prefix: aws.String("trails/AWSLogs/")})
	if err != nil {
		t.Fatal(err)
	}
	var size int64
	id := 1
	i := 0
	for _, o := range out.Contents {
		if !strings.HasSuffix(aws.ToString(o.Key), ".json.gz") {
			continue
		}
		if batchName(id) == batch && i == n {
			return aws.ToString(o.Key)
		}
		i++
		size += aws.ToInt64(o.Size)
		if size >= 150e3 {
			id, size, i = id+1, 0, 0
		}
	}
	t.Fatalf("no key %d in batch %s", n, batch)
	return ""
}

func batchName(n int) string { return fmt.Sprintf("b%06d", n) }

// TestReplayOnLambdaNamesWhatItCouldNotRead fails one batch on every attempt: its keys are
// each named with the batch, its attempts and the reason, the summary counts them unreadable,
// the exit code is 1, and everything else is printed.
func TestReplayOnLambdaNamesWhatItCouldNotRead(t *testing.T) {
	b := startBacktest(t)
	b.faults.Inject(resultsWrite("b000002"), faultproxy.Status(http.StatusInternalServerError))
	got := onLambda(t, "--concurrency", "2", "--output", "jsonl")
	if !errors.Is(got.err, errSomeInputs) {
		t.Fatalf("exit: %v, want some inputs unreadable", got.err)
	}
	unread := regexp.MustCompile(`(?m)^watchdog: s3://org-trail-logs/(\S+): not read: batch b000002 failed after 3 attempts: function error \(\S+\): batch b000002: write results to s3://backtests/watchdog/\S+/b000002\.jsonl: .*500`).FindAllStringSubmatch(got.stderr, -1)
	if len(unread) == 0 {
		t.Fatalf("no key of the failed batch named, with its reason:\n%s", got.stderr)
	}
	wantUnreadable := len(unread) // and the broken object, unless it was in the failed batch
	if !strings.Contains(got.stderr, b.broken+": not read: ") {
		wantUnreadable++
	}
	if !regexp.MustCompile(`watchdog: \d+ inputs, \d+ records, \d+ findings .*; ` + strconv.Itoa(wantUnreadable) + ` unreadable`).MatchString(got.stderr) {
		t.Errorf("the summary does not count %d inputs unreadable:\n%s", wantUnreadable, got.stderr)
	}
	if len(got.stdout) < 1000 {
		t.Errorf("the other batches' findings are missing:\n%s", got.stdout)
	}
}

// TestReplayOnLambdaFlags holds the flags to what --lambda can do: it never acts, keeps no
// state, reads only S3, needs somewhere to write; and without --concurrency it says how it
// chose one: here the emulators do not serve lambda GetAccountSettings, so a safe default.
func TestReplayOnLambdaFlags(t *testing.T) {
	b := startBacktest(t)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"auto mode", []string{"replay", "--lambda", "function", "--results", resultsURL, "--mode", "auto", archiveURL}, "--lambda never acts: add --dry-run"},
		{"a rule in auto", []string{"replay", "--lambda", "function", "--results", resultsURL, "--config", "testdata/auto-rule.yaml", archiveURL}, "--lambda never acts"},
		{"state", []string{"replay", "--lambda", "function", "--results", resultsURL, "--state", "x.json", archiveURL}, "--lambda keeps no state"},
		{"a local path", []string{"replay", "--lambda", "function", "--results", resultsURL, "."}, `s3:// archives only, not "."`},
		{"no results", []string{"replay", "--lambda", "function", archiveURL}, "--lambda needs --results"},
		{"a bad batch size", []string{"replay", "--lambda", "function", "--results", resultsURL, "--batch-size", "lots", archiveURL}, "--batch-size"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, "", tc.args...)
			var ue usageError
			if !errors.As(r.err, &ue) || !strings.Contains(r.err.Error(), tc.want) {
				t.Errorf("watchdog %s: %v, want a usage error with %q", strings.Join(tc.args, " "), r.err, tc.want)
			}
		})
	}
	if served, _ := b.pool.Invocations(); served != 0 {
		t.Errorf("%d invocations for refused flags", served)
	}

	// What auto mode would have done, on Lambda as locally; the concurrency chosen and why.
	want := runCLI(t, "", "replay", "--mode", "auto", "--dry-run", "--output", "jsonl", archiveURL)
	got := onLambda(t, "--mode", "auto", "--dry-run", "--output", "jsonl")
	if got.stdout != want.stdout || !strings.Contains(got.stdout, `"status":"planned"`) {
		t.Errorf("--mode auto --dry-run differs from the local replay's:\n%s", textdiff.First(got.stdout, want.stdout))
	}
	if !strings.Contains(got.stderr, "watchdog: --concurrency 10: a safe default: the account's Lambda concurrency could not be read (lambda GetAccountSettings:") {
		t.Errorf("the CLI does not say how it chose its concurrency:\n%s", got.stderr)
	}
}

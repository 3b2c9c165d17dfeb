package lambdabench

import (
	"context"
	"io/fs"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	eventstestdata "github.com/iam-watchdog/iam-watchdog/events-testdata"
	"github.com/iam-watchdog/iam-watchdog/internal/lambdatest"
	"github.com/iam-watchdog/iam-watchdog/internal/mototest"
	"github.com/iam-watchdog/iam-watchdog/internal/slackserver"
)

// coldStarts is how many times the function is started afresh to measure INIT.
const coldStarts = 5

// invokeDuration reads the emulator's REPORT lines. Their "Init Duration" is not used: this
// emulator starts the bootstrap at the first invoke and does not wait for it to be ready before
// it stops the clock, so INIT shows in the first invoke's Duration instead.
var invokeDuration = regexp.MustCompile(`REPORT RequestId: \S+\t(?:Init Duration: [0-9.]+ ms\t)?Duration: ([0-9.]+) ms`)

func durations(re *regexp.Regexp, logs string) []float64 {
	var out []float64
	for _, m := range re.FindAllStringSubmatch(logs, -1) {
		v, _ := strconv.ParseFloat(m[1], 64)
		out = append(out, v)
	}
	return out
}

// percentile is the p-th percentile (nearest rank) of sorted values.
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p/100*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// BenchmarkLambda invokes the bootstrap b.N times with the example events in turn (alerts post
// to the local Slack, near misses do not), after one warm-up pass, and reports the emulator's
// invoke durations (p50, p99), and INIT over coldStarts fresh starts: the first invoke's
// duration, with a near-miss event (no secret read, no Slack call), less the warm p50 of the
// same event. Run it with -benchtime=1000x for a p99 over a thousand invokes.
func BenchmarkLambda(b *testing.B) {
	ctx := context.Background()
	bootstrap := lambdatest.Build(b, "./functions/watchdog")
	moto := mototest.Start(b)
	sec, err := secretsmanager.NewFromConfig(moto.Config(b)).CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name: aws.String("iam-watchdog/slack"), SecretString: aws.String(`{"token":"xoxb-0000-bench"}`),
	})
	if err != nil {
		b.Fatal(err)
	}
	slack := slackserver.Start(b)
	env := []string{
		"AWS_ENDPOINT_URL=" + moto.Endpoint,
		"SLACK_SECRET_ARN=" + aws.ToString(sec.ARN),
		"SLACK_CHANNEL=C0SECURITY",
		"SLACK_API_URL=" + slack.APIURL(),
		"REMEDIATION_MODE=dry-run",
		"WATCHDOG_ROLE_ARN=" + eventstestdata.WatchdogRoleARN,
		"QUARANTINE_POLICY_ARN=" + eventstestdata.QuarantinePolicyARN,
	}
	names, err := fs.Glob(eventstestdata.FS, "*/*.json")
	if err != nil || len(names) == 0 {
		b.Fatalf("no example events: %v", err)
	}
	var events [][]byte
	for _, n := range names {
		data, err := fs.ReadFile(eventstestdata.FS, n)
		if err != nil {
			b.Fatal(err)
		}
		events = append(events, data)
	}

	quiet := slices.IndexFunc(names, func(n string) bool { return strings.Contains(n, "/quiet-") })
	if quiet < 0 {
		b.Fatal("no near-miss example event")
	}
	var firsts []float64
	for range coldStarts {
		fn := lambdatest.Start(b, bootstrap, env...)
		if body := fn.Invoke(b, events[quiet]); lambdatest.FunctionError(body) {
			b.Fatalf("function error: %s", body)
		}
		firsts = append(firsts, durations(invokeDuration, waitForReports(fn, 1))...)
	}

	fn := lambdatest.Start(b, bootstrap, env...)
	for _, e := range events { // warm-up: INIT, the secret read, the first Slack connection
		if body := fn.Invoke(b, e); lambdatest.FunctionError(body) {
			b.Fatalf("function error: %s", body)
		}
	}
	skip := len(durations(invokeDuration, waitForReports(fn, len(events))))
	before := len(slack.Messages())
	i := 0
	for b.Loop() {
		if body := fn.Invoke(b, events[i%len(events)]); lambdatest.FunctionError(body) {
			b.Fatalf("function error: %s", body)
		}
		i++
	}
	b.StopTimer()
	logs := waitForReports(fn, skip+i)
	warm := durations(invokeDuration, logs)[skip:]
	if len(slack.Messages()) == before {
		b.Fatal("no alert reached the local Slack")
	}
	// The warm durations of the near-miss event alone, to take from the first invokes.
	var quietWarm []float64
	for k, d := range warm {
		if k%len(events) == quiet {
			quietWarm = append(quietWarm, d)
		}
	}
	slices.Sort(warm)
	slices.Sort(quietWarm)
	base := percentile(quietWarm, 50)
	for k := range firsts {
		firsts[k] = max(0, firsts[k]-base)
	}
	slices.Sort(firsts)
	b.ReportMetric(percentile(warm, 50), "p50-ms")
	b.ReportMetric(percentile(warm, 99), "p99-ms")
	b.ReportMetric(percentile(firsts, 50), "init-p50-ms")
	b.ReportMetric(firsts[len(firsts)-1], "init-max-ms")
	b.ReportMetric(float64(len(warm)), "invokes")
}

// waitForReports waits until the function's log holds n REPORT lines (the emulator prints the
// line after the response) and returns the log.
func waitForReports(fn *lambdatest.Function, n int) string {
	deadline := time.Now().Add(10 * time.Second)
	for {
		logs := fn.Logs()
		if len(invokeDuration.FindAllStringIndex(logs, -1)) >= n || time.Now().After(deadline) {
			return logs
		}
		time.Sleep(5 * time.Millisecond)
	}
}

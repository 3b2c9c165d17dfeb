package fanout

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/iam-watchdog/iam-watchdog/internal/corpus"
	"github.com/iam-watchdog/iam-watchdog/internal/sleep"
	"github.com/iam-watchdog/iam-watchdog/internal/textdiff"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/notify"
	"github.com/iam-watchdog/iam-watchdog/pkg/policy"
	"github.com/iam-watchdog/iam-watchdog/pkg/remediate"
	"github.com/iam-watchdog/iam-watchdog/pkg/replay"
	"github.com/iam-watchdog/iam-watchdog/pkg/replayhandler"
	"github.com/iam-watchdog/iam-watchdog/pkg/watchdog"
)

// memS3 is buckets in memory, listed as S3 lists them (one page, which is all replay's walk
// needs here: pkg/replay tests the paging). block, when set, makes a GET wait for its
// context's end.
type memS3 struct {
	mu      sync.Mutex
	objects map[string][]byte // "bucket/key"
	block   func(key string) bool
}

func (m *memS3) ListObjectsV2(_ context.Context, in *s3.ListObjectsV2Input, _ ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	bucket, prefix := aws.ToString(in.Bucket), aws.ToString(in.Prefix)
	out := &s3.ListObjectsV2Output{}
	seen := map[string]bool{}
	var names []string
	for name := range m.objects {
		names = append(names, name)
	}
	slices.Sort(names)
	found := false
	for _, name := range names {
		b, key, _ := strings.Cut(name, "/")
		if b != bucket {
			continue
		}
		found = true
		rest, ok := strings.CutPrefix(key, prefix)
		if !ok {
			continue
		}
		if i := strings.IndexByte(rest, '/'); i >= 0 && aws.ToString(in.Delimiter) == "/" {
			if p := prefix + rest[:i+1]; !seen[p] {
				seen[p] = true
				out.CommonPrefixes = append(out.CommonPrefixes, s3types.CommonPrefix{Prefix: aws.String(p)})
			}
			continue
		}
		out.Contents = append(out.Contents, s3types.Object{Key: aws.String(key), Size: aws.Int64(int64(len(m.objects[name])))})
	}
	if !found {
		return nil, fmt.Errorf("NoSuchBucket: %s", bucket)
	}
	return out, nil
}

func (m *memS3) GetObject(ctx context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	key := aws.ToString(in.Key)
	if m.block != nil && m.block(key) {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	data, ok := m.objects[aws.ToString(in.Bucket)+"/"+key]
	if !ok {
		return nil, fmt.Errorf("NoSuchKey: %s", key)
	}
	return &s3.GetObjectOutput{Body: io.NopCloser(bytes.NewReader(data))}, nil
}

func (m *memS3) PutObject(_ context.Context, in *s3.PutObjectInput, _ ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	data, err := io.ReadAll(in.Body)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.objects[aws.ToString(in.Bucket)+"/"+aws.ToString(in.Key)] = data
	return &s3.PutObjectOutput{}, nil
}

// archive is a generated CloudTrail archive in memory, bucket "archive", with one object that
// is not gzip, and an empty bucket "results".
func archive(t *testing.T) *memS3 {
	t.Helper()
	c := corpus.Default(2e6)
	c.Days, c.AlertRate, c.Interval = 1, 0.01, time.Hour
	dir := t.TempDir()
	if _, err := corpus.Generate(dir, c, 2, nil); err != nil {
		t.Fatal(err)
	}
	m := &memS3{objects: map[string][]byte{"results/.keep": nil}}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json.gz") {
			return err
		}
		data, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		m.objects["archive/"+filepath.ToSlash(rel)] = data
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// In us-east-1 at 10:00, so that it is in every scope the tests use.
	for k := range m.objects {
		if strings.Contains(k, "/us-east-1/") && strings.Contains(k, "T1000Z") {
			m.objects[k] = []byte("\x1f\x8bnot gzip")
			return m
		}
	}
	t.Fatal("no log file of 10:00 in us-east-1")
	return nil
}

// fakeLambda runs the replay function's handler in this process, with faults programmed per
// batch and call, and counts the invocations and the most that ran at once.
type fakeLambda struct {
	h     *replayhandler.Handler
	fault func(batch string, call int) string
	// budget is the Lambda deadline each invocation gets.
	budget time.Duration

	mu                      sync.Mutex
	calls                   map[string]int
	running, most, answered int
}

func (f *fakeLambda) Invoke(ctx context.Context, in *lambda.InvokeInput, _ ...func(*lambda.Options)) (*lambda.InvokeOutput, error) {
	var req replay.BatchRequest
	if err := json.Unmarshal(in.Payload, &req); err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.calls[req.Batch]++
	call := f.calls[req.Batch]
	f.running++
	f.most = max(f.most, f.running)
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.running--
		f.mu.Unlock()
	}()
	fault := ""
	if f.fault != nil {
		fault = f.fault(req.Batch, call)
	}
	// Lambda answers with the log tail asked for: the REPORT line's billed duration.
	tail := aws.String("VGFpbA==") // "Tail": no REPORT line
	if in.LogType == types.LogTypeTail {
		tail = aws.String("UkVQT1JUIFJlcXVlc3RJZDogeAlEdXJhdGlvbjogMTIuMyBtcwlCaWxsZWQgRHVyYXRpb246IDEzIG1zCg==") // REPORT … Billed Duration: 13 ms
	}
	if fault == "api" {
		return nil, errors.New("connection reset by peer")
	}
	f.mu.Lock()
	f.answered++
	f.mu.Unlock()
	switch fault {
	case "function":
		return &lambda.InvokeOutput{StatusCode: 200, FunctionError: aws.String("Unhandled"), LogResult: tail,
			Payload: []byte(`{"errorMessage":"batch x: write results: 500","errorType":"wrapError"}`)}, nil
	case "timeout":
		return &lambda.InvokeOutput{StatusCode: 200, LogResult: tail, Payload: []byte("Task timed out after 3.00 seconds")}, nil
	case "sandbox":
		return &lambda.InvokeOutput{StatusCode: 200, FunctionError: aws.String("Unhandled"), LogResult: tail,
			Payload: []byte(`{"errorType":"Sandbox.Timedout","errorMessage":"RequestId: x Error: Task timed out after 900.00 seconds"}`)}, nil
	}
	ctx, cancel := context.WithTimeout(ctx, f.budget)
	defer cancel()
	resp, err := f.h.Invoke(ctx, in.Payload)
	if err != nil {
		return &lambda.InvokeOutput{StatusCode: 200, FunctionError: aws.String("Unhandled"), LogResult: tail,
			Payload: fmt.Appendf(nil, `{"errorMessage":%q,"errorType":"wrapError"}`, err.Error())}, nil
	}
	payload, err := json.Marshal(resp)
	if err != nil {
		return nil, err
	}
	if fault == "corrupt" {
		s3 := f.h.S3.(*memS3)
		name := "results/" + strings.TrimPrefix(req.Results, "s3://results/")
		s3.mu.Lock()
		s3.objects[name] = s3.objects[name][:len(s3.objects[name])/2]
		s3.mu.Unlock()
	}
	return &lambda.InvokeOutput{StatusCode: 200, LogResult: tail, Payload: payload}, nil
}

func (f *fakeLambda) GetAccountSettings(context.Context, *lambda.GetAccountSettingsInput, ...func(*lambda.Options)) (*lambda.GetAccountSettingsOutput, error) {
	return &lambda.GetAccountSettingsOutput{AccountLimit: &types.AccountLimit{UnreservedConcurrentExecutions: aws.Int32(900)}}, nil
}

// local is what a local replay of the archive prints.
func local(t *testing.T, api *memS3, kind string, sc replay.Scope) (out, problems string, s *replay.Summary) {
	t.Helper()
	cfg := policy.Default()
	var o, p bytes.Buffer
	s, err := replay.Run(context.Background(), replay.Options{
		Pipeline: &watchdog.Pipeline{Detector: detect.DefaultWith(cfg.Detection()), Config: cfg,
			Remediator: &remediate.Remediator{QuarantinePolicyARN: cfg.QuarantinePolicyARN}, Owner: "test"},
		Output:   sinkOf(kind, &o),
		Sources:  []replay.Source{replay.S3Prefix{URL: "s3://archive/AWSLogs/", Client: func(context.Context) (replay.S3API, error) { return api, nil }}},
		Jobs:     2,
		Scope:    sc,
		Problems: func(err error) { p.WriteString(err.Error() + "\n") },
	})
	if err != nil {
		t.Fatal(err)
	}
	return o.String(), p.String(), s
}

func sinkOf(kind string, w io.Writer) notify.Sink {
	if kind == "text" {
		return notify.NewConsole(w)
	}
	return notify.NewJSONL(w)
}

// firstLine is the summary's first line, the one scripts read.
func firstLine(s *replay.Summary) string {
	var b bytes.Buffer
	s.Print(&b, true)
	lines := strings.Split(b.String(), "\n")
	var keep []string
	for _, l := range lines {
		if !strings.HasPrefix(l, "watchdog: read ") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// TestFanOutIsALocalReplay fans an archive out in small batches over a Lambda that fails in
// the ways Lambda fails, and holds the merged output, problems and summary to a local replay's,
// byte for byte: an invoke that errs, a function error, a function that times out (Lambda's
// answer and the emulator's), rows cut short, and a function that runs short of time and
// leaves keys for another batch. Each retried or split batch is counted.
func TestFanOutIsALocalReplay(t *testing.T) {
	api := archive(t)
	since := time.Date(2024, 5, 1, 6, 0, 0, 0, time.UTC)
	var blockKey string
	for _, tc := range []struct {
		name  string
		sc    replay.Scope
		fault func(batch string, call int) string
		// block, when set, picks a key of batch b000002 whose GET never answers the first
		// time: the function stops short of it and leaves the rest.
		block bool
		// retried and split are the report's counts.
		retried, split int
	}{
		{name: "no faults"},
		{name: "a scope", sc: replay.Scope{Since: since, Region: "us-east-1"}},
		{name: "an invoke fails once", fault: once("b000002", "api"), retried: 1},
		{name: "a function error once", fault: once("b000003", "function"), retried: 1},
		{name: "rows cut short once", fault: once("b000001", "corrupt"), retried: 1},
		{name: "a timeout, as the emulator says it", fault: once("b000002", "timeout"), split: 1},
		{name: "a timeout, as Lambda says it", fault: once("b000004", "sandbox"), split: 1},
		{name: "short of time", block: true, split: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, kind := range []string{"jsonl", "text"} {
				wantOut, wantProblems, wantSummary := local(t, api, kind, tc.sc)
				if !strings.Contains(wantProblems, "gzip") || wantSummary.Findings == 0 {
					t.Fatalf("the local replay has no findings or no problem: the case tests nothing\n%s", wantProblems)
				}
				api.block = nil
				blocked := false
				if tc.block {
					blockKey = ""
					api.block = func(key string) bool {
						if key == blockKey && !blocked {
							blocked = true
							return true
						}
						return false
					}
				}
				// A short time budget only where running out of it is the case: on a loaded machine
				// a batch of the other cases could otherwise run short and be split.
				budget := time.Minute
				if tc.block {
					budget = 1500 * time.Millisecond
				}
				fl := &fakeLambda{h: &replayhandler.Handler{Env: replayhandler.Env{ArchiveBucket: "archive", ResultsBucket: "results", ResultsPrefix: "runs/"},
					S3: api, Jobs: 2, Prefetch: 4}, fault: tc.fault, calls: map[string]int{}, budget: budget}
				var out, problems bytes.Buffer
				o := Options{Function: "function", Lambda: fl, S3: api, Sources: []string{"s3://archive/AWSLogs/"}, Scope: tc.sc,
					Config: policy.Default(), Results: "s3://results/runs", RunID: "run", Concurrency: 3, BatchBytes: 60 << 10,
					Backoff: sleep.Backoff{Base: time.Millisecond, Max: time.Millisecond}, Output: sinkOf(kind, &out),
					Problems: func(err error) { problems.WriteString(err.Error() + "\n") }}
				if tc.block {
					// The third key of the second batch, planned as Run will plan it.
					plans := make(chan *batch)
					go plan(context.Background(), []replay.Source{replay.S3Prefix{URL: o.Sources[0], Client: func(context.Context) (replay.S3API, error) { return api, nil }}}, tc.sc, o.BatchBytes, plans)
					for b := range plans {
						if b.id == "b000002" {
							blockKey = b.keys[2]
						}
					}
				}
				var last Progress
				o.Progress = func(p Progress) { last = p }
				rep, err := Run(context.Background(), o)
				if err != nil {
					t.Fatal(err)
				}
				// The progress ends with everything listed read, every batch done, the Lambda time
				// the report counts.
				if !last.Listed || last.Read != last.Planned || last.Planned == 0 || last.Done < rep.Batches || last.Failed != 0 || last.Lambda != rep.Lambda {
					t.Errorf("last progress %+v; report %d batches, Lambda %v", last, rep.Batches, rep.Lambda)
				}
				if got := out.String(); got != wantOut {
					t.Errorf("%s output differs from the local replay's:\n%s", kind, textdiff.First(got, wantOut))
				}
				if got := problems.String(); got != wantProblems {
					t.Errorf("problems differ:\n%s", textdiff.First(got, wantProblems))
				}
				if got, want := firstLine(rep.Summary), firstLine(wantSummary); got != want {
					t.Errorf("summary differs:\n%s", textdiff.First(got, want))
				}
				if rep.Retried != tc.retried || rep.Split != tc.split || rep.Failed != 0 {
					t.Errorf("retried %d, split %d, failed %d; want %d, %d, 0", rep.Retried, rep.Split, rep.Failed, tc.retried, tc.split)
				}
				if rep.Batches < 4 || fl.most > o.Concurrency || fl.most < 2 {
					t.Errorf("%d batches, at most %d at once; want 4 or more, 2 to %d at once", rep.Batches, fl.most, o.Concurrency)
				}
				if rep.Billed != fl.answered || rep.Lambda != time.Duration(13*fl.answered)*time.Millisecond {
					t.Errorf("Lambda time %v over %d billed invocations; want 13 ms for each of %d answered", rep.Lambda, rep.Billed, fl.answered)
				}
				if tc.block && !blocked {
					t.Error("the blocked key was never asked for: the case tests nothing")
				}
				if rep.Results != "s3://results/runs/run/" {
					t.Errorf("results in %s", rep.Results)
				}
			}
		})
	}
}

func once(batch, fault string) func(string, int) string {
	return func(b string, call int) string {
		if b == batch && call == 1 {
			return fault
		}
		return ""
	}
}

// TestFanOutNamesWhatItCouldNotRead makes one batch fail on every attempt, and another be
// refused: their keys are reported unread, each naming the batch, its attempts and the reason,
// the summary counts them, and every other batch is merged as a local replay gives it.
func TestFanOutNamesWhatItCouldNotRead(t *testing.T) {
	api := archive(t)
	fl := &fakeLambda{h: &replayhandler.Handler{Env: replayhandler.Env{ArchiveBucket: "archive", ResultsBucket: "results", ResultsPrefix: "runs/"},
		S3: api, Jobs: 2, Prefetch: 4}, calls: map[string]int{}, budget: 5 * time.Second,
		fault: func(b string, _ int) string {
			if b == "b000002" {
				return "function"
			}
			return ""
		}}
	var out, problems bytes.Buffer
	o := Options{Function: "function", Lambda: fl, S3: api, Sources: []string{"s3://archive/AWSLogs/", "s3://elsewhere/AWSLogs/"},
		Config: policy.Default(), Results: "s3://results/runs/", RunID: "run", Concurrency: 2, BatchBytes: 60 << 10,
		Backoff: sleep.Backoff{Base: time.Millisecond, Max: time.Millisecond}, Output: sinkOf("jsonl", &out),
		Problems: func(err error) { problems.WriteString(err.Error() + "\n") }}
	rep, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if fl.calls["b000002"] != DefaultAttempts || rep.Failed != 1 {
		t.Errorf("b000002 invoked %d times, %d batches failed; want %d and 1", fl.calls["b000002"], rep.Failed, DefaultAttempts)
	}
	if rep.Summary.Err() != replay.ErrSomeInputs {
		t.Errorf("summary error %v, want ErrSomeInputs", rep.Summary.Err())
	}
	// The failed batch's keys, each named with the reason; the missing bucket, as a local
	// replay names it.
	var unread []string
	for _, l := range strings.Split(problems.String(), "\n") {
		if strings.Contains(l, "not read: batch b000002 failed after 3 attempts: function error (wrapError): batch x: write results: 500") {
			unread = append(unread, l)
		}
	}
	if len(unread) == 0 || !strings.Contains(problems.String(), "list s3://elsewhere/AWSLogs/") {
		t.Errorf("problems do not name the failed batch's keys and the missing bucket:\n%s", problems.String())
	}
	wantUnread := len(unread) + 1 // and the missing bucket, and the broken object unless it was in the batch
	if !strings.Contains(strings.Join(unread, "\n"), "T1000Z") {
		wantUnread++
	}
	if rep.Summary.Unreadable != wantUnread {
		t.Errorf("%d unreadable, want %d:\n%s", rep.Summary.Unreadable, wantUnread, problems.String())
	}
	// The other batches' findings are all there, in order: the local replay's less those of the
	// failed batch's keys.
	wantOut, _, _ := local(t, api, "jsonl", replay.Scope{})
	var want []string
	for _, l := range strings.Split(strings.TrimSuffix(wantOut, "\n"), "\n") {
		skip := false
		for _, u := range unread {
			name, _, _ := strings.Cut(u, ": not read")
			skip = skip || strings.Contains(l, `"source":"`+name+":")
		}
		if !skip {
			want = append(want, l)
		}
	}
	if got := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n"); !slices.Equal(got, want) {
		t.Errorf("output differs from the local replay's less the failed batch:\n%s", textdiff.First(strings.Join(got, "\n"), strings.Join(want, "\n")))
	}

	// A request the function refuses is not sent again.
	fl.calls = map[string]int{}
	o.Sources = []string{"s3://archive/AWSLogs/"}
	o.Config.AdminGroups = []string{"not a group!"}
	rep, err = Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Failed != rep.Batches || fl.calls["b000001"] != 1 || !strings.Contains(problems.String(), "refused by the function: config: ") {
		t.Errorf("%d of %d batches failed, b000001 invoked %d times; want all failed, each once, refused for its config\n%s",
			rep.Failed, rep.Batches, fl.calls["b000001"], problems.String())
	}
}

// TestDefaultConcurrency leaves half the account's unreserved concurrency to its other
// functions, and falls back on a safe default, saying so, when the settings cannot be read.
func TestDefaultConcurrency(t *testing.T) {
	n, why := DefaultConcurrency(context.Background(), &fakeLambda{})
	if n != 450 || !strings.Contains(why, "900 unreserved") {
		t.Errorf("DefaultConcurrency = %d (%s), want 450", n, why)
	}
	n, why = DefaultConcurrency(context.Background(), deniedSettings{})
	if n != SafeConcurrency || !strings.Contains(why, "AccessDeniedException") {
		t.Errorf("DefaultConcurrency = %d (%s), want %d and the reason", n, why, SafeConcurrency)
	}
}

type deniedSettings struct{ LambdaAPI }

func (deniedSettings) GetAccountSettings(context.Context, *lambda.GetAccountSettingsInput, ...func(*lambda.Options)) (*lambda.GetAccountSettingsOutput, error) {
	return nil, errors.New("AccessDeniedException: not authorized to perform lambda:GetAccountSettings")
}

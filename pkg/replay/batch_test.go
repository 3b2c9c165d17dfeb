package replay

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/iam-watchdog/iam-watchdog/internal/textdiff"
	"github.com/iam-watchdog/iam-watchdog/pkg/notify"
)

// dirS3 serves a directory as a bucket: keys are paths under it, listed as S3 lists them.
type dirS3 struct {
	fakeS3
	dir string
	// block, when set, makes GetObject of the keys it names wait until the request's context
	// ends.
	block func(key string) bool
}

func newDirS3(t *testing.T, dir string) *dirS3 {
	t.Helper()
	d := &dirS3{dir: dir}
	for _, f := range logFiles(t, dir) {
		rel, err := filepath.Rel(dir, f)
		if err != nil {
			t.Fatal(err)
		}
		d.keys = append(d.keys, filepath.ToSlash(rel))
	}
	return d
}

func (d *dirS3) GetObject(ctx context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	key := aws.ToString(in.Key)
	if d.block != nil && d.block(key) {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	f, err := os.Open(filepath.Join(d.dir, filepath.FromSlash(key)))
	if err != nil {
		return nil, err
	}
	return &s3.GetObjectOutput{Body: f}, nil
}

// outputs are what a replay printed: text, JSON Lines, problems, and the summary's lines.
type outputs struct {
	text, jsonl, problems, summary string
}

// localOutputs replays the whole bucket in one run, as `watchdog replay s3://…` does.
func localOutputs(t *testing.T, api S3API, sc Scope) outputs {
	t.Helper()
	var o outputs
	for _, kind := range []string{"text", "jsonl"} {
		var out, problems bytes.Buffer
		s, err := Run(context.Background(), Options{Pipeline: dryRun(), Output: sink(kind, &out), Jobs: 2, Scope: sc,
			Sources:  []Source{S3Prefix{URL: "s3://archive/", Client: func(context.Context) (S3API, error) { return api, nil }}},
			Problems: func(err error) { problems.WriteString(err.Error() + "\n") }})
		if err != nil {
			t.Fatal(err)
		}
		if kind == "text" {
			o.text = out.String()
		} else {
			o.jsonl, o.problems, o.summary = out.String(), problems.String(), summaryCounts(s)
		}
	}
	return o
}

func sink(kind string, w *bytes.Buffer) notify.Sink {
	if kind == "text" {
		return notify.NewConsole(w)
	}
	return notify.NewJSONL(w)
}

// summaryCounts is the summary as printed, less the line on time and jobs.
func summaryCounts(s *Summary) string {
	var b bytes.Buffer
	s.Print(&b, true)
	var keep []string
	for _, l := range strings.Split(b.String(), "\n") {
		if !strings.HasPrefix(l, "watchdog: read ") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// TestBatchesMergeToTheLocalReplay runs the keys of an archive in batches (RunBatch), checks
// and merges their rows in order (CheckRows, Merger), and gets, byte for byte, what one local
// replay of the same objects prints: the text and the JSON Lines, the problems and the summary.
func TestBatchesMergeToTheLocalReplay(t *testing.T) {
	dir, _ := testCorpus(t)
	api := newDirS3(t, dir)
	// One object that is not gzip, in both scopes: a problem, and an unreadable input.
	var bad string
	for _, k := range api.keys {
		if strings.Contains(k, "/us-east-1/2024/05/02/") && strings.Contains(k, "T10") {
			bad = k
			break
		}
	}
	if bad == "" {
		t.Fatal("no log file of 2024-05-02 10:00 in us-east-1")
	}
	if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(bad)), []byte("\x1f\x8bnot gzip"), 0o600); err != nil {
		t.Fatal(err)
	}
	day := time.Date(2024, 5, 2, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		sc   Scope
	}{
		{"all", Scope{}},
		{"a window in a region", Scope{Since: day.Add(5 * time.Hour), Until: day.Add(30 * time.Hour), Region: "us-east-1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := localOutputs(t, api, tc.sc)
			if want.jsonl == "" || !strings.Contains(want.problems, bad) {
				t.Fatalf("the local replay has no findings or not the broken object's problem: the case tests nothing\n%s", want.problems)
			}
			var keys []string
			for in, err := range (S3Prefix{URL: "s3://archive/", Client: func(context.Context) (S3API, error) { return api, nil }}).Inputs(context.Background(), tc.sc, false) {
				if err != nil {
					t.Fatal(err)
				}
				keys = append(keys, strings.TrimPrefix(in.Name, "s3://archive/"))
			}
			var got outputs
			for _, kind := range []string{"text", "jsonl"} {
				var out, problems bytes.Buffer
				m := NewMerger(sink(kind, &out), func(err error) { problems.WriteString(err.Error() + "\n") }, 2)
				for start := 0; start < len(keys); start += 7 {
					batch := keys[start:min(start+7, len(keys))]
					var rows bytes.Buffer
					resp, err := RunBatch(context.Background(), BatchOptions{Pipeline: dryRun(), S3: api, Bucket: "archive", Keys: batch,
						Scope: tc.sc, Jobs: 3, Prefetch: 4, Rows: &rows})
					if err != nil || resp.Done != len(batch) || len(resp.Remaining) != 0 {
						t.Fatalf("batch at %d: done %d of %d, %v", start, resp.Done, len(batch), err)
					}
					names := make([]string, len(batch))
					for i, k := range batch {
						names[i] = ObjectName("archive", k)
					}
					totals, err := CheckRows(bytes.NewReader(rows.Bytes()), names)
					if err != nil {
						t.Fatalf("batch at %d: %v\n%s", start, err, rows.String())
					}
					if totals != resp.Totals {
						t.Errorf("batch at %d: rows total %+v, the response %+v", start, totals, resp.Totals)
					}
					if err := m.Rows(context.Background(), &rows); err != nil {
						t.Fatal(err)
					}
				}
				if kind == "text" {
					got.text = out.String()
				} else {
					got.jsonl, got.problems, got.summary = out.String(), problems.String(), summaryCounts(m.Summary)
				}
			}
			for _, c := range []struct{ what, got, want string }{
				{"text", got.text, want.text}, {"JSON Lines", got.jsonl, want.jsonl},
				{"problems", got.problems, want.problems}, {"summary", got.summary, want.summary},
			} {
				if c.got != c.want {
					t.Errorf("%s differ from the local replay's:\n%s", c.what, textdiff.First(c.got, c.want))
				}
			}
		})
	}
}

// TestRunBatchStops holds RunBatch to its Stop: the inputs read by then are done, with their
// rows; the one being read and the rest are left, with none, and no problem told of them.
func TestRunBatchStops(t *testing.T) {
	dir, _ := testCorpus(t)
	api := newDirS3(t, dir)
	keys := api.keys[:12]
	api.block = func(key string) bool { return key == keys[5] }
	var rows bytes.Buffer
	resp, err := RunBatch(context.Background(), BatchOptions{Pipeline: dryRun(), S3: api, Bucket: "archive", Keys: keys,
		Jobs: 2, Prefetch: 3, Rows: &rows, Stop: time.Now().Add(500 * time.Millisecond)})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Done != 5 || len(resp.Remaining) != 7 || resp.Remaining[0] != keys[5] {
		t.Fatalf("done %d, remaining %v; want 5 done and the rest from %s", resp.Done, resp.Remaining, keys[5])
	}
	// The read Stop cut off is left for another batch, not reported as a problem of its object.
	if len(resp.Problems) != 0 || resp.Totals.Problems != 0 || resp.Totals.Unreadable != 0 {
		t.Errorf("problems %+v, totals %+v: the object cut off at Stop was reported", resp.Problems, resp.Totals)
	}
	names := make([]string, 5)
	for i, k := range keys[:5] {
		names[i] = ObjectName("archive", k)
	}
	if _, err := CheckRows(bytes.NewReader(rows.Bytes()), names); err != nil {
		t.Errorf("rows of the done inputs: %v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := RunBatch(ctx, BatchOptions{Pipeline: dryRun(), S3: api, Bucket: "archive", Keys: keys, Rows: &rows}); !errors.Is(err, context.Canceled) {
		t.Errorf("a batch whose context ended: %v, want context.Canceled", err)
	}
}

// endingCtx is a context that has ended (Err) but has not yet closed Done: the moment, inside a
// deadline's cancellation, when a context's Err is set and the contexts derived from it are
// still being cancelled one by one. Its Done is nil, so nothing derived from it ends.
type endingCtx struct {
	context.Context
	ended atomic.Bool // set by a worker, read by Run's goroutine
}

func (c *endingCtx) Done() <-chan struct{} { return nil }
func (c *endingCtx) Err() error {
	if c.ended.Load() {
		return context.DeadlineExceeded
	}
	return nil
}

// stopOnRead is an input body that ends its replay's ctx, as a batch's Stop would, and then
// fails as a read cut off by it fails.
type stopOnRead struct{ ctx *endingCtx }

func (r stopOnRead) Read([]byte) (int, error) {
	r.ctx.ended.Store(true)
	return 0, fmt.Errorf("read: %w", context.DeadlineExceeded)
}
func (stopOnRead) Close() error { return nil }

// TestRunStoppedWhileDerivedLive holds Run to its own ctx when a read fails because the ctx
// ended: the input is left unread (not done, no problem told), even though the contexts Run
// derived from ctx have not been cancelled yet. Before, Run asked only those, and a GET cut off
// at a batch's Stop came back, now and then, as a problem of its object (TestReplayOnLambda's
// "short of time" in CI).
func TestRunStoppedWhileDerivedLive(t *testing.T) {
	for _, where := range []string{"open", "read"} {
		for _, jobs := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s/%d jobs", where, jobs), func(t *testing.T) {
				ctx := &endingCtx{Context: context.Background()}
				empty := func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(`{"Records":[]}`)), nil }
				cut := func() (io.ReadCloser, error) {
					if where == "open" {
						ctx.ended.Store(true)
						return nil, fmt.Errorf("get s3://archive/b: %w", context.DeadlineExceeded)
					}
					return stopOnRead{ctx}, nil
				}
				src := sourceFunc(func(yield func(Input) bool) {
					_ = yield(Input{Name: "a", Open: empty}) && yield(Input{Name: "b", Open: cut}) && yield(Input{Name: "c", Open: empty})
				})
				var problems []string
				var done []string
				_, err := Run(ctx, Options{Pipeline: dryRun(), Output: notify.NewJSONL(io.Discard), Sources: []Source{src}, Jobs: jobs,
					Problems:  func(err error) { problems = append(problems, err.Error()) },
					InputDone: func(rep InputReport) { done = append(done, rep.Name) }})
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("Run: %v, want the ctx's end", err)
				}
				// With two workers, a may still be on its way when b's worker ends ctx: then
				// it is left unread too.
				want := [][]string{{"a"}}
				if jobs > 1 {
					want = append(want, nil)
				}
				if len(problems) != 0 || !slices.ContainsFunc(want, func(w []string) bool { return slices.Equal(done, w) }) {
					t.Errorf("problems %q, inputs done %q; want none, and a alone or none: b was cut off, not unreadable", problems, done)
				}
			})
		}
	}
}

// TestCheckRowsRefuses holds CheckRows to whole, consistent rows.
func TestCheckRowsRefuses(t *testing.T) {
	const input = `{"input":{"name":"s3://b/k","records":3,"decoded":1,"input_bytes":10,"json_bytes":30,"findings":1}}`
	const finding = `{"finding":{"finding":{"Rule":"r"},"pos":{"Name":"s3://b/k","Line":1,"Index":0}}}`
	const end = `{"end":{"inputs":1,"unreadable":0,"records":3,"decoded":1,"input_bytes":10,"json_bytes":30,"findings":1,"problems":0,"failed":0}}`
	for _, tc := range []struct {
		name, rows, want string
	}{
		{"cut short", finding + "\n" + input + "\n", "no totals"},
		{"totals differ", finding + "\n" + input + "\n" + strings.Replace(end, `"records":3`, `"records":4`, 1) + "\n", "not the rows'"},
		{"a finding lost", input + "\n" + strings.Replace(end, `"findings":1`, `"findings":0`, 1) + "\n", "counts 1 findings, 0 rows"},
		{"another key", finding + "\n" + strings.Replace(input, "s3://b/k", "s3://b/x", 1) + "\n" + end + "\n", "not the batch's next key"},
		{"an unknown field", `{"input":{"name":"s3://b/k","extra":1}}` + "\n", "unknown field"},
		{"two fields", `{"problem":"p","end":{}}` + "\n", "holds 2"},
		{"rows after the end", finding + "\n" + input + "\n" + end + "\n" + end + "\n", "after the totals"},
		{"not JSON", "{\n", "line 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := CheckRows(strings.NewReader(tc.rows), []string{"s3://b/k"})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("CheckRows: %v, want an error with %q", err, tc.want)
			}
		})
	}
	if _, err := CheckRows(strings.NewReader(finding+"\n"+input+"\n"+end+"\n"), []string{"s3://b/k"}); err != nil {
		t.Errorf("whole rows refused: %v", err)
	}
}

// sourceFunc is a Source that yields the same inputs whatever the scope.
type sourceFunc iter.Seq[Input]

func (f sourceFunc) Inputs(context.Context, Scope, bool) iter.Seq2[Input, error] {
	return func(yield func(Input, error) bool) {
		for in := range f {
			if !yield(in, nil) {
				return
			}
		}
	}
}

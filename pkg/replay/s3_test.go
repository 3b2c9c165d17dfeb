package replay

import (
	"context"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/iam-watchdog/iam-watchdog/internal/corpus"
	"github.com/iam-watchdog/iam-watchdog/internal/mototest"
	"github.com/iam-watchdog/iam-watchdog/internal/textdiff"
)

// TestReplayS3 replays an archive from moto_server's S3 and from a local copy: the same findings
// in the same order, for the whole bucket, a prefix, and a scope, with listings that page.
func TestReplayS3(t *testing.T) {
	srv := mototest.Start(t)
	fx := mototest.NewFixture(srv.Config(t))
	// The client replay builds for an endpoint of its own: buckets addressed by path.
	client := NewS3Client(srv.Config(t))
	ctx := context.Background()
	const bucket = "org-trail-logs"
	if _, err := fx.S3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	cfg := corpus.Default(1.5e6)
	cfg.Days, cfg.Regions, cfg.Interval, cfg.AlertRate = 2, []string{"us-east-1", "eu-west-1"}, 2*time.Hour, 0.01
	dir := t.TempDir()
	if _, err := corpus.Generate(dir, cfg, 2, nil); err != nil {
		t.Fatal(err)
	}
	fx.Upload(t, bucket, "trails/", dir)
	// A digest (not events) and a stray object beside the logs: neither is read.
	for _, key := range []string{"trails/AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2024/05/01/digest.json.gz", "trails/AWSLogs/123456789012/CloudTrail/us-east-1/README.txt"} {
		if _, err := fx.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader("not events")}); err != nil {
			t.Fatal(err)
		}
	}
	old := s3PageSize
	s3PageSize = 5 // every folder of logs takes several pages
	t.Cleanup(func() { s3PageSize = old })
	fromS3 := func(url string) []Source {
		return []Source{S3Prefix{URL: url, Client: func(context.Context) (S3API, error) { return client, nil }}}
	}

	since, _ := time.Parse(time.RFC3339, "2024-05-02T12:00:00Z")
	for _, tc := range []struct {
		name, url, dir string
		sc             Scope
	}{
		{"bucket", "s3://" + bucket, dir, Scope{}},
		{"prefix", "s3://" + bucket + "/trails/AWSLogs/210987654321/", filepath.Join(dir, "AWSLogs", "210987654321"), Scope{}},
		{"scope", "s3://" + bucket + "/trails/", dir, Scope{Region: "eu-west-1", Since: since, Account: "123456789012"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := replayJSONL(t, []Source{Path(tc.dir)}, 2, tc.sc).out
			if want == "" {
				t.Fatal("no findings in the local copy: the case tests nothing")
			}
			r := replayJSONL(t, fromS3(tc.url), 3, tc.sc)
			// Rows name their source: the S3 key where the local run names the file.
			got := strings.ReplaceAll(r.out, "s3://"+bucket+"/trails/", dir+string(filepath.Separator))
			if got != want {
				t.Errorf("S3 and local replays differ:\n%s", textdiff.First(got, want))
			}
			if r.summary.Unreadable != 0 || len(r.problems) != 0 {
				t.Errorf("%d unreadable: %v", r.summary.Unreadable, r.problems)
			}
		})
	}

	t.Run("one object", func(t *testing.T) {
		keys, err := fx.S3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String("trails/AWSLogs/123456789012/CloudTrail/us-east-1/2024/05/01/")})
		if err != nil || len(keys.Contents) == 0 {
			t.Fatalf("list: %v", err)
		}
		key := aws.ToString(keys.Contents[0].Key)
		if r := replayJSONL(t, fromS3("s3://"+bucket+"/"+key), 3, Scope{}); r.summary.Inputs != 1 || r.summary.Err() != nil {
			t.Fatalf("replay of one object: %d inputs, %v", r.summary.Inputs, r.problems)
		}
	})

	t.Run("missing bucket", func(t *testing.T) {
		r := replayJSONL(t, fromS3("s3://no-such-bucket/x/"), 3, Scope{})
		problems := strings.Join(r.problems, "\n")
		if r.summary.Err() != ErrSomeInputs || r.summary.Unreadable != 1 || !strings.Contains(problems, "no-such-bucket") || !strings.Contains(problems, "NoSuchBucket") {
			t.Errorf("replay of a missing bucket: %d unreadable, %v; want one, naming the bucket and the error\n%s", r.summary.Unreadable, r.summary.Err(), problems)
		}
	})
}

// fakeS3 lists from a fixed set of keys as S3 would, recording each listing's prefix.
type fakeS3 struct {
	keys   []string
	listed []string
}

func (f *fakeS3) ListObjectsV2(_ context.Context, in *s3.ListObjectsV2Input, _ ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	prefix := aws.ToString(in.Prefix)
	f.listed = append(f.listed, prefix)
	out := &s3.ListObjectsV2Output{}
	seen := map[string]bool{}
	for _, k := range f.keys {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			if p := prefix + rest[:i+1]; !seen[p] {
				seen[p] = true
				out.CommonPrefixes = append(out.CommonPrefixes, types.CommonPrefix{Prefix: aws.String(p)})
			}
			continue
		}
		out.Contents = append(out.Contents, types.Object{Key: aws.String(k), Size: aws.Int64(1)})
	}
	return out, nil
}

func (f *fakeS3) GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	return &s3.GetObjectOutput{Body: io.NopCloser(strings.NewReader(""))}, nil
}

// TestS3WalkPrunes checks that folders out of scope are never listed and files out of scope
// never opened, and that what is listed comes in key order.
func TestS3WalkPrunes(t *testing.T) {
	base := "AWSLogs/111122223333/CloudTrail/"
	f := &fakeS3{keys: []string{
		base + "us-east-1/2024/04/30/111122223333_CloudTrail_us-east-1_20240430T2355Z_a.json.gz",
		base + "us-east-1/2024/05/01/111122223333_CloudTrail_us-east-1_20240501T0005Z_b.json.gz",
		base + "us-east-1/2024/05/01/111122223333_CloudTrail_us-east-1_20240501T2310Z_c.json.gz",
		base + "us-east-1/2024/05/02/111122223333_CloudTrail_us-east-1_20240502T0000Z_d.json.gz",
		base + "us-east-1/2024/05/03/111122223333_CloudTrail_us-east-1_20240503T0010Z_e.json.gz",
		base + "us-east-1/2024/06/01/111122223333_CloudTrail_us-east-1_20240601T0010Z_f.json.gz",
		base + "eu-west-1/2024/05/01/111122223333_CloudTrail_eu-west-1_20240501T1200Z_g.json.gz",
		"AWSLogs/444455556666/CloudTrail/us-east-1/2024/05/01/444455556666_CloudTrail_us-east-1_20240501T1200Z_h.json.gz",
		"AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/05/01/digest.json.gz",
	}}
	sc, err := ParseScope("2024-05-01T12:00:00Z", "2024-05-02T00:00:00Z", "111122223333", "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	src := S3Prefix{URL: "s3://b/", Client: func(context.Context) (S3API, error) { return f, nil }}
	for in, err := range src.Inputs(context.Background(), sc, false) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, in.Name[strings.LastIndexByte(in.Name, '_')+1:])
	}
	// b was delivered before the window opened; c, d and (a day late at most) e may hold events
	// of the window; f and the other account, region and digest folders cannot.
	if want := []string{"c.json.gz", "d.json.gz"}; !slices.Equal(got, want) {
		t.Errorf("read %v, want %v", got, want)
	}
	for _, p := range f.listed {
		if strings.Contains(p, "444455556666") || strings.Contains(p, "eu-west-1") || strings.Contains(p, "Digest") ||
			strings.Contains(p, "/06/") || strings.Contains(p, "/04/30/") {
			t.Errorf("listed %s, which is out of scope", p)
		}
	}
}

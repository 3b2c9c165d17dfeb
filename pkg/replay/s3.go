package replay

import (
	"context"
	"fmt"
	"io"
	"iter"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// S3API is what replay calls on S3.
type S3API interface {
	// ListObjectsV2 lists up to 1,000 keys after ContinuationToken; with a Delimiter, the keys
	// that go on past it are rolled up into CommonPrefixes.
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	// GetObject streams an object; the caller closes Body.
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

var _ S3API = (*s3.Client)(nil)

// NewS3Client builds the S3 client replay reads archives with. With an endpoint of its own
// (AWS_ENDPOINT_URL, for moto_server or MinIO), buckets are addressed by path: such servers do
// not serve bucket names as host names. It does not check response checksums: gzip's CRC-32
// checks each log file as it is read, and for every object stored without a checksum
// (CloudTrail's, before S3 added them by default) the SDK would log a line, one per file of an
// archive.
func NewS3Client(cfg aws.Config) *s3.Client {
	pathStyle := cfg.BaseEndpoint != nil || os.Getenv("AWS_ENDPOINT_URL_S3") != ""
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.UsePathStyle = pathStyle
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	})
}

// parseS3URL splits s3://bucket/prefix.
func parseS3URL(u string) (bucket, prefix string, err error) {
	rest, ok := strings.CutPrefix(u, "s3://")
	if !ok {
		return "", "", fmt.Errorf("%q is not an s3:// URL", u)
	}
	bucket, prefix, _ = strings.Cut(rest, "/")
	if bucket == "" {
		return "", "", fmt.Errorf("%q names no bucket", u)
	}
	return bucket, prefix, nil
}

// S3Prefix is the log files under s3://bucket/prefix, in key order, as a local walk gives them:
// listed by folder (Delimiter "/"), so that folders out of scope (another account, region or day:
// Scope.Prunes) and CloudTrail-Digest are never listed. An object named in full is read
// whatever its name; in a listing, only log files are.
type S3Prefix struct {
	URL    string
	Client func(ctx context.Context) (S3API, error)
}

// Inputs implements Source. S3 lists sizes anyway, so they are always given.
func (p S3Prefix) Inputs(ctx context.Context, sc Scope, _ bool) iter.Seq2[Input, error] {
	return func(yield func(Input, error) bool) {
		api, err := p.Client(ctx)
		if err != nil {
			yield(Input{Name: p.URL}, err)
			return
		}
		bucket, prefix, err := parseS3URL(p.URL)
		if err != nil {
			yield(Input{Name: p.URL}, err)
			return
		}
		s3Walk(ctx, api, bucket, prefix, prefix, sc, yield)
	}
}

// s3PageSize is the number of keys asked for per listing; 0 leaves it to S3 (1,000). Tests
// make it small to page.
var s3PageSize int32

func s3Walk(ctx context.Context, api S3API, bucket, top, prefix string, sc Scope, yield func(Input, error) bool) bool {
	pages := s3.NewListObjectsV2Paginator(api,
		&s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix), Delimiter: aws.String("/")},
		func(o *s3.ListObjectsV2PaginatorOptions) { o.Limit = s3PageSize })
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return yield(Input{Name: "s3://" + bucket + "/" + prefix}, fmt.Errorf("list s3://%s/%s: %w", bucket, prefix, err))
		}
		// Objects and folders come apart, each in key order: merge them, so that the order is
		// the keys' order, as a flat listing gives.
		objs, dirs := page.Contents, page.CommonPrefixes
		for len(objs) > 0 || len(dirs) > 0 {
			if len(dirs) == 0 || len(objs) > 0 && aws.ToString(objs[0].Key) < aws.ToString(dirs[0].Prefix) {
				key, size := aws.ToString(objs[0].Key), aws.ToInt64(objs[0].Size)
				objs = objs[1:]
				if key != top && (!eventFile(key) || sc.Prunes(key)) {
					continue
				}
				if !yield(s3Object(ctx, api, bucket, key, size), nil) {
					return false
				}
				continue
			}
			dir := aws.ToString(dirs[0].Prefix)
			dirs = dirs[1:]
			if base := dir[strings.LastIndexByte(strings.TrimSuffix(dir, "/"), '/')+1:]; base == "CloudTrail-Digest/" || sc.Prunes(dir) {
				continue
			}
			if !s3Walk(ctx, api, bucket, top, dir, sc, yield) {
				return false
			}
		}
	}
	return true
}

func s3Object(ctx context.Context, api S3API, bucket, key string, size int64) Input {
	return Input{Name: "s3://" + bucket + "/" + key, Size: size, Open: func() (io.ReadCloser, error) {
		out, err := api.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err != nil {
			return nil, fmt.Errorf("get s3://%s/%s: %w", bucket, key, err)
		}
		return out.Body, nil
	}}
}

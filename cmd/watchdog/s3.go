package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// s3API is what replay calls on S3.
type s3API interface {
	// ListObjectsV2 lists up to 1,000 keys after ContinuationToken; with a Delimiter, the keys
	// that go on past it are rolled up into CommonPrefixes.
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	// GetObject streams an object; the caller closes Body.
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

var _ s3API = (*s3.Client)(nil)

// newS3 builds the S3 client from the standard configuration. With an endpoint of its own
// (AWS_ENDPOINT_URL, for moto_server or MinIO), buckets are addressed by path: such servers
// do not serve bucket names as host names.
func newS3(ctx context.Context) (s3API, error) {
	cfg, err := awsConfig(ctx)
	if err != nil {
		return nil, err
	}
	pathStyle := cfg.BaseEndpoint != nil || os.Getenv("AWS_ENDPOINT_URL_S3") != ""
	return s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = pathStyle }), nil
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

// s3Inputs yields the log files under s3://bucket/prefix in key order, as a local walk does: a
// listing by folder (Delimiter "/"), so that folders out of scope — another account, region or
// day (scope.prunes) — and CloudTrail-Digest are never listed.
func s3Inputs(ctx context.Context, api s3API, url string, sc scope, yield func(input, error) bool) bool {
	bucket, prefix, err := parseS3URL(url)
	if err != nil {
		return yield(input{name: url}, err)
	}
	return s3Walk(ctx, api, bucket, prefix, prefix, sc, yield)
}

// s3PageSize is the number of keys asked for per listing; nil leaves it to S3 (1,000). Tests
// make it small to page.
var s3PageSize *int32

func s3Walk(ctx context.Context, api s3API, bucket, top, prefix string, sc scope, yield func(input, error) bool) bool {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix), Delimiter: aws.String("/"), MaxKeys: s3PageSize}
	for {
		page, err := api.ListObjectsV2(ctx, in)
		if err != nil {
			return yield(input{name: "s3://" + bucket + "/" + prefix}, fmt.Errorf("list s3://%s/%s: %w", bucket, prefix, err))
		}
		// Objects and folders come apart, each in key order: merge them, so that the order is
		// the keys' order, as a flat listing gives.
		objs, dirs := page.Contents, page.CommonPrefixes
		for len(objs) > 0 || len(dirs) > 0 {
			if len(dirs) == 0 || len(objs) > 0 && aws.ToString(objs[0].Key) < aws.ToString(dirs[0].Prefix) {
				key, size := aws.ToString(objs[0].Key), aws.ToInt64(objs[0].Size)
				objs = objs[1:]
				// An object named in full is read whatever its name; in a listing, only log files.
				if key != top && (!eventFile(key) || sc.prunes(key)) {
					continue
				}
				if !yield(s3Object(ctx, api, bucket, key, size), nil) {
					return false
				}
				continue
			}
			dir := aws.ToString(dirs[0].Prefix)
			dirs = dirs[1:]
			if base := dir[strings.LastIndexByte(strings.TrimSuffix(dir, "/"), '/')+1:]; base == "CloudTrail-Digest/" || sc.prunes(dir) {
				continue
			}
			if !s3Walk(ctx, api, bucket, top, dir, sc, yield) {
				return false
			}
		}
		if !aws.ToBool(page.IsTruncated) || page.NextContinuationToken == nil {
			return true
		}
		in.ContinuationToken = page.NextContinuationToken
	}
}

func s3Object(ctx context.Context, api s3API, bucket, key string, size int64) input {
	return input{name: "s3://" + bucket + "/" + key, size: size, open: func() (io.ReadCloser, error) {
		out, err := api.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err != nil {
			return nil, fmt.Errorf("get s3://%s/%s: %w", bucket, key, err)
		}
		return out.Body, nil
	}}
}

package replayhandler

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Env is the replay function's environment. The names are a contract with infra/replay.yaml
// and docs/replay.md. The function reads only objects under ARCHIVE_BUCKET/ARCHIVE_PREFIX and
// writes only under RESULTS_BUCKET/RESULTS_PREFIX, whatever a request asks: its role allows no
// more, and the handler refuses a request that asks for more, saying why.
type Env struct {
	ArchiveBucket string // ARCHIVE_BUCKET: the bucket of the CloudTrail archive
	ArchivePrefix string // ARCHIVE_PREFIX: the part of it batches may read ("" for all of it)
	ResultsBucket string // RESULTS_BUCKET: where batches write their rows
	ResultsPrefix string // RESULTS_PREFIX: the part of it they may write ("" for all of it)
}

// EnvFrom reads the environment through getenv and checks it.
func EnvFrom(getenv func(string) string) (Env, error) {
	e := Env{
		ArchiveBucket: getenv("ARCHIVE_BUCKET"),
		ArchivePrefix: getenv("ARCHIVE_PREFIX"),
		ResultsBucket: getenv("RESULTS_BUCKET"),
		ResultsPrefix: getenv("RESULTS_PREFIX"),
	}
	var errs []error
	for _, v := range []struct{ name, value string }{{"ARCHIVE_BUCKET", e.ArchiveBucket}, {"RESULTS_BUCKET", e.ResultsBucket}} {
		if !bucketName.MatchString(v.value) {
			errs = append(errs, fmt.Errorf("%s %q is not an S3 bucket name", v.name, v.value))
		}
	}
	for _, v := range []struct{ name, value string }{{"ARCHIVE_PREFIX", e.ArchivePrefix}, {"RESULTS_PREFIX", e.ResultsPrefix}} {
		if err := checkKey(v.value, true); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", v.name, err))
		}
	}
	return e, errors.Join(errs...)
}

// bucketName is S3's rule for general purpose bucket names, less the finer points (no "..",
// not an IP address), which S3 itself enforces.
// Reference: https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
var bucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

// maxKey is S3's limit on a key, in bytes of UTF-8.
const maxKey = 1024

// checkKey refuses keys an honest request never holds: empty (unless a prefix), too long, not
// UTF-8, with control characters, or with "." or ".." segments or "//", which some clients
// and tools read as paths, so that a key could mean one object to the policy and another to a
// person.
func checkKey(k string, prefix bool) error {
	switch {
	case k == "" && prefix:
		return nil
	case k == "":
		return errors.New("empty key")
	case len(k) > maxKey:
		return fmt.Errorf("key of %d bytes; S3 allows %d", len(k), maxKey)
	case !utf8.ValidString(k) || strings.ContainsFunc(k, unicode.IsControl):
		return fmt.Errorf("key %q holds control characters or invalid UTF-8", k)
	case strings.Contains(k, "//"):
		return fmt.Errorf("key %q holds an empty segment", k)
	}
	for _, seg := range strings.Split(k, "/") {
		if seg == "." || seg == ".." {
			return fmt.Errorf("key %q holds a %q segment", k, seg)
		}
	}
	return nil
}

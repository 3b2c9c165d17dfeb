// Package replayhandler is the replay function's Lambda handler (functions/replay): each
// invocation replays one batch of a CloudTrail archive's S3 objects, sent by `watchdog replay
// --lambda` (pkg/fanout), through the same pipeline as a local replay (pkg/replay), never
// acting, and writes what it found as JSON Lines under the results prefix.
package replayhandler

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/remediate"
	"github.com/iam-watchdog/iam-watchdog/pkg/replay"
	"github.com/iam-watchdog/iam-watchdog/pkg/watchdog"
)

// S3API is what the handler calls on S3: it reads the archive's objects and writes its rows.
type S3API interface {
	replay.S3Getter
	// PutObject writes one object whole.
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
}

var _ S3API = (*s3.Client)(nil)

// Log keys.
const (
	keyBatch = "batch"
	keyError = "error"
)

// Handler replays one batch per invocation.
type Handler struct {
	Env Env
	S3  S3API
	Log *slog.Logger
	// Jobs objects are read at once, and Prefetch GETs started ahead of them.
	Jobs, Prefetch int
	Now            func() time.Time
}

// Objects per core whose GETs are started ahead of the reading. A core reads about a thousand
// CloudTrail files a second (tens of kilobytes each) and S3 takes some tens of milliseconds to
// a first byte, so some 50 must be on their way per core for the cores never to wait.
const prefetchPerCore = 64

// New builds the handler once per cold start: objects read at once as there are cores, and an
// S3 client whose connection pool keeps every prefetch connection for reuse (the SDK's keeps
// ten idle per host, and each new one costs a TLS handshake); replay.NewS3Client leaves S3's
// checksums to gzip's CRC-32, as every replay does.
func New(env Env, awsCfg aws.Config, log *slog.Logger) *Handler {
	jobs := max(2, runtime.GOMAXPROCS(0))
	prefetch := prefetchPerCore * jobs
	awsCfg.HTTPClient = awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConnsPerHost = prefetch + jobs
	})
	return &Handler{Env: env, S3: replay.NewS3Client(awsCfg), Log: log, Jobs: jobs, Prefetch: prefetch}
}

// stopMargin is how long before Lambda's deadline a batch stops reading, so that it can write
// its rows and answer which keys remain: a tenth of its time, from a second to half a minute.
func stopMargin(budget time.Duration) time.Duration {
	return min(max(budget/10, time.Second), 30*time.Second)
}

// Invoke replays one batch. A request that is not the CLI's, or asks for objects or results
// outside the environment's bucket and prefixes, is refused in the answer (Refused), which
// sending it again cannot change. It returns an error only when a retry can help: the rows
// could not be written.
func (h *Handler) Invoke(ctx context.Context, payload json.RawMessage) (*replay.BatchResponse, error) {
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	began := now()
	log := h.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b, err := h.Env.decode(payload)
	if err != nil {
		log.WarnContext(ctx, "batch refused", keyBatch, b.Batch, keyError, err.Error())
		return &replay.BatchResponse{Version: replay.BatchVersion, Batch: b.Batch, Refused: err.Error()}, nil
	}
	cfg := b.Config
	p := &watchdog.Pipeline{Detector: detect.DefaultWith(cfg.Detection()), Config: cfg,
		Remediator: &remediate.Remediator{QuarantinePolicyARN: cfg.QuarantinePolicyARN}, Owner: "replay-function"}
	var stop time.Time
	if deadline, ok := ctx.Deadline(); ok {
		stop = deadline.Add(-stopMargin(deadline.Sub(began)))
	}
	var rows bytes.Buffer
	resp, err := replay.RunBatch(ctx, replay.BatchOptions{Pipeline: p, S3: h.S3, Bucket: b.Bucket, Keys: b.Keys, Scope: b.scope,
		Jobs: h.Jobs, Prefetch: h.Prefetch, Stop: stop, Rows: &rows})
	if err != nil {
		return nil, fmt.Errorf("batch %s: %w", b.Batch, err)
	}
	_, err = h.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(h.Env.ResultsBucket), Key: aws.String(b.resultsKey),
		Body: bytes.NewReader(rows.Bytes()), ContentType: aws.String("application/x-ndjson")})
	if err != nil {
		return nil, fmt.Errorf("batch %s: write results to %s: %w", b.Batch, b.Results, err)
	}
	resp.Batch, resp.Results = b.Batch, b.Results
	resp.DurationMS = now().Sub(began).Milliseconds()
	log.InfoContext(ctx, "batch done", keyBatch, b.Batch, "keys", len(b.Keys), "done", resp.Done, "remaining", len(resp.Remaining),
		"findings", resp.Totals.Findings, "problems", resp.Totals.Problems, "input_bytes", resp.Totals.Input, "duration_ms", resp.DurationMS)
	return &resp, nil
}

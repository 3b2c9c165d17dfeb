package replayhandler

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/policy"
	"github.com/iam-watchdog/iam-watchdog/pkg/replay"
)

// batch is a request that passed every check.
type batch struct {
	replay.BatchRequest
	scope replay.Scope
	// resultsKey is the key of Results in the results bucket.
	resultsKey string
}

// batchID is what a batch may be called: the CLI names them b000001, b000001.2, …
var batchID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// decode reads a request and checks it against the environment: only the CLI's batch request
// (no other field, the current version), objects of the archive bucket under its prefix, rows
// written under the results prefix, a valid scope and configuration. A request that fails is
// refused with the reason; nothing is read for it.
func (e Env) decode(payload []byte) (batch, error) {
	var b batch
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b.BatchRequest); err != nil {
		return b, fmt.Errorf("not a batch request: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return b, errors.New("not a batch request: more than one JSON value")
	}
	r := &b.BatchRequest
	switch {
	case r.Version != replay.BatchVersion:
		return b, fmt.Errorf("request version %d; this function reads version %d (deploy the function built with this CLI)", r.Version, replay.BatchVersion)
	case !batchID.MatchString(r.Batch):
		return b, fmt.Errorf("batch name %q: want 1 to 64 letters, digits, '.', '_' or '-'", r.Batch)
	case r.Bucket != e.ArchiveBucket:
		return b, fmt.Errorf("bucket %q: this function reads only s3://%s/%s", r.Bucket, e.ArchiveBucket, e.ArchivePrefix)
	case len(r.Keys) == 0 || len(r.Keys) > replay.MaxBatchKeys:
		return b, fmt.Errorf("%d keys: want 1 to %d", len(r.Keys), replay.MaxBatchKeys)
	}
	for i, k := range r.Keys {
		if err := checkKey(k, false); err != nil {
			return b, fmt.Errorf("keys[%d]: %w", i, err)
		}
		if !strings.HasPrefix(k, e.ArchivePrefix) {
			return b, fmt.Errorf("keys[%d] %q: this function reads only s3://%s/%s", i, k, e.ArchiveBucket, e.ArchivePrefix)
		}
	}
	bucket, key, ok := strings.Cut(strings.TrimPrefix(r.Results, "s3://"), "/")
	switch {
	case !strings.HasPrefix(r.Results, "s3://") || !ok:
		return b, fmt.Errorf("results %q is not s3://bucket/key", r.Results)
	case bucket != e.ResultsBucket || !strings.HasPrefix(key, e.ResultsPrefix):
		return b, fmt.Errorf("results %q: this function writes only under s3://%s/%s", r.Results, e.ResultsBucket, e.ResultsPrefix)
	case !strings.HasSuffix(key, ".jsonl"):
		return b, fmt.Errorf("results %q: want a .jsonl key", r.Results)
	}
	if err := checkKey(key, false); err != nil {
		return b, fmt.Errorf("results: %w", err)
	}
	b.resultsKey = key
	var err error
	if b.scope, err = r.Scope.Scope(); err != nil {
		return b, err
	}
	r.Config = ceiling(r.Config)
	if err := r.Config.Validate(detect.Rules()); err != nil {
		return b, fmt.Errorf("config: %w", err)
	}
	return b, nil
}

// ceiling lowers every mode of cfg to dry-run at most, whatever the request says: a backtest
// never changes the account. The function has no AWS clients to act with and its role no IAM
// permission at all; this is what makes its findings say so ("planned", not "failed").
func ceiling(cfg policy.Config) policy.Config { return cfg.CapAt(policy.DryRun) }

// Package auditstore keeps what an audit leaves behind in the state table: each account's
// snapshots of its users' policies (the last known good that remediation reverts to,
// pkg/remediate's PriorStates) and the last scheduled audit's results (what the next digest
// compares with). Each is an item of its own with a TTL, written and read through one seal and
// one open function, since a snapshot decides what remediation does.
package auditstore

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
)

// envelope is a sealed value as the state table holds it: what it is, and the value as gzipped
// JSON in Base64. The kind is checked on open, so that a value is never read as another kind.
type envelope struct {
	Kind     string `json:"kind"`
	Encoding string `json:"encoding"`
	Data     string `json:"data"`
}

// encodingGzipJSON is the one encoding: results and snapshots are repetitive JSON (ARNs, check
// IDs), which gzip shrinks several times over, and a DynamoDB item holds at most 400 KB.
const encodingGzipJSON = "gzip+json"

// maxSealed bounds a sealed value, below DynamoDB's 400 KB item limit with room for the item's
// other attributes and the JSON around it.
const maxSealed = 300 << 10

// maxOpened bounds what open decompresses, so that a crafted item cannot make it inflate
// gigabytes.
const maxOpened = 64 << 20

// seal is the one place the audit's state is written into a state-table item, and open the one
// place it is read back; open refuses a value of another kind. Today the state table's resource
// policy alone keeps others from writing these items (only the functions may). Once pkg/alert's
// Codec authenticates records with the stack's KMS HMAC key (STATE_KEY_ARN: kms:GenerateMac over
// a record's key and pieces), seal must add that MAC over the item's key, the kind and the data,
// and open must refuse an envelope whose MAC does not verify, as alert records are refused: a
// forged snapshot would otherwise choose what remediation keeps and puts back.
func seal(_ context.Context, key, kind string, v any) (envelope, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return envelope{}, fmt.Errorf("%s %s: %w", kind, key, err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(raw); err != nil {
		return envelope{}, fmt.Errorf("%s %s: compress: %w", kind, key, err)
	}
	if err := zw.Close(); err != nil {
		return envelope{}, fmt.Errorf("%s %s: compress: %w", kind, key, err)
	}
	data := base64.StdEncoding.EncodeToString(buf.Bytes())
	if len(data) > maxSealed {
		return envelope{}, fmt.Errorf("%s %s: %d bytes compressed (from %d of JSON), more than a state-table item may hold (%d)", kind, key, len(data), len(raw), maxSealed)
	}
	return envelope{Kind: kind, Encoding: encodingGzipJSON, Data: data}, nil
}

// open reads back what seal wrote for key and kind into v.
func open(_ context.Context, key, kind string, e envelope, v any) error {
	if e.Kind != kind {
		return fmt.Errorf("%s %s: the item holds %q, not %s", kind, key, e.Kind, kind)
	}
	if e.Encoding != encodingGzipJSON {
		return fmt.Errorf("%s %s: unknown encoding %q", kind, key, e.Encoding)
	}
	compressed, err := base64.StdEncoding.DecodeString(e.Data)
	if err != nil {
		return fmt.Errorf("%s %s: data is not Base64: %w", kind, key, err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(compressed))
	if err != nil {
		return fmt.Errorf("%s %s: data is not gzip: %w", kind, key, err)
	}
	raw, err := io.ReadAll(io.LimitReader(zr, maxOpened+1))
	if err != nil {
		return fmt.Errorf("%s %s: decompress: %w", kind, key, err)
	}
	if len(raw) > maxOpened {
		return fmt.Errorf("%s %s: more than %d bytes decompressed", kind, key, maxOpened)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%s %s: %w", kind, key, err)
	}
	return nil
}

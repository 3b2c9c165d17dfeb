// Package auditstore keeps what an audit leaves behind in the state table: each account's
// snapshots of its users' policies (the last known good that remediation reverts to,
// pkg/remediate's PriorStates) and the last scheduled audit's results (what the next digest
// compares with). Each is an item of its own with a TTL, written and read through one seal and
// one open function, which authenticate it with the state key as alert records are, since a
// snapshot decides what remediation does.
package auditstore

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"

	"github.com/iam-watchdog/iam-watchdog/pkg/alert"
)

// envelope is a sealed value as the state table holds it: what it is, the value as gzipped JSON
// in Base64, and the MAC of the item's key, the kind and the data (alert.Codec.SignValue).
type envelope struct {
	Kind     string `json:"kind"`
	Encoding string `json:"encoding"`
	Data     string `json:"data"`
	MAC      string `json:"mac,omitempty"`
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
// place it is read back. With the state key (the Codec of the alert records, STATE_KEY_ARN), seal
// adds the MAC of the item's key, the kind and the data, and open refuses a value whose MAC is
// missing or does not verify (alert.UnauthenticatedError), as alert records are refused: a
// forged snapshot would otherwise choose what remediation keeps and puts back. The plain Codec,
// for the CLI's own state file only, seals and opens without a MAC.
func seal(ctx context.Context, codec alert.Codec, key, kind string, v any) (envelope, error) {
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
	e := envelope{Kind: kind, Encoding: encodingGzipJSON, Data: data}
	if e.MAC, err = codec.SignValue(ctx, key, macKind(e), []byte(e.Data)); err != nil {
		return envelope{}, err
	}
	return e, nil
}

// macKind is what the MAC binds beside the key and the data: the kind and its encoding.
func macKind(e envelope) string { return e.Kind + "/" + e.Encoding }

// open reads back what seal wrote for key and kind into v.
func open(ctx context.Context, codec alert.Codec, key, kind string, e envelope, v any) error {
	if e.Kind != kind {
		return fmt.Errorf("%s %s: the item holds %q, not %s", kind, key, e.Kind, kind)
	}
	if err := codec.CheckValue(ctx, key, macKind(e), []byte(e.Data), e.MAC); err != nil {
		return err
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

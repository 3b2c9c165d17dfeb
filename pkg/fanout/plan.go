package fanout

import (
	"context"
	"fmt"
	"strings"

	"github.com/iam-watchdog/iam-watchdog/pkg/replay"
)

// A batch is a run of consecutive keys of one bucket, in listing order, or a source that could
// not be listed. Batches are merged in the order they were planned; a batch split or cut
// short is replaced, in its place, by the batches that carry its keys on.
type batch struct {
	id     string
	bucket string
	keys   []string
	sizes  []int64 // as stored, from the listing
	// listed is what could not be listed, with why; such a batch has no keys.
	listed    string
	listErr   error
	attempts  int
	state     state
	lastErr   error
	resp      *replay.BatchResponse
	rows      string // the file its rows were fetched into
	lambdaMS  int64  // Lambda time spent on it, over its attempts
	children  int    // batches made from it so far, for their names
	next      *batch // in merge order
	plannedAt int    // its top-level batch's place, for the window
}

type state int

const (
	waiting  state = iota // to be invoked
	running               // invoked, no answer yet
	done                  // its rows are fetched and checked
	failed                // given up on; its keys are reported unread
	replaced              // its keys went to the batches after it
)

// names are the batch's keys as replay names them.
func (b *batch) names() []string {
	out := make([]string, len(b.keys))
	for i, k := range b.keys {
		out[i] = replay.ObjectName(b.bucket, k)
	}
	return out
}

func (b *batch) bytes() int64 {
	var n int64
	for _, s := range b.sizes {
		n += s
	}
	return n
}

// child makes a batch of keys[from:to], named after b.
func (b *batch) child(from, to int) *batch {
	b.children++
	return &batch{id: fmt.Sprintf("%s.%d", b.id, b.children), bucket: b.bucket, keys: b.keys[from:to], sizes: b.sizes[from:to], plannedAt: b.plannedAt}
}

// maxKeyBytes bounds the bytes of key names in one batch, so that a request stays well under
// Lambda's 6 MB for synchronous invocations.
// Reference: https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
const maxKeyBytes = 4 << 20

// plan lists the sources in order, with the replay's own S3 listing (its key-path pruning
// included), and sends batches of consecutive keys of about batchBytes as stored, closing out
// when the listing ends. It stops when ctx ends.
func plan(ctx context.Context, sources []replay.Source, sc replay.Scope, batchBytes int64, out chan<- *batch) {
	defer close(out)
	n := 0
	var cur *batch
	var keyBytes int
	var curBytes int64
	send := func(b *batch) bool {
		n++
		b.id, b.plannedAt = fmt.Sprintf("b%06d", n), n
		select {
		case out <- b:
			return true
		case <-ctx.Done():
			return false
		}
	}
	flush := func() bool {
		if cur == nil {
			return true
		}
		b := cur
		cur, keyBytes, curBytes = nil, 0, 0
		return send(b)
	}
	for _, src := range sources {
		for in, err := range src.Inputs(ctx, sc, true) {
			if err != nil {
				if !flush() || !send(&batch{listed: in.Name, listErr: err}) {
					return
				}
				continue
			}
			bucket, key := splitName(in.Name)
			if cur != nil && cur.bucket != bucket && !flush() {
				return
			}
			if cur == nil {
				cur = &batch{bucket: bucket}
			}
			cur.keys = append(cur.keys, key)
			cur.sizes = append(cur.sizes, in.Size)
			keyBytes += len(key)
			curBytes += in.Size
			if curBytes >= batchBytes || len(cur.keys) >= replay.MaxBatchKeys || keyBytes >= maxKeyBytes {
				if !flush() {
					return
				}
			}
		}
	}
	flush()
}

// splitName splits an object's name (replay.ObjectName) into its bucket and key.
func splitName(name string) (bucket, key string) {
	bucket, key, _ = strings.Cut(strings.TrimPrefix(name, "s3://"), "/")
	return bucket, key
}

package replay

import (
	"context"
	"fmt"
	"io"
	"iter"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// S3Getter is what a batch calls on S3.
type S3Getter interface {
	// GetObject streams an object; the caller closes Body.
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

var _ S3Getter = (*s3.Client)(nil)

// prefetched is a batch's objects as a Source: the keys in the order given, each object's GET
// started ahead of its reading. CloudTrail writes files of tens of kilobytes, which a worker
// reads in about a millisecond, while S3 takes tens of milliseconds to the first byte: a worker
// that opened its object only when it got to it would spend most of its time waiting. So
// opening key i starts the GETs of the next depth keys, whose answers wait, opened, in their
// connections' buffers.
type prefetched struct {
	ctx    context.Context
	cancel context.CancelFunc
	api    S3Getter
	bucket string
	keys   []string
	depth  int

	mu      sync.Mutex
	gets    []chan get // one per key started, each holding its answer until opened
	opened  []bool
	stopped bool
}

type get struct {
	body io.ReadCloser
	err  error
}

func newPrefetched(ctx context.Context, api S3Getter, bucket string, keys []string, depth int) *prefetched {
	ctx, cancel := context.WithCancel(ctx)
	return &prefetched{ctx: ctx, cancel: cancel, api: api, bucket: bucket, keys: keys, depth: max(0, depth),
		opened: make([]bool, len(keys))}
}

// Inputs implements Source: the keys in order. The scope is not used: the keys were chosen.
func (p *prefetched) Inputs(context.Context, Scope, bool) iter.Seq2[Input, error] {
	return func(yield func(Input, error) bool) {
		for i, key := range p.keys {
			in := Input{Name: ObjectName(p.bucket, key), Open: func() (io.ReadCloser, error) { return p.open(i) }}
			if !yield(in, nil) {
				return
			}
		}
	}
}

// open waits for key i's GET, started now if it was not yet, and starts the next ones'.
func (p *prefetched) open(i int) (io.ReadCloser, error) {
	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
		return nil, fmt.Errorf("get %s: %w", ObjectName(p.bucket, p.keys[i]), context.Canceled)
	}
	for len(p.gets) < min(i+1+p.depth, len(p.keys)) {
		p.start(len(p.gets))
	}
	ch := p.gets[i]
	p.opened[i] = true
	p.mu.Unlock()
	g := <-ch
	return g.body, g.err
}

// start sends key i's GET; p.mu is held.
func (p *prefetched) start(i int) {
	ch := make(chan get, 1)
	p.gets = append(p.gets, ch)
	key := p.keys[i]
	go func() {
		out, err := p.api.GetObject(p.ctx, &s3.GetObjectInput{Bucket: aws.String(p.bucket), Key: aws.String(key)})
		if err != nil {
			ch <- get{err: fmt.Errorf("get %s: %w", ObjectName(p.bucket, key), err)}
			return
		}
		ch <- get{body: out.Body}
	}()
}

// close cancels the GETs in flight and closes the answers nobody opened.
func (p *prefetched) close() {
	p.cancel()
	p.mu.Lock()
	p.stopped = true
	var unopened []chan get
	for i, ch := range p.gets {
		if !p.opened[i] {
			unopened = append(unopened, ch)
		}
	}
	p.mu.Unlock()
	for _, ch := range unopened {
		if g := <-ch; g.body != nil {
			g.body.Close()
		}
	}
}

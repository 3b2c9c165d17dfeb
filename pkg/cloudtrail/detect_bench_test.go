package cloudtrail_test

import (
	"bytes"
	"testing"

	"github.com/iam-watchdog/iam-watchdog/internal/corpus"
	"github.com/iam-watchdog/iam-watchdog/pkg/cloudtrail"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
)

// BenchmarkParseDetect is parse and detect per record, with allocations, on a log file of the
// benchmark corpus: the fast path replay takes (a Scanner pre-filtered by the detector's Wants,
// Detect on what it yields) and the reference path (every record decoded, Detect on all).
func BenchmarkParseDetect(b *testing.B) {
	plain, err := corpus.Sample(corpus.Default(1), 2000)
	if err != nil {
		b.Fatal(err)
	}
	d := detect.Default()
	n := 0
	for _, err := range cloudtrail.Records("bench.json", bytes.NewReader(plain)) {
		if err != nil {
			b.Fatal(err)
		}
		n++
	}
	s := &cloudtrail.Scanner{Want: d.Wants} // one per worker, reused from file to file
	for _, bb := range []struct {
		name string
		seq  func() func(func(*cloudtrail.Record, error) bool)
	}{
		{"fast", func() func(func(*cloudtrail.Record, error) bool) {
			return func(yield func(*cloudtrail.Record, error) bool) {
				s.Records("bench.json", bytes.NewReader(plain))(yield)
			}
		}},
		{"reference", func() func(func(*cloudtrail.Record, error) bool) {
			return cloudtrail.Records("bench.json", bytes.NewReader(plain))
		}},
	} {
		b.Run(bb.name, func(b *testing.B) {
			b.SetBytes(int64(len(plain)))
			b.ReportAllocs()
			found := 0
			for b.Loop() {
				for rec, err := range bb.seq() {
					if err != nil {
						b.Fatal(err)
					}
					found += len(d.Detect(rec))
				}
			}
			if found == 0 {
				b.Fatal("no findings")
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/record")
			b.ReportMetric(float64(testing.AllocsPerRun(1, func() {
				for rec := range bb.seq() {
					d.Detect(rec)
				}
			}))/float64(n), "allocs/record")
		})
	}
}

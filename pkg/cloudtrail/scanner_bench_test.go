package cloudtrail

import (
	"bytes"
	"testing"

	"github.com/iam-watchdog/iam-watchdog/internal/corpus"
)

// BenchmarkScannerLogFile reads a log file of the benchmark corpus (internal/corpus: realistic
// records of 1–2 KB) through a Scanner that wants one record in a thousand, as a replay's
// pre-filter does, and through Records for comparison: MB/s of JSON, the cost per record, and
// allocations.
func BenchmarkScannerLogFile(b *testing.B) {
	plain, err := corpus.Sample(corpus.Default(1), 2000)
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for _, err := range Records("bench.json", bytes.NewReader(plain)) {
		if err != nil {
			b.Fatal(err)
		}
		n++
	}
	for _, bb := range []struct {
		name  string
		input []byte
		scan  bool
	}{
		{"scanner", plain, true},
		{"scanner-gzip", gzipped(b, plain), true},
		{"records", plain, false},
	} {
		b.Run(bb.name, func(b *testing.B) {
			s := &Scanner{Want: func(r *Record) bool { return r.Pos.Index == 500 }}
			b.SetBytes(int64(len(plain)))
			b.ReportAllocs()
			for b.Loop() {
				seq := Records("bench.json", bytes.NewReader(bb.input))
				if bb.scan {
					seq = s.Records("bench.json", bytes.NewReader(bb.input))
				}
				for _, err := range seq {
					if err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/record")
		})
	}
}

// BenchmarkSkim measures the skimmer alone on a log file held in memory: validating every byte
// (skim) and reading every record's head as well (heads).
func BenchmarkSkim(b *testing.B) {
	plain, err := corpus.Sample(corpus.Default(1), 2000)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("skim", func(b *testing.B) {
		b.SetBytes(int64(len(plain)))
		for b.Loop() {
			tx := newJSONText(plain)
			if end, _ := tx.skim(0); end != len(plain) {
				b.Fatal("not valid")
			}
		}
	})
	b.Run("heads", func(b *testing.B) {
		b.SetBytes(int64(len(plain)))
		h := &headReader{}
		for b.Loop() {
			h.jsonText = newJSONText(plain)
			for i := len(`{"Records":[`); plain[i-1] != ']'; i++ {
				end, vouched := h.read(i)
				if end < 0 || !vouched {
					b.Fatal("not a record")
				}
				i = end
			}
		}
	})
}

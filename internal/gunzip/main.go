// Command gunzip is the benchmark's baseline: it decompresses every .gz file under the given
// paths with the gzip library and buffer sizes the replay uses (klauspost/compress), to
// /dev/null, with -jobs files at once, and prints what it read. Replay cannot be faster than
// this on the same machine; `make bench` divides the one by the other.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/gzip"
)

func main() {
	jobs := flag.Int("jobs", runtime.NumCPU(), "files decompressed at once")
	flag.Parse()
	var files []string
	for _, root := range flag.Args() {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() && strings.HasSuffix(path, ".gz") {
				files = append(files, path)
			}
			return err
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "gunzip:", err)
			os.Exit(1)
		}
	}
	devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gunzip:", err)
		os.Exit(1)
	}
	var next, in, out atomic.Int64
	var failed atomic.Bool
	began := time.Now()
	var wg sync.WaitGroup
	for range *jobs {
		wg.Go(func() {
			br := bufio.NewReaderSize(nil, 64<<10) // as replay reads its input
			var zr *gzip.Reader
			for {
				i := int(next.Add(1) - 1)
				if i >= len(files) {
					return
				}
				f, err := os.Open(files[i])
				if err == nil {
					br.Reset(f)
					if zr == nil {
						zr, err = gzip.NewReader(br)
					} else {
						err = zr.Reset(br)
					}
				}
				if err == nil {
					var n int64
					n, err = io.Copy(devNull, zr)
					out.Add(n)
					st, _ := f.Stat()
					in.Add(st.Size())
				}
				if f != nil {
					f.Close()
				}
				if err != nil {
					fmt.Fprintf(os.Stderr, "gunzip: %s: %v\n", files[i], err)
					failed.Store(true)
				}
			}
		})
	}
	wg.Wait()
	secs := time.Since(began).Seconds()
	fmt.Printf("files=%d compressed=%d bytes=%d seconds=%.3f mbps=%.1f\n", len(files), in.Load(), out.Load(), secs, float64(out.Load())/1e6/secs)
	if failed.Load() {
		os.Exit(1)
	}
}

// Command replaybench measures the replay function (functions/replay) as docs/replay.md's
// sizing section reports it: the real bootstrap under aws-lambda-rie, restricted to -cores
// cores (taskset, and GOMAXPROCS), replays a generated archive served as S3 by this process
// from local files, one batch per invocation, and, interleaved in the same run on the same
// cores, the same files go through decompression alone (internal/gunzip), the baseline every
// ratio is taken against: on a shared machine only a ratio measured side by side means much.
// Each pass is measured twice: wall time (the function's own duration) and CPU time (user and
// system time of the bootstrap process, from /proc; of decompression, from its rusage). On a
// machine other work shares, CPU time is the steadier of the two, and it is what a function
// whose work is all CPU is billed for: at one vCPU, its duration.
//
//	replaybench -corpus DIR -bootstrap PATH -gunzip PATH -rie PATH [-watchdog PATH] [-cores 1|2] [-runs 5] [-batch 256MiB]
//
// With -cores 1 the function and the baseline run on CPU 0; run this program on CPU 1
// (taskset -c 1 replaybench …) so that serving the files does not take the function's core.
// With -once it makes one invocation and exits: a whole-process figure to check the
// in-process timings against with any external timer.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/iam-watchdog/iam-watchdog/pkg/policy"
	"github.com/iam-watchdog/iam-watchdog/pkg/replay"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "replaybench:", err)
		os.Exit(1)
	}
}

type options struct {
	corpus, bootstrap, gunzip, rie, watchdog string
	cores, runs                              int
	batch                                    int64
	once                                     bool
}

func run() error {
	var o options
	flag.StringVar(&o.corpus, "corpus", "", "a corpus written by watchdog gen")
	flag.StringVar(&o.bootstrap, "bootstrap", "", "the replay function's bootstrap, built for this machine")
	flag.StringVar(&o.gunzip, "gunzip", "", "internal/gunzip, built")
	flag.StringVar(&o.rie, "rie", os.Getenv("AWS_LAMBDA_RIE"), "aws-lambda-rie")
	flag.StringVar(&o.watchdog, "watchdog", "", "the CLI, built: its local replay of the same files is measured too")
	flag.IntVar(&o.cores, "cores", 1, "cores the function and the baseline may use (1 or 2)")
	flag.IntVar(&o.runs, "runs", 5, "rounds, each running the function over the corpus and the baseline, in turn")
	batch := flag.Int64("batch", 256<<20, "bytes as stored per batch")
	flag.BoolVar(&o.once, "once", false, "one invocation over the corpus, then exit")
	flag.Parse()
	o.batch = *batch
	if o.corpus == "" || o.bootstrap == "" || o.rie == "" || (!o.once && o.gunzip == "") {
		return fmt.Errorf("-corpus, -bootstrap, -rie and -gunzip are needed")
	}
	cpus := map[int]string{1: "0", 2: "0,1"}[o.cores]
	if cpus == "" {
		return fmt.Errorf("-cores %d: want 1 or 2", o.cores)
	}
	keys, sizes, err := logFiles(o.corpus)
	if err != nil {
		return err
	}
	srv, err := serve(o.corpus)
	if err != nil {
		return err
	}
	fn, err := startFunction(o, cpus, srv)
	if err != nil {
		return err
	}
	defer fn.stop()
	batches := cut(keys, sizes, o.batch)
	// INIT and the first connections are not what a batch costs: one warm-up invocation.
	if _, err := fn.invoke(batches[0][:min(10, len(batches[0]))], "warmup"); err != nil {
		return err
	}
	if o.once {
		m, err := fn.replay(batches)
		if err != nil {
			return err
		}
		rie, _ := procCPU(fn.cmd.Process.Pid)
		var self syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &self)
		own := time.Duration(self.Utime.Nano() + self.Stime.Nano()).Seconds()
		// An external timer of this whole process sees all three (the emulator is stopped and
		// waited for, and waits for the bootstrap).
		fmt.Printf("function seconds=%.3f bootstrap_cpu=%.2f emulator_cpu=%.2f this_process_cpu=%.2f stored=%d json=%d\n",
			m.seconds, m.cpu, rie, own, m.input, m.bytes)
		return nil
	}
	type row struct{ wall, cpu []float64 }
	var fnRow, gzRow, localRow row
	var wallRatio, cpuRatio, localRatio []float64
	var last measure
	for r := range o.runs {
		var f measure
		var g, l pass
		var errs [3]error
		steps := []func(){
			func() { f, errs[0] = fn.replay(batches) },
			func() { g, errs[1] = timed(o, cpus, o.gunzip, "-jobs", strconv.Itoa(o.cores), o.corpus) },
		}
		if o.watchdog != "" {
			steps = append(steps, func() {
				l, errs[2] = timed(o, cpus, o.watchdog, "replay", "--jobs", strconv.Itoa(o.cores), "--output", "jsonl", o.corpus)
			})
		}
		if r%2 == 1 { // alternate the order, round by round
			slices.Reverse(steps)
		}
		for _, step := range steps {
			step()
		}
		if err := errors.Join(errs[:]...); err != nil {
			return fmt.Errorf("round %d: %w", r+1, err)
		}
		last = f
		fnRow.wall, fnRow.cpu = append(fnRow.wall, f.seconds), append(fnRow.cpu, f.cpu)
		gzRow.wall, gzRow.cpu = append(gzRow.wall, g.wall), append(gzRow.cpu, g.cpu)
		wallRatio, cpuRatio = append(wallRatio, g.wall/f.seconds), append(cpuRatio, g.cpu/f.cpu)
		if o.watchdog != "" {
			localRow.wall, localRow.cpu = append(localRow.wall, l.wall), append(localRow.cpu, l.cpu)
			localRatio = append(localRatio, l.cpu/f.cpu)
		}
		fmt.Fprintf(os.Stderr, "round %d: function %.2f s (%.2f s CPU), decompression alone %.2f s (%.2f s CPU), local replay %.2f s (%.2f s CPU)\n",
			r+1, f.seconds, f.cpu, g.wall, g.cpu, l.wall, l.cpu)
	}
	med := func(v []float64) float64 { s := slices.Clone(v); slices.Sort(s); return s[len(s)/2] }
	span := func(v []float64) string {
		return fmt.Sprintf("%.2f (%.2f–%.2f)", med(v), slices.Min(v), slices.Max(v))
	}
	mbps := func(n int64, secs float64) float64 { return float64(n) / 1e6 / secs }
	fmt.Printf("cores=%d files=%d stored=%d json=%d batches=%d runs=%d\n", o.cores, len(keys), last.input, last.bytes, len(batches), o.runs)
	for _, r := range []struct {
		name string
		row  row
	}{{"function", fnRow}, {"decompression alone", gzRow}, {"local replay", localRow}} {
		if len(r.row.wall) == 0 {
			continue
		}
		fmt.Printf("%s: wall %s s, CPU %s s; per CPU-second %.1f MB stored, %.1f MB of JSON\n", r.name, span(r.row.wall), span(r.row.cpu),
			mbps(last.input, med(r.row.cpu)), mbps(last.bytes, med(r.row.cpu)))
	}
	fmt.Printf("function ÷ decompression alone, speed per CPU-second: %s; by wall time: %s\n", span(cpuRatio), span(wallRatio))
	if len(localRatio) > 0 {
		fmt.Printf("function ÷ local replay, speed per CPU-second: %s\n", span(localRatio))
	}
	return nil
}

// logFiles are the corpus's log files as keys (relative paths) in S3's order, with sizes.
func logFiles(dir string) ([]string, []int64, error) {
	var keys []string
	sizes := map[string]int64{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json.gz") {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		key := filepath.ToSlash(rel)
		keys, sizes[key] = append(keys, key), info.Size()
		return err
	})
	if err != nil || len(keys) == 0 {
		return nil, nil, fmt.Errorf("no log files under %s: %v", dir, err)
	}
	slices.Sort(keys) // keys of one layout: byte order is S3's
	out := make([]int64, len(keys))
	for i, k := range keys {
		out[i] = sizes[k]
	}
	return keys, out, nil
}

// cut makes batches of consecutive keys of about n bytes, as pkg/fanout does.
func cut(keys []string, sizes []int64, n int64) [][]string {
	var out [][]string
	start, bytes := 0, int64(0)
	for i := range keys {
		bytes += sizes[i]
		if bytes >= n || i == len(keys)-1 {
			out = append(out, keys[start:i+1])
			start, bytes = i+1, 0
		}
	}
	return out
}

// serve answers S3's GetObject (path style, bucket "archive") from dir and takes any PutObject
// (the rows) without keeping it: a server that costs next to nothing beside the function.
func serve(dir string) (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	go http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("ETag", `"0"`)
			return
		}
		key, ok := strings.CutPrefix(r.URL.Path, "/archive/")
		if !ok || strings.Contains(key, "..") {
			http.NotFound(w, r)
			return
		}
		http.ServeFile(w, r, filepath.Join(dir, filepath.FromSlash(key)))
	}))
	return "http://" + l.Addr().String(), nil
}

// function is the bootstrap under the emulator.
type function struct {
	cmd *exec.Cmd
	url string
	log bytes.Buffer
}

func startFunction(o options, cpus, s3 string) (*function, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	rt, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	rtAddr := rt.Addr().String()
	rt.Close()
	f := &function{url: "http://" + addr + "/2015-03-31/functions/function/invocations"}
	f.cmd = exec.Command("taskset", "-c", cpus, o.rie, "--runtime-interface-emulator-address", addr, "--runtime-api-address", rtAddr, o.bootstrap)
	f.cmd.Dir = filepath.Dir(o.bootstrap)
	f.cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir(), "AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=bench", "AWS_SECRET_ACCESS_KEY=bench", "AWS_ENDPOINT_URL=" + s3,
		"AWS_LAMBDA_FUNCTION_TIMEOUT=900", "GOMAXPROCS=" + strconv.Itoa(o.cores),
		"ARCHIVE_BUCKET=archive", "RESULTS_BUCKET=results", "RESULTS_PREFIX=bench/"}
	f.cmd.Stdout, f.cmd.Stderr = &f.log, &f.log
	if err := f.cmd.Start(); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return f, nil
		}
		if time.Now().After(deadline) {
			f.stop()
			return nil, fmt.Errorf("aws-lambda-rie did not listen: %v\n%s", err, f.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop ends the emulator as Lambda ends an environment, letting it stop the bootstrap.
func (f *function) stop() {
	_ = f.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = f.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = f.cmd.Process.Kill()
		<-done
	}
}

// measure is what one pass over the corpus took: the function's own duration, summed over
// the batches, and the CPU time of the bootstrap process meanwhile.
type measure struct {
	seconds, cpu float64
	input, bytes int64
}

// replay invokes the function on each batch in turn.
func (f *function) replay(batches [][]string) (measure, error) {
	var m measure
	before, err := f.cpu()
	if err != nil {
		return m, err
	}
	defer func() {
		if after, err := f.cpu(); err == nil {
			m.cpu = after - before
		}
	}()
	for i, b := range batches {
		resp, err := f.invoke(b, fmt.Sprintf("b%06d", i+1))
		if err != nil {
			return m, err
		}
		m.seconds += float64(resp.DurationMS) / 1e3
		m.input += resp.Totals.Input
		m.bytes += resp.Totals.Bytes
	}
	after, err := f.cpu()
	m.cpu = after - before
	return m, err
}

// cpu is the user and system time of the emulator's runtime process, the bootstrap, so far.
func (f *function) cpu() (float64, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	for _, e := range entries {
		fields, err := procStat(e.Name())
		if err != nil || fields[1] != strconv.Itoa(f.cmd.Process.Pid) {
			continue
		}
		return cpuOf(fields), nil
	}
	return 0, fmt.Errorf("no runtime process under the emulator (pid %d)", f.cmd.Process.Pid)
}

// procStat reads /proc/PID/stat: the fields after the command's closing parenthesis (state,
// ppid, … utime, stime at 11 and 12).
func procStat(pid string) ([]string, error) {
	stat, err := os.ReadFile(filepath.Join("/proc", pid, "stat"))
	if err != nil {
		return nil, err
	}
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	if len(fields) < 13 {
		return nil, fmt.Errorf("/proc/%s/stat: %d fields", pid, len(fields))
	}
	return fields, nil
}

func cpuOf(fields []string) float64 {
	utime, _ := strconv.ParseFloat(fields[11], 64)
	stime, _ := strconv.ParseFloat(fields[12], 64)
	return (utime + stime) / clockTicks
}

// procCPU is a process's user and system time so far.
func procCPU(pid int) (float64, error) {
	fields, err := procStat(strconv.Itoa(pid))
	if err != nil {
		return 0, err
	}
	return cpuOf(fields), nil
}

// clockTicks is USER_HZ, the unit of /proc's times: 100 on Linux.
const clockTicks = 100

func (f *function) invoke(keys []string, id string) (*replay.BatchResponse, error) {
	payload, err := json.Marshal(replay.BatchRequest{Version: replay.BatchVersion, Batch: id, Bucket: "archive", Keys: keys,
		Results: "s3://results/bench/" + id + ".jsonl", Config: policy.Default()})
	if err != nil {
		return nil, err
	}
	r, err := http.Post(f.url, "application/json", bytes.NewReader(payload))
	if err != nil {
		return nil, err
	}
	defer r.Body.Close()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	var resp replay.BatchResponse
	if err := json.Unmarshal(body, &resp); err != nil || resp.Done != len(keys) || resp.Totals.Unreadable > 0 {
		return nil, fmt.Errorf("batch %s: %.300s (%v)", id, body, err)
	}
	return &resp, nil
}

// pass is what one run of a command took.
type pass struct{ wall, cpu float64 }

// timed runs a command on cpus, its output thrown away, and returns its wall and CPU time.
func timed(o options, cpus, name string, args ...string) (pass, error) {
	cmd := exec.Command("taskset", append([]string{"-c", cpus, name}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	began := time.Now()
	err := cmd.Run()
	wall := time.Since(began).Seconds()
	if err != nil {
		return pass{}, fmt.Errorf("%s: %v\n%s", filepath.Base(name), err, stderr.String())
	}
	st := cmd.ProcessState
	return pass{wall: wall, cpu: (st.UserTime() + st.SystemTime()).Seconds()}, nil
}

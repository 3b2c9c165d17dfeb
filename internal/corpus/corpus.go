// Package corpus generates archives of CloudTrail logs for backtests and benchmarks: log files in
// CloudTrail's S3 layout (AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/*.json.gz) holding a
// realistic mix — mostly read-only noise from assumed roles, AWS services and S3 data events,
// records of 1–2 KB — with the example events of events-testdata (alerts and near misses) mixed
// in at a low rate, re-dated and re-numbered.
//
// The output is a function of the Config alone: the same seed gives the same bytes, whatever the
// number of goroutines writing it.
package corpus

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/gzip"

	eventstestdata "github.com/iam-watchdog/iam-watchdog/events-testdata"
)

// Config describes a corpus.
type Config struct {
	Seed     uint64    `json:"seed"`
	Start    time.Time `json:"start"` // the first day, UTC midnight
	Days     int       `json:"days"`
	Accounts []string  `json:"accounts"`
	Regions  []string  `json:"regions"` // the first is the busiest, as us-east-1 usually is
	// Bytes is the uncompressed size to aim for, spread over the log files.
	Bytes int64 `json:"bytes"`
	// AlertRate is the share of records that are alert- example events; near misses (quiet-
	// examples) come at half that rate.
	AlertRate float64 `json:"alert_rate"`
	// Interval is how much time one log file covers (CloudTrail writes about every 5 minutes).
	Interval time.Duration `json:"interval"`
}

// Default is a corpus of bytes uncompressed over two days, two accounts and three regions.
func Default(bytes int64) Config {
	return Config{
		Seed:      1,
		Start:     time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC),
		Days:      2,
		Accounts:  []string{"123456789012", "210987654321"},
		Regions:   []string{"us-east-1", "eu-west-1", "ap-southeast-2"},
		Bytes:     bytes,
		AlertRate: 0.001,
		Interval:  5 * time.Minute,
	}
}

// Validate checks that a corpus can be made from c.
func (c Config) Validate() error {
	switch {
	case c.Days < 1:
		return errors.New("days must be at least 1")
	case len(c.Accounts) == 0 || len(c.Regions) == 0:
		return errors.New("at least one account and one region are needed")
	case c.Bytes < 1:
		return errors.New("size must be positive")
	case c.AlertRate < 0 || c.AlertRate > 0.5:
		return errors.New("alert rate must be between 0 and 0.5")
	case c.Interval < time.Minute || c.Interval > 24*time.Hour:
		return errors.New("interval must be between a minute and a day")
	}
	for _, a := range c.Accounts {
		if !regexp.MustCompile(`^\d{12}$`).MatchString(a) {
			return fmt.Errorf("account %q is not 12 digits", a)
		}
	}
	return nil
}

// Manifest is what was generated; Generate writes it to ManifestName last, so that a corpus
// with a manifest is whole.
type Manifest struct {
	Config     Config `json:"config"`
	Files      int    `json:"files"`
	Records    int64  `json:"records"`
	Bytes      int64  `json:"bytes"`      // uncompressed
	Compressed int64  `json:"compressed"` // on disk
	Alerts     int64  `json:"alerts"`     // alert- example events mixed in
	NearMisses int64  `json:"near_misses"`
}

// ManifestName is the manifest's file name at the corpus root: JSON, under a name replay does
// not take for a log file.
const ManifestName = "corpus.manifest"

// ReadManifest reads the manifest of the corpus in dir.
func ReadManifest(dir string) (Manifest, error) {
	var m Manifest
	data, err := os.ReadFile(filepath.Join(dir, ManifestName))
	if err != nil {
		return m, err
	}
	return m, json.Unmarshal(data, &m)
}

// logFile is one file to write.
type logFile struct {
	account, region string
	end             time.Time // the delivery time in its name; it holds events of the interval before
	budget          int64
	seed            uint64
	examples        []int // example events placed here so that each appears at least once
}

// Path is the file's place in CloudTrail's S3 layout.
func (f logFile) path(uniq string) string {
	return fmt.Sprintf("AWSLogs/%s/CloudTrail/%s/%s/%s_CloudTrail_%s_%s_%s.json.gz", f.account, f.region,
		f.end.Format("2006/01/02"), f.account, f.region, f.end.Format("20060102T1504Z"), uniq)
}

// plan lays out every file and its share of the bytes: the first region busiest, working hours
// busier than the night, some jitter.
func plan(c Config) []logFile {
	rng := rand.New(rand.NewPCG(c.Seed, 0x9e3779b97f4a7c15))
	var files []logFile
	var weights []float64
	total := 0.0
	per := int(24 * time.Hour / c.Interval)
	for _, account := range c.Accounts {
		for ri, region := range c.Regions {
			rw := 1.0 / float64(ri+1) / float64(ri+1)
			for d := 0; d < c.Days; d++ {
				for k := 0; k < per; k++ {
					start := c.Start.AddDate(0, 0, d).Add(time.Duration(k) * c.Interval)
					hour := float64(start.Hour()) + float64(start.Minute())/60
					diurnal := 1 + 0.8*math.Sin((hour-8)/24*2*math.Pi)
					w := rw * diurnal * (0.6 + 0.8*rng.Float64())
					files = append(files, logFile{account: account, region: region, end: start.Add(c.Interval), seed: rng.Uint64()})
					weights = append(weights, w)
					total += w
				}
			}
		}
	}
	for i := range files {
		files[i].budget = int64(float64(c.Bytes) * weights[i] / total)
	}
	return files
}

// spread places every example event in some file, so that every rule has something to find
// in any corpus: example k (alerts first, then near misses) goes to file k·len(files)/n.
func spread(files []logFile, n int) {
	for k := range n {
		i := k * len(files) / n
		files[i].examples = append(files[i].examples, k)
	}
}

// Generate writes the corpus c under dir, which it creates, with jobs goroutines and returns
// its manifest. progress, if not nil, is called after each file with the bytes written so far.
func Generate(dir string, c Config, jobs int, progress func(files int, bytes int64)) (Manifest, error) {
	if err := c.Validate(); err != nil {
		return Manifest{}, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Manifest{}, err
	}
	tpl, err := loadTemplates()
	if err != nil {
		return Manifest{}, err
	}
	files := plan(c)
	spread(files, len(tpl.alerts)+len(tpl.nearMisses))
	m := Manifest{Config: c, Files: len(files)}
	var records, plain, compressed, alerts, near atomic.Int64
	var done atomic.Int64
	var firstErr error
	var mu sync.Mutex
	next := atomic.Int64{}
	var wg sync.WaitGroup
	for range max(1, jobs) {
		wg.Go(func() {
			g := &generator{cfg: c, tpl: tpl}
			var buf, zbuf bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&zbuf, gzip.DefaultCompression)
			for {
				i := int(next.Add(1) - 1)
				if i >= len(files) {
					return
				}
				f := files[i]
				g.reset(f)
				buf.Reset()
				st := g.file(&buf, f)
				zbuf.Reset()
				zw.Reset(&zbuf)
				_, err := zw.Write(buf.Bytes())
				if err == nil {
					err = zw.Close()
				}
				path := filepath.Join(dir, filepath.FromSlash(f.path(g.uniq())))
				if err == nil {
					err = os.MkdirAll(filepath.Dir(path), 0o755)
				}
				if err == nil {
					err = os.WriteFile(path, zbuf.Bytes(), 0o644)
				}
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					next.Store(int64(len(files)))
					return
				}
				records.Add(st.records)
				alerts.Add(st.alerts)
				near.Add(st.near)
				compressed.Add(int64(zbuf.Len()))
				total := plain.Add(int64(buf.Len()))
				n := done.Add(1)
				if progress != nil {
					progress(int(n), total)
				}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return m, firstErr
	}
	m.Records, m.Bytes, m.Compressed, m.Alerts, m.NearMisses = records.Load(), plain.Load(), compressed.Load(), alerts.Load(), near.Load()
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return m, err
	}
	return m, os.WriteFile(filepath.Join(dir, ManifestName), append(data, '\n'), 0o644)
}

// templates are the example events' records, compacted, with the placeholders the generator
// fills in.
type templates struct {
	alerts, nearMisses []template
}

type template struct {
	name   string
	record []byte
}

var (
	eventTimeField = regexp.MustCompile(`"eventTime":"[^"]*"`)
	eventIDField   = regexp.MustCompile(`"eventID":"[^"]*"`)
	requestIDField = regexp.MustCompile(`"requestID":"[^"]*"`)
	regionField    = regexp.MustCompile(`"awsRegion":"[^"]*"`)
)

// exampleAccount is the account of the example events, replaced by the file's.
const exampleAccount = "123456789012"

func loadTemplates() (templates, error) {
	var t templates
	names, err := fs.Glob(eventstestdata.FS, "*/*.json")
	if err != nil {
		return t, err
	}
	slices.Sort(names)
	for _, name := range names {
		data, err := fs.ReadFile(eventstestdata.FS, name)
		if err != nil {
			return t, err
		}
		var ev struct {
			Detail json.RawMessage `json:"detail"`
		}
		if err := json.Unmarshal(data, &ev); err != nil {
			return t, fmt.Errorf("%s: %w", name, err)
		}
		raw := ev.Detail
		if len(raw) == 0 {
			raw = data // a bare record
		}
		var b bytes.Buffer
		if err := json.Compact(&b, raw); err != nil {
			return t, fmt.Errorf("%s: %w", name, err)
		}
		base := name[strings.IndexByte(name, '/')+1:]
		switch {
		case strings.HasPrefix(base, "alert-"):
			t.alerts = append(t.alerts, template{name, b.Bytes()})
		case strings.HasPrefix(base, "quiet-"):
			t.nearMisses = append(t.nearMisses, template{name, b.Bytes()})
		}
	}
	if len(t.alerts) == 0 {
		return t, errors.New("no example events found in events-testdata")
	}
	return t, nil
}

// instantiate makes a record of a template for an account, a region and a time.
func (g *generator) instantiate(tp template, at time.Time, buf []byte) []byte {
	rec := tp.record
	if g.account != exampleAccount {
		rec = bytes.ReplaceAll(rec, []byte(exampleAccount), []byte(g.account))
	}
	rec = eventTimeField.ReplaceAll(rec, []byte(`"eventTime":"`+at.Format(time.RFC3339)+`"`))
	rec = eventIDField.ReplaceAll(rec, []byte(`"eventID":"`+g.uuid()+`"`))
	rec = requestIDField.ReplaceAll(rec, []byte(`"requestID":"`+g.uuid()+`"`))
	// Every record says the region of the file it is in, so that --region means the same by key
	// and by record.
	rec = regionField.ReplaceAll(rec, []byte(`"awsRegion":"`+g.region+`"`))
	return append(buf, rec...)
}

// Sample is one log file of about n records of the corpus c describes (its first account and
// region), in memory: for benchmarks and tests of what reads log files.
func Sample(c Config, n int) ([]byte, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	tpl, err := loadTemplates()
	if err != nil {
		return nil, err
	}
	f := logFile{account: c.Accounts[0], region: c.Regions[0], end: c.Start.Add(12 * time.Hour), budget: int64(n) * 1450, seed: c.Seed}
	g := &generator{cfg: c, tpl: tpl}
	g.reset(f)
	var buf bytes.Buffer
	g.file(&buf, f)
	return buf.Bytes(), nil
}

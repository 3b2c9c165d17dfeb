package corpus

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
)

func small() Config {
	c := Default(2e6)
	c.Days, c.Interval = 1, time.Hour
	return c
}

// digest hashes every file under dir with its path.
func digest(t *testing.T, dir string) map[string][32]byte {
	t.Helper()
	out := map[string][32]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = sha256.Sum256(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestGenerateIsDeterministic: the same config gives the same bytes, whatever the number of
// goroutines; another seed gives other bytes.
func TestGenerateIsDeterministic(t *testing.T) {
	a, b, c := t.TempDir(), t.TempDir(), t.TempDir()
	cfg := small()
	if _, err := Generate(a, cfg, 1, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := Generate(b, cfg, 4, nil); err != nil {
		t.Fatal(err)
	}
	cfg.Seed = 2
	if _, err := Generate(c, cfg, 2, nil); err != nil {
		t.Fatal(err)
	}
	da, db, dc := digest(t, a), digest(t, b), digest(t, c)
	if len(da) != len(db) {
		t.Fatalf("%d files, then %d", len(da), len(db))
	}
	for name, h := range da {
		if db[name] != h {
			t.Errorf("%s differs between runs", name)
		}
	}
	same := 0
	for name, h := range da {
		if dc[name] == h {
			same++
		}
	}
	if same > 1 { // the manifests differ by the seed too
		t.Errorf("%d files are the same with another seed", same)
	}
}

var layout = regexp.MustCompile(`^AWSLogs/(\d{12})/CloudTrail/([a-z0-9-]+)/(\d{4})/(\d{2})/(\d{2})/(\d{12})_CloudTrail_([a-z0-9-]+)_(\d{8}T\d{4}Z)_[A-Za-z0-9]{16}\.json\.gz$`)

// TestGenerateLayoutAndMix checks the archive against CloudTrail's: the S3 layout, one-line
// log files, records of 1–2 KB in time order within their file's window, and the mix.
func TestGenerateLayoutAndMix(t *testing.T) {
	dir := t.TempDir()
	cfg := small()
	m, err := Generate(dir, cfg, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := ReadManifest(dir); err != nil || got.Records != m.Records || got.Files != m.Files {
		t.Fatalf("manifest %+v, %v; want %+v", got, err, m)
	}
	var files int
	var records, plain, assumed, services, data, denied int64
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() == ManifestName {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		parts := layout.FindStringSubmatch(filepath.ToSlash(rel))
		if parts == nil {
			t.Errorf("%s is not in CloudTrail's layout", rel)
			return nil
		}
		if parts[1] != parts[6] || parts[2] != parts[7] || parts[3]+parts[4]+parts[5] != parts[8][:8] {
			t.Errorf("%s: the name disagrees with the folders", rel)
		}
		delivered, _ := time.Parse("20060102T1504Z", parts[8])
		f, _ := os.Open(p)
		zr, err := gzip.NewReader(f)
		if err != nil {
			return err
		}
		text, err := io.ReadAll(zr)
		f.Close()
		if err != nil {
			return err
		}
		files++
		plain += int64(len(text))
		if bytes.Count(text, []byte("\n")) != 0 {
			t.Errorf("%s spans lines", rel)
		}
		var log struct{ Records []json.RawMessage }
		if err := json.Unmarshal(text, &log); err != nil {
			return err
		}
		for _, raw := range log.Records {
			var r struct {
				EventTime          time.Time
				AWSRegion          string
				RecipientAccountID string `json:"recipientAccountId"`
				ErrorCode          string
				EventCategory      string
				UserIdentity       struct{ Type, InvokedBy string }
			}
			if err := json.Unmarshal(raw, &r); err != nil {
				return err
			}
			records++
			if r.EventTime.After(delivered) || r.EventTime.Before(delivered.Add(-cfg.Interval)) {
				t.Errorf("%s: event at %s, outside the file's window", rel, r.EventTime)
			}
			if r.AWSRegion != parts[2] || r.RecipientAccountID != parts[1] {
				t.Errorf("%s: record of %s in %s", rel, r.RecipientAccountID, r.AWSRegion)
			}
			switch {
			case r.UserIdentity.Type == "AssumedRole":
				assumed++
			case r.UserIdentity.Type == "AWSService":
				services++
			}
			if r.EventCategory == "Data" {
				data++
			}
			if strings.HasPrefix(r.ErrorCode, "AccessDenied") {
				denied++
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files != m.Files || records != m.Records || plain != m.Bytes {
		t.Errorf("found %d files, %d records, %d bytes; manifest says %d, %d, %d", files, records, plain, m.Files, m.Records, m.Bytes)
	}
	if avg := plain / records; avg < 1000 || avg > 2000 {
		t.Errorf("records average %d bytes, want 1–2 KB", avg)
	}
	if plain < cfg.Bytes*9/10 || plain > cfg.Bytes*12/10 {
		t.Errorf("%d bytes, want about %d", plain, cfg.Bytes)
	}
	share := func(n int64) float64 { return float64(n) / float64(records) }
	if share(assumed) < 0.5 || share(services) < 0.05 || share(data) < 0.2 {
		t.Errorf("mix: %.2f assumed roles, %.2f services, %.2f data events", share(assumed), share(services), share(data))
	}
	if m.Alerts < int64(len(mustTemplates(t).alerts)) {
		t.Errorf("%d alerts mixed in, fewer than the %d example alerts", m.Alerts, len(mustTemplates(t).alerts))
	}
}

func mustTemplates(t *testing.T) templates {
	tpl, err := loadTemplates()
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}

func TestValidate(t *testing.T) {
	for _, edit := range []func(*Config){
		func(c *Config) { c.Days = 0 },
		func(c *Config) { c.Accounts = nil },
		func(c *Config) { c.Accounts = []string{"12345"} },
		func(c *Config) { c.Bytes = 0 },
		func(c *Config) { c.AlertRate = 0.9 },
		func(c *Config) { c.Interval = time.Second },
	} {
		c := small()
		edit(&c)
		if c.Validate() == nil {
			t.Errorf("%+v validates", c)
		}
	}
}

package replay

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/iam-watchdog/iam-watchdog/pkg/cloudtrail"
)

// Input is one thing to read: a file, an S3 object, standard input. What it holds is anything
// cloudtrail.Scanner reads: EventBridge events, CloudTrail records or log files, JSON Lines of
// these, any of them gzipped.
type Input struct {
	Name string
	// Size is the input's size as stored, 0 when not known; it only sizes the progress.
	Size int64
	// Open opens the input for reading; the caller closes it.
	Open func() (io.ReadCloser, error)
	// Records, set instead of Open, yields the input's records already decoded (CloudTrail's
	// Event history): errors about one record are *cloudtrail.Error of ScopeRecord, any other
	// error ends the input unread past it.
	Records func(ctx context.Context) iter.Seq2[*cloudtrail.Record, error]
	// Note, when set, says how far the reading of the input got, for the progress of an input
	// that takes long to read (Event history's look-ups).
	Note func() string
}

// A Source lists the inputs one PATH names, in the order they are to be read. Replay reads the
// inputs of all its sources on its workers; a new kind of input (CloudTrail's event history,
// an archive elsewhere) is a new Source, not a change to the workers.
type Source interface {
	// Inputs yields the inputs in order. An input that cannot even be listed comes with an
	// error, and is counted as unreadable; listing goes on after it unless the error says
	// nothing more can be listed. Inputs whose place in CloudTrail's layout puts them out of sc
	// (sc.Prunes) are best not listed. sized asks for Size where it costs a look-up (it is
	// wanted only for the progress); a source that learns sizes anyway may always give them.
	Inputs(ctx context.Context, sc Scope, sized bool) iter.Seq2[Input, error]
}

// Locator turns the PATH arguments of `watchdog replay` into sources: "-" is Stdin,
// s3://bucket/prefix an S3 listing, cloudtrail://REGION the region's Event history, anything
// else a file or a directory.
type Locator struct {
	Stdin io.Reader
	// S3 gives the S3 client, built on first use; it may be called more than once.
	S3 func(ctx context.Context) (S3API, error)
	// History reads cloudtrail://REGION; without it such a path is an input that cannot be read.
	History *History
}

// Sources are the sources of paths, in order.
func (l Locator) Sources(paths []string) []Source {
	out := make([]Source, 0, len(paths))
	var regions []string
	for _, p := range paths {
		switch {
		case p == "-":
			out = append(out, Reader{Name: "-", R: l.Stdin})
		case strings.HasPrefix(p, "s3://"):
			out = append(out, S3Prefix{URL: p, Client: l.S3})
		case strings.HasPrefix(p, HistoryScheme) && l.History == nil:
			out = append(out, failedSource{name: p, err: fmt.Errorf("%s: Event history cannot be read here", p)})
		case strings.HasPrefix(p, HistoryScheme):
			out = append(out, l.History.source(p, &regions))
		default:
			out = append(out, Path(p))
		}
	}
	if l.History != nil {
		l.History.notes(regions)
	}
	return out
}

// Reader is one input read from R once, such as standard input.
type Reader struct {
	Name string
	R    io.Reader
}

// Inputs implements Source.
func (r Reader) Inputs(context.Context, Scope, bool) iter.Seq2[Input, error] {
	return func(yield func(Input, error) bool) {
		yield(Input{Name: r.Name, Open: func() (io.ReadCloser, error) { return io.NopCloser(r.R), nil }}, nil)
	}
}

// Path is a file or a directory. A directory is walked recursively in key order, as S3 lists an
// archive, and in it only log files are read (eventFile), digest folders are passed over, and
// folders and files whose place in CloudTrail's layout puts them out of scope are never opened.
// A file named itself is always read.
type Path string

// Inputs implements Source. Files' sizes are looked up only when sized.
func (p Path) Inputs(_ context.Context, sc Scope, sized bool) iter.Seq2[Input, error] {
	return func(yield func(Input, error) bool) {
		path := string(p)
		info, err := os.Stat(path)
		switch {
		case err != nil:
			yield(Input{Name: path}, err)
		case !info.IsDir():
			yield(fileInput(path, info.Size()), nil)
		default:
			var w walker
			if w.walk(path, sc, sized, yield) && w.files == 0 && w.listErrs == 0 {
				yield(Input{Name: path}, &NoLogFilesError{Dir: path, OutOfScope: w.pruned})
			}
		}
	}
}

// NoLogFilesError is what a directory holding no log file to read yields in place of its
// inputs: said to the user, not counted as an unreadable input; a replay that read nothing
// else fails (Summary.Err).
type NoLogFilesError struct {
	Dir string
	// OutOfScope counts the log files and folders passed over for the scope.
	OutOfScope int
}

func (e *NoLogFilesError) Error() string {
	if e.OutOfScope > 0 {
		return fmt.Sprintf("no log files under %s in the scope (--since, --until, --account, --region): %d out of it", e.Dir, e.OutOfScope)
	}
	return fmt.Sprintf("no log files under %s (*.json, *.jsonl, *.ndjson, each optionally .gz)", e.Dir)
}

// walker counts what a directory walk found: log files yielded, files and folders pruned for
// the scope, folders that could not be listed.
type walker struct{ files, pruned, listErrs int }

// walk yields the log files under dir in the order S3 would list their keys: by name, a
// folder's name read with its trailing slash (so a.json comes before a/b.json).
func (w *walker) walk(dir string, sc Scope, sized bool, yield func(Input, error) bool) bool {
	entries, err := os.ReadDir(dir)
	if err != nil {
		w.listErrs++
		return yield(Input{Name: dir}, err)
	}
	key := func(e fs.DirEntry) string {
		if e.IsDir() {
			return e.Name() + "/"
		}
		return e.Name()
	}
	slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(key(a), key(b)) })
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		switch {
		case e.IsDir():
			if e.Name() == "CloudTrail-Digest" {
				continue
			}
			if sc.Prunes(filepath.ToSlash(path) + "/") {
				w.pruned++
				continue
			}
			if !w.walk(path, sc, sized, yield) {
				return false
			}
		case e.Type().IsRegular() && eventFile(e.Name()) && sc.Prunes(filepath.ToSlash(path)):
			w.pruned++
		case e.Type().IsRegular() && eventFile(e.Name()):
			w.files++
			var size int64
			if sized {
				if info, err := e.Info(); err == nil {
					size = info.Size()
				}
			}
			if !yield(fileInput(path, size), nil) {
				return false
			}
		}
	}
	return true
}

// eventFile says whether a file met in a directory walk or an S3 listing holds events, by its
// name. Files named on the command line are always read.
func eventFile(name string) bool {
	name = strings.TrimSuffix(name, ".gz")
	for _, ext := range []string{".json", ".jsonl", ".ndjson"} {
		if strings.HasSuffix(name, ext) {
			return true
		}
	}
	return false
}

func fileInput(path string, size int64) Input {
	return Input{Name: path, Size: size, Open: func() (io.ReadCloser, error) { return os.Open(path) }}
}

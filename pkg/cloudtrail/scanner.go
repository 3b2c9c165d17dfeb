package cloudtrail

import (
	"bufio"
	"io"
	"iter"
	"sync/atomic"

	"github.com/klauspost/compress/gzip"
)

// A Scanner reads CloudTrail input as Records does, but decodes only the records its Want
// function asks for. It is how archives are replayed at the speed of decompression: in a log
// file ({"Records":[…]} on one line, as CloudTrail writes them to S3) each record is skimmed for
// its typed fields (a head: see Want) without encoding/json, and only the records Want accepts
// are decoded. Everything else Records reads — EventBridge events, bare records, JSON Lines,
// pretty-printed files — is decoded in full and then offered to Want.
//
// What a Scanner yields is what Records yields with the records Want refuses left out: the same
// records with the same Raw, Pos and fields, and the same errors at the same positions, in the
// same order. A record Records would report an error for is never skipped unread, so a
// corrupt archive fails the same way whichever reads it.
//
// A Scanner keeps its buffers and gzip state from one input to the next; it is not safe for
// concurrent use. Use one per goroutine.
type Scanner struct {
	// Want says whether a record is wanted. In a log file it is asked about a head: a *Record
	// whose typed fields are set (including Pos, UserIdentity and its SessionContext) but whose
	// Raw, RequestParameters, ResponseElements and AdditionalEventData are nil, and whose
	// strings point into the Scanner's buffer — so Want must decide from typed fields alone and
	// must not keep the record or its strings. Elsewhere it is asked about the decoded record,
	// and a head it accepts is asked about again once decoded: it must answer the same for both.
	// Nil wants every record, and reads everything as Records does.
	Want func(head *Record) bool

	records, decoded, yielded, otherTimeForm, recordErrors, inputErrors, input, bytes atomic.Int64

	heads     headReader
	undecoded []undecodedRecord
	// Buffers and decompressor reused from one input to the next.
	in, out *bufio.Reader
	zr      *gzip.Reader
	lines   [2][]byte
}

// ScanStats counts what a Scanner read, over every input so far. The counts of one input are
// the difference (Sub) of the Stats after it and before it.
type ScanStats struct {
	Records int64 // records read without error, wanted or not
	Decoded int64 // of those, the ones decoded in full
	Yielded int64 // of those, the ones Want accepted
	// OtherTimeForm counts, of Records, those whose eventTime was not in CloudTrail's own form
	// 2006-01-02T15:04:05Z: an export's (a space for the T, no zone: read as UTC), fractional
	// seconds, or an offset.
	OtherTimeForm int64
	// RecordErrors counts the errors yielded about one record, element, line or value
	// (ScopeRecord): the input around each was still read.
	RecordErrors int64
	// InputErrors counts the errors yielded about an input as a whole (ScopeInput): an input
	// with one could not be read, or not to its end.
	InputErrors int64
	Input       int64 // bytes read from the inputs as given (compressed, for gzip)
	Bytes       int64 // bytes of JSON read, after decompression
}

// Stats returns the counts so far. It may be called from another goroutine while the Scanner
// reads.
func (s *Scanner) Stats() ScanStats {
	return ScanStats{Records: s.records.Load(), Decoded: s.decoded.Load(), Yielded: s.yielded.Load(),
		OtherTimeForm: s.otherTimeForm.Load(), RecordErrors: s.recordErrors.Load(), InputErrors: s.inputErrors.Load(),
		Input: s.input.Load(), Bytes: s.bytes.Load()}
}

// Sub returns the counts of st less those of before: what was read in between.
func (st ScanStats) Sub(before ScanStats) ScanStats {
	return ScanStats{Records: st.Records - before.Records, Decoded: st.Decoded - before.Decoded,
		Yielded: st.Yielded - before.Yielded, OtherTimeForm: st.OtherTimeForm - before.OtherTimeForm,
		RecordErrors: st.RecordErrors - before.RecordErrors, InputErrors: st.InputErrors - before.InputErrors,
		Input: st.Input - before.Input, Bytes: st.Bytes - before.Bytes}
}

// Records reads r, named name in errors, and yields the wanted records and every error, with
// the contract of the package-level Records.
func (s *Scanner) Records(name string, r io.Reader) iter.Seq2[*Record, error] {
	return func(yield func(*Record, error) bool) {
		p := &parser{name: name, yield: yield, scan: s}
		p.run(r)
	}
}

// pending is a record of a log file waiting to be decoded.
type undecodedRecord struct{ start, end, index int }

// wants asks Want about a record.
func (s *Scanner) wants(rec *Record) bool { return s.Want == nil || s.Want(rec) }

// logFile is the fast path for a log file held on one line (data, without blanks around it).
// It first skims the whole document — if any of it is not valid JSON, or is shaped in a way the
// parser's stream would report, it returns false having yielded nothing, and the parser reads
// the line the ordinary way — then decodes the records whose heads Want accepted, and those
// whose heads it could not vouch for, through the parser's record.
func (s *Scanner) logFile(p *parser, data []byte, at Position) bool {
	h := &s.heads
	h.jsonText = newJSONText(data)
	defer func() { h.jsonText, h.rec, h.session = jsonText{}, Record{}, SessionContext{} }() // keep no pointer into the buffer
	s.undecoded = s.undecoded[:0]
	skipped, skippedOtherTime := 0, 0
	i := skipBlanks(data, 0)
	if i >= len(data) || data[i] != '{' {
		return false
	}
	for i = skipBlanks(data, i+1); ; {
		if i >= len(data) || data[i] != '"' {
			return false // not a key, or {}: no Records
		}
		end, escaped, _ := h.stringEnd(i + 1)
		if end < 0 || escaped {
			return false
		}
		key := data[i+1 : end-1]
		if i = skipBlanks(data, end); i >= len(data) || data[i] != ':' {
			return false
		}
		i = skipBlanks(data, i+1)
		switch {
		case string(key) != "Records":
			if i, _ = h.skim(i); i < 0 {
				return false
			}
		case i >= len(data) || data[i] != '[':
			return false
		default:
			if i = skipBlanks(data, i+1); i < len(data) && data[i] == ']' {
				i++
				break
			}
			for index := 0; ; index++ {
				start := i
				end, vouched := h.read(i)
				if end < 0 {
					return false
				}
				if vouched {
					h.rec.Pos = Position{Name: at.Name, Line: at.Line, Index: index}
				}
				if vouched && !s.wants(&h.rec) {
					skipped++
					if h.otherTimeForm {
						skippedOtherTime++
					}
				} else {
					s.undecoded = append(s.undecoded, undecodedRecord{start, end, index})
				}
				if i = end; i < len(data) && data[i] <= ' ' {
					i = skipBlanks(data, i)
				}
				if i < len(data) && data[i] == ',' {
					i = skipBlanks(data, i+1)
					continue
				}
				if i >= len(data) || data[i] != ']' {
					return false
				}
				i++
				break
			}
		}
		if i = skipBlanks(data, i); i < len(data) && data[i] == ',' {
			i = skipBlanks(data, i+1)
			continue
		}
		if i >= len(data) || data[i] != '}' {
			return false
		}
		if skipBlanks(data, i+1) != len(data) {
			return false // more after the log file on its line
		}
		break
	}

	p.sawJSON()
	s.records.Add(int64(skipped))
	s.otherTimeForm.Add(int64(skippedOtherTime))
	for _, t := range s.undecoded {
		if p.stopped {
			break
		}
		p.record(data[t.start:t.end], Position{Name: at.Name, Line: at.Line, Index: t.index}, "")
	}
	return true
}

// countingReader counts the bytes read through it into n, and into also when that is set.
type countingReader struct {
	r       io.Reader
	n, also *atomic.Int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n.Add(int64(n))
	if c.also != nil {
		c.also.Add(int64(n))
	}
	return n, err
}

// readBuffer is the size of a Scanner's buffers between the input, the decompressor and the
// parser: large enough that a read costs little next to the bytes it brings, small enough to
// stay in the cache while the parser reads what it brought.
const readBuffer = 64 << 10

// outBuffer is the size of a Scanner's buffer of decompressed JSON: large enough to hold a
// typical log file (a few hundred KB) whole, so that its one line is read where the
// decompressor put it (see readLine) instead of being copied out piece by piece. A longer line
// is gathered as before.
const outBuffer = 1 << 20

// open sets up the reading of r: the buffered JSON text, and whether r is gzip-compressed (told
// by its magic bytes). A Scanner reuses its buffers and decompressor, and counts bytes.
func (p *parser) open(r io.Reader) (br *bufio.Reader, gzipped bool, err error) {
	s := p.scan
	if s == nil {
		br = bufio.NewReaderSize(r, 64<<10)
		if !isGzip(br) {
			return br, false, nil
		}
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, true, err
		}
		return bufio.NewReaderSize(zr, 64<<10), true, nil
	}

	in := &countingReader{r: r, n: &s.input}
	if s.in == nil {
		s.in = bufio.NewReaderSize(in, readBuffer)
	} else {
		s.in.Reset(in)
	}
	if !isGzip(s.in) {
		// The input is the JSON text: what Peek read so far, and all that follows.
		s.bytes.Add(int64(s.in.Buffered()))
		in.also = &s.bytes
		return s.in, false, nil
	}
	if s.zr == nil {
		s.zr, err = gzip.NewReader(s.in)
	} else {
		err = s.zr.Reset(s.in)
	}
	if err != nil {
		return nil, true, err
	}
	out := &countingReader{r: s.zr, n: &s.bytes}
	if s.out == nil {
		s.out = bufio.NewReaderSize(out, outBuffer)
	} else {
		s.out.Reset(out)
	}
	return s.out, true, nil
}

func isGzip(br *bufio.Reader) bool {
	magic, _ := br.Peek(2)
	return len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b
}

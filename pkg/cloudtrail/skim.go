package cloudtrail

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"unsafe"
)

// The skimmer checks JSON text and finds its parts without decoding it. It accepts no more than
// encoding/json does (json.Valid): strings, escapes, numbers, literals and nesting are checked
// to the grammar, so that a document it accepts reads the same through encoding/json. It
// accepts less in one place: nesting deeper than maxSkimDepth, which sends the document to
// encoding/json to be judged. Invalid UTF-8 is accepted, as json.Valid accepts it, and reported
// (nonASCII) so that a record can be checked the way the parser checks it.
//
// Most of a CloudTrail record's bytes are inside strings, so strings are read eight bytes at a
// time (stringEnd); the bytes between them are few. The functions take the text and an offset
// and return the offset after what they read, or -1 if it is not valid JSON.

// maxSkimDepth is the deepest nesting the skimmer follows, the width of its stack. CloudTrail
// records nest a few levels; deeper input is left to encoding/json (whose own limit is 10000).
const maxSkimDepth = 64

const (
	everyByte01 = 0x0101010101010101
	everyByte80 = 0x8080808080808080
)

// plainStringByte says which bytes need no attention inside a string.
var plainStringByte = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// stringEnd reads the rest of a string whose content begins at i (after the opening quote) and
// returns the offset after the closing quote, whether the string holds an escape, and whether
// it holds a byte ≥ 0x80.
func stringEnd(b []byte, i int) (end int, escaped, nonASCII bool) {
	for {
		for i+8 <= len(b) {
			x := binary.LittleEndian.Uint64(b[i:])
			// Flags quotes, backslashes, control characters and bytes ≥ 0x80. The lowest flag
			// is exact: below the first such byte no subtraction borrows or sets a high bit.
			m := ((x ^ (everyByte01 * '"')) - everyByte01) | ((x ^ (everyByte01 * '\\')) - everyByte01) | (x - everyByte01*0x20) | x
			m &= everyByte80
			if m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				goto special
			}
			i += 8
		}
		for i < len(b) && plainStringByte[b[i]] {
			i++
		}
		if i >= len(b) {
			return -1, false, false
		}
	special:
		switch c := b[i]; {
		case c == '"':
			return i + 1, escaped, nonASCII
		case c == '\\':
			escaped = true
			if i+1 >= len(b) {
				return -1, false, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return -1, false, false
				}
				i += 6
			default:
				return -1, false, false
			}
		case c < 0x20:
			return -1, false, false
		default: // ≥ 0x80
			nonASCII = true
			i++
			// Skip the rest of a run of such bytes (text in another script) a word at a time.
			for i+8 <= len(b) {
				x := binary.LittleEndian.Uint64(b[i:])
				if (((x^(everyByte01*'"'))-everyByte01)|((x^(everyByte01*'\\'))-everyByte01)|(x-everyByte01*0x20))&^x&everyByte80 != 0 {
					break
				}
				i += 8
			}
		}
	}
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

// text is a document being skimmed, with where its next backslash is. Most strings of a log
// file hold no backslash and nothing outside printable ASCII, and up to the next backslash the
// end of such a string is the first quote, found eight bytes at a time with less work than
// stringEnd does; a string that holds a backslash or another byte is read by stringEnd. The
// backslashes are found with bytes.IndexByte, each search going on from where the last one
// stopped, so that together they read each byte once.
type jsonText struct {
	b             []byte
	nextBackslash int // offset of the next '\\' at or after the last string read; -1 before the first look
}

func newJSONText(b []byte) jsonText { return jsonText{b: b, nextBackslash: -1} }

var stringMasks = [4]uint64{everyByte01 * '"', everyByte01, everyByte01 * 0x20, everyByte80}

// stringEnd is the package's stringEnd, for a string whose content begins at i.
func (t *jsonText) stringEnd(i int) (end int, escaped, nonASCII bool) {
	b := t.b
	if t.nextBackslash < i {
		if t.nextBackslash = bytes.IndexByte(b[min(i, len(b)):], '\\'); t.nextBackslash < 0 {
			t.nextBackslash = len(b)
		} else {
			t.nextBackslash += i
		}
	}
	s := b[:t.nextBackslash]
	j := i
	p := unsafe.Pointer(unsafe.SliceData(s))
	// The masks are read into registers once: as constants, the compiler would build each of
	// them again for every word.
	quotes, one, lows, hi := stringMasks[0], stringMasks[1], stringMasks[2], stringMasks[3]
	for ; j+8 <= len(s); j += 8 {
		// Flags quotes, control characters and bytes ≥ 0x80 (no backslash comes before t.nextBackslash);
		// the lowest flag is exact.
		x := load64(p, j)
		m := x | (x - lows)
		m |= (x ^ quotes) - one
		if m &= hi; m != 0 {
			if j += bits.TrailingZeros64(m) >> 3; s[j] == '"' {
				return j + 1, false, false
			}
			return stringEnd(b, i)
		}
	}
	for ; j < len(s); j++ {
		if c := s[j]; c == '"' {
			return j + 1, false, false
		} else if c < 0x20 || c >= 0x80 {
			break
		}
	}
	return stringEnd(b, i)
}

// skim reads one value of any kind at b[i] (no whitespace before it) and returns the offset
// after it, and whether a string in it holds a byte ≥ 0x80.
func (t *jsonText) skim(i int) (end int, nonASCII bool) {
	b := t.b
	var stack uint64 // a bit per open container: 1 for an object, 0 for an array
	depth := 0
value:
	if i >= len(b) {
		return -1, false
	}
	switch b[i] {
	case '"':
		var h bool
		if i, _, h = t.stringEnd(i + 1); i < 0 {
			return -1, false
		}
		nonASCII = nonASCII || h
	case '{':
		if depth == maxSkimDepth {
			return -1, false
		}
		depth++
		stack = stack<<1 | 1
		if i = skipBlanks(b, i+1); i < len(b) && b[i] == '}' {
			i++
			depth--
			stack >>= 1
			break
		}
		goto key
	case '[':
		if depth == maxSkimDepth {
			return -1, false
		}
		depth++
		stack <<= 1
		if i = skipBlanks(b, i+1); i < len(b) && b[i] == ']' {
			i++
			depth--
			stack >>= 1
			break
		}
		goto value
	case 't':
		if i = literal(b, i, "true"); i < 0 {
			return -1, false
		}
	case 'f':
		if i = literal(b, i, "false"); i < 0 {
			return -1, false
		}
	case 'n':
		if i = literal(b, i, "null"); i < 0 {
			return -1, false
		}
	default:
		if i = number(b, i); i < 0 {
			return -1, false
		}
	}
	// after a value
	for depth > 0 {
		if i < len(b) && b[i] <= ' ' {
			i = skipBlanks(b, i)
		}
		if i >= len(b) {
			return -1, false
		}
		switch c := b[i]; {
		case c == ',':
			i = skipBlanks(b, i+1)
			if stack&1 != 0 {
				goto key
			}
			goto value
		case c == '}' && stack&1 != 0, c == ']' && stack&1 == 0:
			i++
			depth--
			stack >>= 1
		default:
			return -1, false
		}
	}
	return i, nonASCII
key:
	if i >= len(b) || b[i] != '"' {
		return -1, false
	}
	var h bool
	if i, _, h = t.stringEnd(i + 1); i < 0 {
		return -1, false
	}
	nonASCII = nonASCII || h
	if i < len(b) && b[i] <= ' ' {
		i = skipBlanks(b, i)
	}
	if i >= len(b) || b[i] != ':' {
		return -1, false
	}
	i = skipBlanks(b, i+1)
	goto value
}

func literal(b []byte, i int, word string) int {
	if len(b)-i < len(word) || string(b[i:i+len(word)]) != word {
		return -1
	}
	return i + len(word)
}

// number reads -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? at b[i]. Whatever follows is the
// caller's to judge.
func number(b []byte, i int) int {
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		i = digits(b, i)
	default:
		return -1
	}
	if i < len(b) && b[i] == '.' {
		j := digits(b, i+1)
		if j == i+1 {
			return -1
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(b, i)
		if j == i {
			return -1
		}
		i = j
	}
	return i
}

func digits(b []byte, i int) int {
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		i++
	}
	return i
}

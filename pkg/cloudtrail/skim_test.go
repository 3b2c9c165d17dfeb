package cloudtrail

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestStringEnd puts each kind of byte stringEnd must stop at at every offset of the eight-byte
// words it reads, after and before plain bytes, so that the word-at-a-time search is checked
// at every position of its lowest-flag rule.
func TestStringEnd(t *testing.T) {
	specials := []struct {
		name, s      string
		escaped, bad bool
		nonASCII     bool
	}{
		{"escaped quote", `\"`, true, false, false},
		{"escaped backslash", `\\`, true, false, false},
		{"escaped slash", `\/`, true, false, false},
		{"newline escape", `\n`, true, false, false},
		{"unicode escape", `\u00e9`, true, false, false},
		{"bad escape", `\x`, false, true, false},
		{"short unicode escape", `\u12"`, false, true, false},
		{"control character", "\x01", false, true, false},
		{"tab", "\t", false, true, false},
		{"two-byte UTF-8", "é", false, false, true},
		{"three-byte UTF-8", "日本語", false, false, true},
		{"invalid UTF-8", "\xff", false, false, true},
		{"DEL", "\x7f", false, false, false},
		{"space", " ", false, false, false},
	}
	for _, sp := range specials {
		for before := 0; before < 17; before++ {
			for _, after := range []int{0, 3, 9} {
				content := strings.Repeat("a", before) + sp.s + strings.Repeat("b", after)
				doc := `"` + content + `"` + ` tail`
				end, escaped, nonASCII := stringEnd([]byte(doc), 1)
				tx := newJSONText([]byte(doc))
				if e2, esc2, nonASCII2 := tx.stringEnd(1); e2 != end || esc2 != escaped || nonASCII2 != nonASCII {
					t.Errorf("%s at %d: jsonText.stringEnd says %d %v %v, stringEnd %d %v %v", sp.name, before, e2, esc2, nonASCII2, end, escaped, nonASCII)
				}
				if sp.bad {
					if end != -1 {
						t.Errorf("%s at %d: end %d, want -1 (invalid)", sp.name, before, end)
					}
					continue
				}
				if want := len(content) + 2; end != want || escaped != sp.escaped || nonASCII != sp.nonASCII {
					t.Errorf("%s at %d, %d after: end %d escaped %v nonASCII %v; want %d %v %v", sp.name, before, after, end, escaped, nonASCII, want, sp.escaped, sp.nonASCII)
				}
				if !json.Valid([]byte(doc[:end])) {
					t.Errorf("%s at %d: accepted %q, which encoding/json refuses", sp.name, before, doc[:end])
				}
			}
		}
	}
	for _, unterminated := range []string{`"abc`, `"abcdefghijklmnop`, `"abc\"`, `"abc\`, `"\u00`} {
		tx := newJSONText([]byte(unterminated))
		if end, _, _ := tx.stringEnd(1); end != -1 {
			t.Errorf("%q: jsonText.stringEnd end %d, want -1", unterminated, end)
		}
		if end, _, _ := stringEnd([]byte(unterminated), 1); end != -1 {
			t.Errorf("%q: end %d, want -1", unterminated, end)
		}
	}
}

// TestSkimAgreesWithEncodingJSON checks skim against json.Valid on values of every kind, valid
// and not.
func TestSkimAgreesWithEncodingJSON(t *testing.T) {
	for _, v := range skimValues {
		tx := newJSONText([]byte(v))
		end, _ := tx.skim(skipBlanks([]byte(v), 0))
		ok := end >= 0 && skipBlanks([]byte(v), end) == len(v)
		if ok && !json.Valid([]byte(v)) {
			t.Errorf("skim accepts %q, which encoding/json refuses", v)
		}
		if !ok && json.Valid([]byte(v)) && !strings.HasPrefix(v, strings.Repeat("[", 64)) {
			t.Errorf("skim refuses %q, which encoding/json accepts", v)
		}
	}
}

// skimValues are JSON values of every kind, valid and not.
var skimValues = []string{
	`{}`, `[]`, `{"a":1}`, `[1,2,3]`, `{"a":{"b":[true,false,null,"x",-0.5e+3]}}`, ` { "a" : [ 1 , 2 ] } `,
	`0`, `-0`, `1.5`, `1e9`, `1E-9`, `-12.25e+07`, `"x"`, `true`, `false`, `null`,
	`01`, `-`, `1.`, `.5`, `1e`, `1e+`, `+1`, `tru`, `nul`, `falsy`, `{"a"}`, `{"a":}`, `{"a":1,}`, `[1,]`, `[,1]`,
	`{a:1}`, `{"a":1 "b":2}`, `["a" "b"]`, `{"a":[}`, `[{]`, `{"a":1]`, `[1}`, `"\q"`, `{"\u12":1}`,
	strings.Repeat("[", 64) + strings.Repeat("]", 64), `[` + strings.Repeat(`{"a":`, 30) + `1` + strings.Repeat(`}`, 30) + `]`,
}

// FuzzSkim: skim never accepts what encoding/json refuses, and refuses what it accepts only for
// nesting deeper than its stack.
func FuzzSkim(f *testing.F) {
	seeds := seedsOf("fuzz", `{"a":[1,"b\u00e9",{"c":null}]}`, `[1,2`, `"\ud800"`, `-0.0e-0`, "\"\x01\"", `{"a":tru}`,
		strings.Repeat("[", maxSkimDepth+1)+strings.Repeat("]", maxSkimDepth+1), `"\u12"`, "\"é\xff\"")
	seeds = append(seeds, seedsOf("value", skimValues...)...)
	seeds = append(seeds, sharedEventSeeds(f)...)
	addSeeds(f, seeds)
	f.Fuzz(func(t *testing.T, data []byte) {
		tx := newJSONText(data)
		end, _ := tx.skim(skipBlanks(data, 0))
		ok := end >= 0 && skipBlanks(data, end) == len(data)
		valid := json.Valid(data)
		if ok && !valid {
			t.Fatalf("skim accepts %q, which encoding/json refuses", data)
		}
		if !ok && valid && !strings.Contains(string(data), strings.Repeat("[", maxSkimDepth/2)) && maxDepth(data) <= maxSkimDepth {
			t.Fatalf("skim refuses %q, which encoding/json accepts", data)
		}
	})
}

// maxDepth is how deep data's brackets nest, ignoring strings.
func maxDepth(data []byte) int {
	depth, most, inString := 0, 0, false
	for i := 0; i < len(data); i++ {
		switch c := data[i]; {
		case inString && c == '\\':
			i++
		case c == '"':
			inString = !inString
		case inString:
		case c == '{' || c == '[':
			depth++
			most = max(most, depth)
		case c == '}' || c == ']':
			depth--
		}
	}
	return most
}

package cloudtrail

import (
	"strings"
	"testing"
)

// TestIdentityMemoIsUsed checks that the memo remembers a record's userIdentity and reads the
// next copy from it (scannerInputs' "identities remembered" checks that what it reads is right),
// and that it remembers neither a short value, nor one over memoMaxBytes, nor one with an escape.
func TestIdentityMemoIsUsed(t *testing.T) {
	r2 := record("AttachUserPolicy", "id-2")
	long := edit(t, r2, `"userName":"alice"}`, `"userName":"alice","x":"`+strings.Repeat("y", memoMaxBytes)+`"}`)
	escaped := edit(t, r2, `"alice"}`, `"al\"ice"}`)
	short := consoleLogin("l") // its userIdentity is under memoMinBytes bytes
	for _, c := range []struct {
		name    string
		records []string
		kept    int // values remembered
	}{
		{"repeated", []string{r2, r2, r2}, 1},
		{"two callers", []string{r2, escaped, edit(t, r2, `"userName":"alice"}`, `"userName":"bobby"}`), r2}, 2},
		{"over memoMaxBytes", []string{long, long}, 0},
		{"short", []string{short, short}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := &headReader{}
			doc := []byte(logFile(c.records...))
			h.jsonText = newJSONText(doc)
			i := len(`{"Records":[`)
			for range c.records {
				end, vouched := h.read(i)
				if end < 0 || !vouched {
					t.Fatalf("record at %d: end %d, vouched %v", i, end, vouched)
				}
				i = end + 1
			}
			kept := 0
			for _, set := range h.memo.sets {
				for _, e := range set {
					if len(e.value) > 0 {
						kept++
					}
				}
			}
			if kept != c.kept {
				t.Fatalf("memo holds %d values, want %d", kept, c.kept)
			}
		})
	}
}

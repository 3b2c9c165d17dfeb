// Package textdiff says where two texts part, for tests that hold one output to another byte
// for byte and must show the difference, not the whole of both.
package textdiff

import (
	"fmt"
	"strings"
)

// First is the first line where got and want differ, with its number and both line counts,
// each side cut at 300 bytes; "(same)" when they do not.
func First(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range max(len(g), len(w)) {
		var a, b string
		if i < len(g) {
			a = g[i]
		}
		if i < len(w) {
			b = w[i]
		}
		if a != b {
			return fmt.Sprintf("line %d (of %d, want %d):\n got  %.300s\n want %.300s", i+1, len(g), len(w), a, b)
		}
	}
	return "(same)"
}

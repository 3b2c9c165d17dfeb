// Package textwrap breaks text into lines that fit a terminal: the CLI's help and listings.
package textwrap

import (
	"strings"
	"unicode/utf8"
)

// Lines breaks text at spaces into lines of at most width columns, the first starting with
// first and the others with indent (both counted in the width). A word longer than a line
// stands alone on its line: nothing is cut.
func Lines(text, first, indent string, width int) []string {
	var lines []string
	line, fresh := first, true
	for _, word := range strings.Fields(text) {
		if !fresh && utf8.RuneCountInString(line)+1+utf8.RuneCountInString(word) > width {
			lines = append(lines, line)
			line, fresh = indent, true
		}
		if !fresh {
			line += " "
		}
		line += word
		fresh = false
	}
	return append(lines, line)
}

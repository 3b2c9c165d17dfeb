package textwrap

import (
	"slices"
	"testing"
)

func TestLines(t *testing.T) {
	tests := []struct {
		name, text, first, indent string
		width                     int
		want                      []string
	}{
		{"fits", "a b c", "", "", 80, []string{"a b c"}},
		{"breaks at spaces", "alpha beta gamma", "", "  ", 11, []string{"alpha beta", "  gamma"}},
		{"first line prefix counts", "alpha beta", "ID: ", "    ", 10, []string{"ID: alpha", "    beta"}},
		{"long word stands alone", "a verylongwordindeed b", "", "", 5, []string{"a", "verylongwordindeed", "b"}},
		{"runes, not bytes", "ééééé ééééé", "", "", 11, []string{"ééééé ééééé"}},
		{"empty", "", "  ", "  ", 10, []string{"  "}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Lines(tc.text, tc.first, tc.indent, tc.width); !slices.Equal(got, tc.want) {
				t.Errorf("Lines(%q, %d) = %q, want %q", tc.text, tc.width, got, tc.want)
			}
		})
	}
}

package bytesize

import "testing"

func TestParse(t *testing.T) {
	for in, want := range map[string]int64{"1500": 1500, "2MB": 2e6, "1.5GB": 1.5e9, "1GiB": 1 << 30, "10KiB": 10240, "3B": 3} {
		if got, err := Parse(in); err != nil || got != want {
			t.Errorf("Parse(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "MB", "-1MB", "0", "1TB"} {
		if _, err := Parse(in); err == nil {
			t.Errorf("Parse(%q) accepted", in)
		}
	}
}

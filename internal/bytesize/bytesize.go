// Package bytesize reads the sizes people write on a command line: 1500000, 1.5MB, 2GiB.
package bytesize

import (
	"fmt"
	"strconv"
	"strings"
)

// Parse reads a positive size: bytes, or with KB, MB, GB (powers of 1000), KiB, MiB, GiB
// (powers of 1024) or B.
func Parse(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   float64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1}}
	mult := 1.0
	for _, u := range units {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = v, u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("%q is not a size", s)
	}
	return int64(v * mult), nil
}

package policy

import (
	"fmt"
	"strings"
)

// didYouMean is ` (did you mean "x"?)` for the candidate nearest to typed, or "" when none is
// near: a near miss is worth naming, a guess is not.
func didYouMean(typed string, candidates []string) string {
	if best := nearest(typed, candidates); best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return ""
}

// nearest is the candidate nearest to typed, the first of equals; "" when none is near.
func nearest(typed string, candidates []string) string {
	best, bestScore := "", -1
	for _, c := range candidates {
		if s, ok := nearness(typed, c); ok && (bestScore < 0 || s < bestScore) {
			best, bestScore = c, s
		}
	}
	return best
}

// nearness scores how far typed is from candidate, case aside, and whether that is near: the
// edit distance (two neighbouring letters swapped count one) when small for the length; else,
// for names of words joined by - or _, every typed word near a word of the candidate, in order,
// each word left out counting one ("root-sigin" for "root-console-signin").
func nearness(typed, candidate string) (int, bool) {
	if len(typed) > 2*len(candidate)+8 {
		return 0, false // far longer: not a near miss, and a hostile megabyte key is not copied
	}
	a, b := []rune(strings.ToLower(typed)), []rune(strings.ToLower(candidate))
	if d, ok := near(a, b); ok {
		return d, true
	}
	return wordwise(string(a), string(b))
}

// near is the edit distance of a and b, when it is within what their length allows.
func near(a, b []rune) (int, bool) {
	limit := allowedEdits(min(len(a), len(b)))
	if abs(len(a)-len(b)) > limit {
		return 0, false // the distance is at least this: spare a long hostile key the table
	}
	d := editDistance(a, b)
	return d, d <= limit
}

// allowedEdits is how many edits still make a near miss for a name of n letters.
func allowedEdits(n int) int {
	switch {
	case n <= 2:
		return 0
	case n <= 4:
		return 1
	case n <= 8:
		return 2
	}
	return 3
}

func wordwise(typed, candidate string) (int, bool) {
	split := func(s string) []string {
		return strings.FieldsFunc(s, func(r rune) bool { return r == '-' || r == '_' })
	}
	tw, cw := split(typed), split(candidate)
	if len(tw) < 2 || len(tw) > len(cw) {
		return 0, false
	}
	score, j := 0, 0
	for _, w := range tw {
		for ; j < len(cw); j++ {
			if d, ok := near([]rune(w), []rune(cw[j])); ok {
				score += d
				break
			}
		}
		if j == len(cw) {
			return 0, false
		}
		j++
	}
	return score + len(cw) - len(tw), true
}

// editDistance is the optimal string alignment distance: insertions, deletions, substitutions
// and swaps of neighbours, one each.
func editDistance(a, b []rune) int {
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

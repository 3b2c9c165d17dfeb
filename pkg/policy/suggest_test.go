package policy

import "testing"

// TestDidYouMean: a near miss is named, a guess is not.
func TestDidYouMean(t *testing.T) {
	keys := []string{"mode", "rules", "allow", "protect", "slack", "undo_grace", "self_role_arns"}
	rules := []string{"root-console-signin", "access-key-created", "mfa-deactivated", "console-auth-failure"}
	for _, tc := range []struct {
		typed      string
		candidates []string
		want       string
	}{
		{"mdoe", keys, "mode"},      // two letters swapped
		{"Mode", keys, "mode"},      // case
		{"modes", keys, "mode"},     // one letter more
		{"protct", keys, "protect"}, // one letter less
		{"undo-grace", keys, "undo_grace"},
		{"self_roles_arn", keys, "self_role_arns"},
		{"root-sigin", rules, "root-console-signin"}, // a word left out, another misspelt
		{"access-keys-created", rules, "access-key-created"},
		{"console-auth-failures", rules, "console-auth-failure"},
		{"bogus", keys, ""},
		{"md", keys, ""}, // too short to guess from
		{"root", rules, ""},
		{"no-such-rule", rules, ""},
		{"console-signin-failure", rules, ""}, // words out of order
	} {
		if got := nearest(tc.typed, tc.candidates); got != tc.want {
			t.Errorf("nearest(%q) = %q, want %q", tc.typed, got, tc.want)
		}
	}
}

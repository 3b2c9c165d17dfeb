package audit

import (
	"slices"
	"testing"

	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
)

func res(check string, sev detect.Severity, account, resource string, status Status) Result {
	return Result{Check: check, Severity: sev, Account: account, Resource: resource, Status: status}
}

func keys(rs []Result) []string {
	out := []string{}
	for _, r := range rs {
		out = append(out, r.Key())
	}
	return out
}

func TestCompare(t *testing.T) {
	const a, b = "111111111111", "222222222222"
	alice := "arn:aws:iam::" + a + ":user/alice"
	bob := "arn:aws:iam::" + a + ":user/bob"
	root := "arn:aws:iam::" + a + ":root"
	for _, tc := range []struct {
		name                                    string
		previous, current                       []Result
		newly, fixed, still, unknown, newErrors []string
		changed                                 bool
	}{
		{
			name:      "first run: every failure is new",
			current:   []Result{res("user-mfa", detect.High, a, alice, Fail), res("root-mfa", detect.Critical, a, root, Fail), res("user-mfa", detect.High, a, bob, Pass), res("root-usage", detect.Medium, a, root, Error)},
			newly:     []string{"root-mfa|" + a + "|" + root, "user-mfa|" + a + "|" + alice},
			newErrors: []string{"root-usage|" + a + "|" + root},
			changed:   true,
		},
		{
			name:     "nothing changed",
			previous: []Result{res("user-mfa", detect.High, a, alice, Fail), res("user-mfa", detect.High, a, bob, Pass), res("root-usage", detect.Medium, a, root, Error)},
			current:  []Result{res("user-mfa", detect.High, a, alice, Fail), res("user-mfa", detect.High, a, bob, Pass), res("root-usage", detect.Medium, a, root, Error)},
			still:    []string{"user-mfa|" + a + "|" + alice},
		},
		{
			name:     "fixed, newly failing, and a user gone",
			previous: []Result{res("user-mfa", detect.High, a, alice, Fail), res("user-mfa", detect.High, a, bob, Pass), res("key-rotation", detect.Medium, a, bob, Fail)},
			current:  []Result{res("user-mfa", detect.High, a, alice, Pass), res("user-mfa", detect.High, a, bob, Fail)},
			newly:    []string{"user-mfa|" + a + "|" + bob},
			fixed:    []string{"user-mfa|" + a + "|" + alice, "key-rotation|" + a + "|" + bob},
			changed:  true,
		},
		{
			name:      "a check that could not run leaves its failures unknown",
			previous:  []Result{res("user-mfa", detect.High, a, alice, Fail), res("root-mfa", detect.Critical, a, root, Fail)},
			current:   []Result{res("user-mfa", detect.High, a, root, Error), res("root-mfa", detect.Critical, a, root, Error)},
			unknown:   []string{"root-mfa|" + a + "|" + root, "user-mfa|" + a + "|" + alice},
			newErrors: []string{"root-mfa|" + a + "|" + root, "user-mfa|" + a + "|" + root},
			changed:   true,
		},
		{
			name:      "an unreachable account leaves all its failures unknown, not the other account's",
			previous:  []Result{res("user-mfa", detect.High, a, alice, Fail), res("user-mfa", detect.High, b, "arn:aws:iam::"+b+":user/dan", Fail)},
			current:   []Result{res("account-access", detect.High, a, root, Error)},
			unknown:   []string{"user-mfa|" + a + "|" + alice},
			fixed:     []string{"user-mfa|" + b + "|arn:aws:iam::" + b + ":user/dan"},
			newErrors: []string{"account-access|" + a + "|" + root},
			changed:   true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prevCopy, curCopy := slices.Clone(tc.previous), slices.Clone(tc.current)
			d := Compare(tc.previous, tc.current)
			for _, c := range []struct {
				what      string
				got, want []string
			}{{"newly failing", keys(d.NewlyFailing), tc.newly}, {"fixed", keys(d.Fixed), tc.fixed}, {"still failing", keys(d.StillFailing), tc.still}, {"unknown", keys(d.Unknown), tc.unknown}, {"new errors", keys(d.NewErrors), tc.newErrors}} {
				if c.want == nil {
					c.want = []string{}
				}
				if !slices.Equal(c.got, c.want) {
					t.Errorf("%s: %v, want %v", c.what, c.got, c.want)
				}
			}
			if d.Changed() != tc.changed {
				t.Errorf("Changed() = %v, want %v", d.Changed(), tc.changed)
			}
			if !slices.Equal(tc.previous, prevCopy) || !slices.Equal(tc.current, curCopy) {
				t.Error("Compare changed its arguments")
			}
		})
	}
}

func TestSortWorstFirst(t *testing.T) {
	rs := []Result{
		res("b", detect.Low, "1", "x", Pass),
		res("a", detect.Low, "1", "x", Fail),
		res("c", detect.Critical, "1", "x", Error),
		res("d", detect.Critical, "1", "x", Fail),
		res("e", detect.Critical, "1", "x", NotApplicable),
		res("a", detect.Low, "0", "x", Fail),
	}
	SortWorstFirst(rs)
	got := []string{}
	for _, r := range rs {
		got = append(got, r.Check+r.Account)
	}
	if want := []string{"d1", "a0", "a1", "c1", "b1", "e1"}; !slices.Equal(got, want) {
		t.Errorf("order %v, want %v", got, want)
	}
}

func TestExitCode(t *testing.T) {
	high, critical, low := detect.High, detect.Critical, detect.Low
	failHigh := res("user-mfa", detect.High, "1", "x", Fail)
	errored := res("root-mfa", detect.Critical, "1", "x", Error)
	passed := res("root-mfa", detect.Critical, "1", "y", Pass)
	for _, tc := range []struct {
		name    string
		results []Result
		failOn  *detect.Severity
		want    int
	}{
		{"clean", []Result{passed}, nil, ExitOK},
		{"failures without --fail-on", []Result{failHigh, passed}, nil, ExitOK},
		{"a check errored", []Result{passed, errored}, nil, ExitErrored},
		{"failure at the threshold", []Result{failHigh}, &high, ExitFailedOn},
		{"failure above the threshold", []Result{failHigh}, &low, ExitFailedOn},
		{"failure below the threshold", []Result{failHigh}, &critical, ExitOK},
		{"failure below the threshold and an error", []Result{failHigh, errored}, &critical, ExitErrored},
		{"a finding beats an incomplete audit", []Result{errored, failHigh}, &high, ExitFailedOn},
		{"an error is no failure, whatever its severity", []Result{errored}, &low, ExitErrored},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ExitCode(tc.results, tc.failOn); got != tc.want {
				t.Errorf("ExitCode = %d, want %d", got, tc.want)
			}
		})
	}
}

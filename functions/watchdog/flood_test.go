package main

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	eventstestdata "github.com/iam-watchdog/iam-watchdog/events-testdata"
	"github.com/iam-watchdog/iam-watchdog/internal/lambdatest"
	"github.com/iam-watchdog/iam-watchdog/internal/slackserver"
)

// TestBootstrapFloodNeverBuriesAWorseFinding: through the real bootstrap, with the local Slack
// refusing some requests (HTTP 500 and 429 with Retry-After), a root sign-in without MFA minutes
// after one with MFA is posted anew rather than folded into the first message, the failed root
// sign-in after it is listed in its message with what sets it apart, and a second inline policy
// on a user is listed beside the first. Every event is named in exactly one accepted message (or
// its updates), and none is posted twice.
func TestBootstrapFloodNeverBuriesAWorseFinding(t *testing.T) {
	bootstrap := lambdatest.Build(t, "./functions/watchdog")
	d := deploy(t)
	slack := slackserver.Start(t)
	slack.Inject(
		slackserver.Fault{Method: "chat.postMessage", Failure: slackserver.Failure{Status: http.StatusInternalServerError}},
		slackserver.Fault{Method: "chat.update", Failure: slackserver.Failure{Status: http.StatusTooManyRequests, RetryAfter: "1"}},
		slackserver.Fault{Method: "chat.postMessage", Skip: 2, Failure: slackserver.Failure{Status: http.StatusTooManyRequests, RetryAfter: "1"}},
		slackserver.Fault{Method: "chat.update", Skip: 1, Failure: slackserver.Failure{Status: http.StatusInternalServerError}},
	)
	fn := d.start(t, bootstrap, slack, "dry-run")
	retries := maxRetryAttempts(t)

	event := func(name, id, ip string, edit func(map[string]any)) []byte {
		t.Helper()
		ev, err := eventstestdata.Event(name, func(detail map[string]any) {
			detail["eventID"], detail["sourceIPAddress"] = id, ip
			if edit != nil {
				edit(detail)
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		return ev
	}
	secondPolicy := func(detail map[string]any) {
		detail["requestParameters"].(map[string]any)["policyName"] = "second-policy"
	}
	events := []struct {
		id    string
		event []byte
	}{
		{"root-mfa-0001", event("root_signin/alert-root-success-mfa.json", "root-mfa-0001", "198.51.100.10", nil)},
		{"root-nomfa-0002", event("root_signin/alert-root-success-no-mfa.json", "root-nomfa-0002", "203.0.113.66", nil)},
		{"root-failed-0003", event("root_signin/alert-root-failure.json", "root-failed-0003", "203.0.113.67", nil)},
		{"inline-one-0004", event("user_policy_attached/alert-put-inline-narrow.json", "inline-one-0004", "198.51.100.88", nil)},
		{"inline-two-0005", event("user_policy_attached/alert-put-inline-narrow.json", "inline-two-0005", "198.51.100.88", secondPolicy)},
	}
	for _, e := range events {
		if dead := lambdaAsync(t, fn, "req-"+e.id, e.event, retries, nil); dead != "" {
			t.Fatalf("%s ended in the dead-letter queue: %s", e.id, dead)
		}
	}
	if slack.Refused() != 4 {
		t.Errorf("the local Slack refused %d requests, want the 4 injected", slack.Refused())
	}

	posts := slack.Posts()
	if len(posts) != 3 {
		for _, p := range posts {
			t.Logf("post %s: %s", p.TS, p.Text)
		}
		t.Fatalf("%d posts, want 3: the sign-in with MFA, the one without posted anew, the inline policies", len(posts))
	}
	// Each event is named in exactly one accepted message, its post or its updates.
	named := map[string][]string{}
	for _, m := range append(slack.Posts(), slack.Updates()...) {
		text := m.Shown()
		for _, e := range events {
			if strings.Contains(text, e.id) && !slices.Contains(named[e.id], m.TS) {
				named[e.id] = append(named[e.id], m.TS)
			}
		}
	}
	want := map[string]string{"root-mfa-0001": posts[0].TS, "root-nomfa-0002": posts[1].TS, "root-failed-0003": posts[1].TS,
		"inline-one-0004": posts[2].TS, "inline-two-0005": posts[2].TS}
	for id, ts := range want {
		if len(named[id]) != 1 || named[id][0] != ts {
			t.Errorf("%s is named in messages %v, want exactly %s", id, named[id], ts)
		}
	}
	if !strings.HasPrefix(posts[0].Text, "HIGH") || !strings.HasPrefix(posts[1].Text, "CRITICAL") {
		t.Errorf("posts read %q and %q: want HIGH, then CRITICAL posted anew", posts[0].Text, posts[1].Text)
	}
	for ts, wants := range map[string][]string{
		posts[1].TS: {"root-nomfa-0002|root-nomfa-0002>", "from 203.0.113.66 · CRITICAL · ConsoleLogin success no MFA",
			"root-failed-0003|root-failed-0003>", "from 203.0.113.67 · MEDIUM · ConsoleLogin failure"},
		posts[2].TS: {"inline-one-0004|inline-one-0004>", "inline policy read-build-artifacts", "inline-two-0005|inline-two-0005>", "inline policy second-policy"},
	} {
		cur, _ := slack.Current(ts)
		text := cur.Shown()
		for _, w := range wants {
			if !strings.Contains(text, w) {
				t.Errorf("message %s as it reads now lacks %q:\n%s", ts, w, text)
			}
		}
	}
}

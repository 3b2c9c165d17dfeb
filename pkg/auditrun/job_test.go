package auditrun

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/iam-watchdog/iam-watchdog/internal/mototest"
	"github.com/iam-watchdog/iam-watchdog/internal/slackserver"
	"github.com/iam-watchdog/iam-watchdog/internal/watchdogtest"
	"github.com/iam-watchdog/iam-watchdog/pkg/audit"
	"github.com/iam-watchdog/iam-watchdog/pkg/auditstore"
	"github.com/iam-watchdog/iam-watchdog/pkg/notify"
	"github.com/iam-watchdog/iam-watchdog/pkg/policy"
)

// The digest's bot token, and the one the Slack check reads from "the secret" (apart, so that the
// check's can be revoked while digests still post).
const (
	slackToken = "xoxb-0000-audit-test-token"
	checkToken = "xoxb-0000-audit-check-token"
)

func jsonLogger(w io.Writer) *slog.Logger { return slog.New(slog.NewJSONHandler(w, nil)) }

// TestJobDigests runs the scheduled audit's job against moto_server and the local Slack, with the
// Slack check's auth.test answered by that Slack: the first run posts the whole picture, an
// unchanged run posts nothing, a change posts what is newly failing, a fix what was fixed, and
// digest_always posts even when nothing changed.
func TestJobDigests(t *testing.T) {
	srv := mototest.Start(t)
	cfg := srv.Config(t)
	fx := mototest.NewFixture(cfg)
	fx.CreateUser(t, "alice")
	slack := slackserver.Start(t)
	bot, err := notify.NewBot(notify.BotConfig{Token: slackToken, Channel: "C0SECURITY", APIURL: slack.APIURL()})
	if err != nil {
		t.Fatal(err)
	}
	sight := audit.Sight{SlackSecretARN: "arn:aws:secretsmanager:us-east-1:123456789012:secret:iam-watchdog/slack-AbCdEf",
		Slack: audit.Slack{ReadToken: func(context.Context) (string, error) { return checkToken, nil }, APIURL: slack.APIURL()}}
	opts := Options(configWith(t, ""), sight)
	opts.ReportPoll, opts.ReportWait = 10*time.Millisecond, 20*time.Second
	au, err := audit.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	store := &auditstore.Store{State: watchdogtest.OpenStore(t)}
	job := &Job{Auditor: au, Home: audit.NewClients(cfg), Store: store, Digest: func(context.Context) (notify.DigestSink, error) { return bot, nil }}

	run := func(what string, wantPost bool, want ...string) {
		t.Helper()
		before := len(slack.Posts())
		o, err := job.Run(t.Context())
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		posts := slack.Posts()[before:]
		if o.Posted != wantPost || len(posts) != map[bool]int{true: 1, false: 0}[wantPost] {
			t.Fatalf("%s: posted %t, %d messages; want %t", what, o.Posted, len(posts), wantPost)
		}
		if wantPost {
			all := posts[0].Text + string(posts[0].Blocks)
			for _, w := range want {
				if !strings.Contains(all, w) {
					t.Errorf("%s: the digest lacks %q:\n%s\n%s", what, w, posts[0].Text, posts[0].Blocks)
				}
			}
		}
	}

	run("first run", true, "first audit", "Failing", "Could not run", "CIS 1.8")
	if slack.AuthTests() != 1 {
		t.Errorf("%d auth.test calls in the first audit, want 1", slack.AuthTests())
	}
	snaps, err := store.Snapshots(t.Context(), mototest.AccountID)
	if err != nil || len(snaps) != 1 || len(snaps[0].Users) != 1 {
		t.Errorf("snapshots kept %+v, %v; want one holding alice", snaps, err)
	}
	run("unchanged", false)

	fx.CreateUser(t, "bob")
	if _, err := fx.IAM.CreateLoginProfile(t.Context(), &iam.CreateLoginProfileInput{UserName: aws.String("bob"), Password: aws.String("Correct-Horse-Battery-1")}); err != nil {
		t.Fatal(err)
	}
	run("bob signs in without MFA", true, "what changed", "1 newly failing", "Newly failing", "user/bob", "CIS 1.10")

	if _, err := fx.IAM.DeleteLoginProfile(t.Context(), &iam.DeleteLoginProfileInput{UserName: aws.String("bob")}); err != nil {
		t.Fatal(err)
	}
	run("bob's password removed", true, "1 fixed", "Fixed", "user/bob")

	slack.Revoke(checkToken)
	run("the token revoked", true, "Slack accepts the watchdog", "invalid_auth")

	job.Always = true
	run("digest_always, nothing changed", true, "0 newly failing, 0 fixed")
}

// configWith is the audit: keys of a config file.
func configWith(t *testing.T, yaml string) policy.AuditConfig {
	t.Helper()
	c, err := policy.Parse([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return c.Audit
}

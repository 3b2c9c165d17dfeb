package demo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	eventstestdata "github.com/iam-watchdog/iam-watchdog/events-testdata"
	"github.com/iam-watchdog/iam-watchdog/pkg/alert"
	"github.com/iam-watchdog/iam-watchdog/pkg/cloudtrail"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/notify"
	"github.com/iam-watchdog/iam-watchdog/pkg/policy"
	"github.com/iam-watchdog/iam-watchdog/pkg/remediate"
	"github.com/iam-watchdog/iam-watchdog/pkg/render"
	"github.com/iam-watchdog/iam-watchdog/pkg/slackaction"
	"github.com/iam-watchdog/iam-watchdog/pkg/state"
	"github.com/iam-watchdog/iam-watchdog/pkg/watchdog"
)

// threadEvent is the example whose alert's life the thread section shows.
const threadEvent = "access_key_created/alert-other-user.json"

// approver is the Slack member who presses the buttons in the thread section.
const approver = "U0SECLEAD"

// terminalSlack is the demo's Slack: messages and threads drawn by notify.ConsoleThread, and
// messages meant for one person shown as such.
type terminalSlack struct {
	*notify.ConsoleThread
	w io.Writer
}

// simulated ends a thread line about a revert or undo the demo only described.
const simulated = "[simulated: the demo calls no AWS API]"

// Reply draws a line in the alert's thread. The demo's revert and undo call no AWS API, so a
// line about one that went through says what would have been done, and that it was simulated.
func (s terminalSlack) Reply(ctx context.Context, d alert.Delivery, f render.FollowUp) error {
	act := f.Alert.Finding.Action
	var icon, what string
	switch {
	case f.OK && f.Verb == alert.Revert:
		icon, what = "✔", render.ActionText(act, false)
	case f.OK && f.Verb == alert.Undo:
		icon, what = "↩", render.UndoText(act, false)
	default:
		return s.ConsoleThread.Reply(ctx, d, f)
	}
	at := ""
	if !f.At.IsZero() {
		at = " at " + f.At.UTC().Format(time.RFC3339)
	}
	_, err := fmt.Fprintf(s.w, "  ↳ thread of message %s: %s @%s pressed %s%s: would %s. %s\n", d.TS, icon, f.Who, render.VerbLabel(f.Verb), at, what, simulated)
	return err
}

// describer stands in for AWS in the demo: it says what the watchdog would do, as the real
// remediator says it, and changes nothing.
type describer struct{ *remediate.Remediator }

func (d describer) Describe(a detect.Action) string { return "simulated: " + d.Remediator.Describe(a) }

// Plan plans from the action alone: there is nothing to read back.
func (describer) Plan(_ context.Context, a detect.Action) (remediate.Undo, error) {
	return remediate.Undo{Action: a.Kind, Account: a.Account, Region: a.Region, UserName: a.UserName,
		AccessKeyID: a.AccessKeyID, PolicyARN: a.PolicyARN, PolicyName: a.PolicyName, Trail: a.Trail}, nil
}

func (describer) Do(context.Context, remediate.Undo) error { return nil }

func (describer) Revert(context.Context, remediate.Undo) error { return nil }

var _ slackaction.Remediator = describer{}

func (s terminalSlack) Ephemeral(_ context.Context, _, user, text string) error {
	_, err := fmt.Fprintf(s.w, "  ✉ only @%s sees: %s\n", user, plainMrkdwn(text))
	return err
}

var (
	mention   = regexp.MustCompile(`<@([UW][A-Z0-9]+)>`)
	shortcode = regexp.MustCompile(`:[a-z_]+: `)
)

// plainMrkdwn shows a Slack mrkdwn line as a terminal would: mentions as @ID, without emoji
// shortcodes or markup. The demo's lines are its own, so no escaping is undone.
func plainMrkdwn(s string) string {
	s = mention.ReplaceAllString(s, "@$1")
	s = shortcode.ReplaceAllString(s, "")
	return strings.NewReplacer("*", "", "`", "").Replace(s)
}

func (terminalSlack) GroupMembers(context.Context, string) ([]string, error) { return nil, nil }

// thread shows one alert's life in Slack, drawn in the terminal: the pipeline posts it in
// approve mode, an approver presses Revert now, then Undo revert, then Revert now again (a
// double click). Each click is a signed interactivity request served by slackaction, as the
// slack-actions function serves it, against a throwaway state file. The demo has no AWS
// account, so the revert and undo go to a remediator that only describes (describer), and the
// thread says so: no AWS API is called.
func thread(ctx context.Context, w io.Writer) error {
	store, done, err := throwawayStore()
	if err != nil {
		return err
	}
	defer done()
	raw, err := fs.ReadFile(eventstestdata.FS, threadEvent)
	if err != nil {
		return err
	}
	recs, errs := cloudtrail.Decode("slack-thread-demo", raw)
	if len(errs) > 0 || len(recs) != 1 {
		return fmt.Errorf("%s: %v", threadEvent, errs)
	}

	fmt.Fprintln(w, "\n══ One alert's life in Slack (approve mode), drawn here ══")
	fmt.Fprintln(w, "No Slack and no AWS: the message and its thread are drawn below, and Revert now and Undo revert")
	fmt.Fprintln(w, "are simulated: they call no AWS API and say \"would\". Deployed, slack-actions makes these calls.")
	fmt.Fprintln(w)

	slack := terminalSlack{ConsoleThread: notify.NewConsoleThread(w), w: w}
	cfg := policy.Default()
	cfg.Mode = policy.Approve
	cfg.SelfRoleARNs = []string{eventstestdata.WatchdogRoleARN}
	cfg.QuarantinePolicyARN = eventstestdata.QuarantinePolicyARN
	rem := &remediate.Remediator{QuarantinePolicyARN: cfg.QuarantinePolicyARN}
	p := &watchdog.Pipeline{Detector: detect.DefaultWith(cfg.Detection()), Config: cfg, Remediator: rem, Store: store, Sink: slack, Owner: "demo"}
	results, err := p.Handle(ctx, recs[0])
	if err != nil {
		return err
	}
	if len(results) == 0 {
		return fmt.Errorf("%s: no finding", threadEvent)
	}
	key := alert.Key(results[0].Finding.EventID, results[0].Finding.Rule)

	secret := make([]byte, 16)
	if _, err := rand.Read(secret); err != nil {
		return err
	}
	h := &slackaction.Handler{
		Store: store, Detector: p.Detector, Config: cfg, Slack: slack, Remediator: describer{rem}, SigningSecret: hex.EncodeToString(secret),
		Approvers: policy.SlackConfig{Approvers: []string{approver}}, Window: cfg.Slack.Window(),
	}
	for _, step := range []struct {
		say  string
		verb alert.Verb
	}{
		{"approved: @" + approver + " presses Revert now", alert.Revert},
		{"undone: @" + approver + " presses Undo revert", alert.Undo},
		{"a second press of Revert now (or Slack delivering a click again) does nothing", alert.Revert},
	} {
		fmt.Fprintf(w, "\n▸ %s\n", step.say)
		resp, err := h.ServeURL(ctx, signedClick(h.SigningSecret, step.verb, key), "demo")
		if err != nil {
			return err
		}
		if resp.StatusCode != 200 {
			return fmt.Errorf("demo click answered HTTP %d", resp.StatusCode)
		}
	}
	return nil
}

// signedClick is the Function URL request Slack sends for a click on an alert's button.
func signedClick(secret string, verb alert.Verb, key string) events.LambdaFunctionURLRequest {
	payload, _ := json.Marshal(map[string]any{
		"type": "block_actions", "user": map[string]any{"id": approver}, "channel": map[string]any{"id": "terminal"},
		"actions": []map[string]any{{"type": "button", "action_id": string(verb), "block_id": "iam_watchdog_actions", "value": key}},
	})
	body := "payload=" + url.QueryEscape(string(payload))
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	return events.LambdaFunctionURLRequest{
		Headers: map[string]string{
			"x-slack-request-timestamp": ts,
			"x-slack-signature":         slackaction.SignatureHeader(secret, ts, []byte(body)),
		},
		Body: body,
	}
}

// throwawayStore is a state file for one demo section, removed by done.
func throwawayStore() (store *state.File, done func(), err error) {
	dir, err := os.MkdirTemp("", "watchdog-demo-")
	if err != nil {
		return nil, nil, err
	}
	store, err = state.OpenFile(filepath.Join(dir, "state.json"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	return store, func() { os.RemoveAll(dir) }, nil
}

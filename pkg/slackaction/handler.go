package slackaction

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/slack-go/slack"

	"github.com/iam-watchdog/iam-watchdog/pkg/alert"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/policy"
	"github.com/iam-watchdog/iam-watchdog/pkg/render"
	"github.com/iam-watchdog/iam-watchdog/pkg/state"
)

// Handler serves Slack's interactivity requests. Fields are set once per cold start.
type Handler struct {
	Store state.Store
	// Codec reads and writes the pieces of authority in the alerts' records.
	Codec      alert.Codec
	Slack      Slack
	Remediator Remediator
	// Detector and Config are the rules and the configuration the watchdog runs with
	// (detect.DefaultWith(Config.Detection())): Revert now runs the stored CloudTrail record
	// through them again and acts only on what they derive (rederive).
	Detector *detect.Detector
	Config   policy.Config
	// SigningSecret is the Slack app's signing secret (the secret's signing_secret key).
	SigningSecret string
	// Approvers says who may act; nobody may when it lists no one.
	Approvers policy.SlackConfig
	// Window is the flood window, for the wording of bursts.
	Window time.Duration
	Log    *slog.Logger
	Now    func() time.Time
	// HaltReason, when set, says why Revert now is refused: the deployment's kill switch
	// (REMEDIATION_MODE off or dry-run). Undo and Acknowledge still work.
	HaltReason string
}

func (h *Handler) log() *slog.Logger {
	if h.Log != nil {
		return h.Log
	}
	return slog.New(slog.DiscardHandler)
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func respond(status int, body string) events.LambdaFunctionURLResponse {
	return events.LambdaFunctionURLResponse{StatusCode: status, Headers: map[string]string{"Content-Type": "text/plain; charset=utf-8"}, Body: body}
}

// ServeURL answers one Function URL request. A request that fails the signature or timestamp
// check gets 401 and changes nothing; so does every request before the check, however it is
// formed. Slack wants an answer within three seconds; the answer carries nothing, since the
// alert's message and thread say what happened and refusals go to the clicker alone.
//
// An error is returned (and the request answered 500) only when the store or Slack failed, so
// that the click can be tried again.
func (h *Handler) ServeURL(ctx context.Context, req events.LambdaFunctionURLRequest, owner string) (events.LambdaFunctionURLResponse, error) {
	log := h.log()
	if m := req.RequestContext.HTTP.Method; m != "" && m != http.MethodPost {
		return respond(http.StatusMethodNotAllowed, "POST only\n"), nil
	}
	body := []byte(req.Body)
	if req.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(req.Body)
		if err != nil {
			return respond(http.StatusUnauthorized, "unauthorized\n"), nil
		}
		body = b
	}
	header := http.Header{}
	for k, v := range req.Headers {
		header.Set(k, v)
	}
	if err := Verify(header, body, h.SigningSecret, h.now()); err != nil {
		log.WarnContext(ctx, "request refused", "reason", err.Error(), "source_ip", req.RequestContext.HTTP.SourceIP)
		return respond(http.StatusUnauthorized, "unauthorized\n"), nil
	}
	if n := header.Get("X-Slack-Retry-Num"); n != "" {
		log.InfoContext(ctx, "Slack retried this request", "retry_num", n, "reason", header.Get("X-Slack-Retry-Reason"))
	}

	form, err := url.ParseQuery(string(body))
	if err != nil || form.Get("payload") == "" {
		return respond(http.StatusBadRequest, "want a form with a payload\n"), nil
	}
	var cb slack.InteractionCallback
	if err := json.Unmarshal([]byte(form.Get("payload")), &cb); err != nil {
		return respond(http.StatusBadRequest, "payload is not an interaction\n"), nil
	}
	if cb.Type != slack.InteractionTypeBlockActions {
		log.InfoContext(ctx, "interaction ignored", "type", string(cb.Type))
		return respond(http.StatusOK, ""), nil
	}
	user, channel := cb.User.ID, cb.Channel.ID
	if channel == "" {
		channel = cb.Container.ChannelID
	}
	var errs []error
	for _, act := range cb.ActionCallback.BlockActions {
		verb, err := alert.ParseVerb(act.ActionID)
		if err != nil {
			log.InfoContext(ctx, "unknown button ignored", "action_id", act.ActionID)
			continue
		}
		if err := h.click(ctx, Click{Verb: verb, Key: act.Value, User: user, Channel: channel, MessageTS: cb.Container.MessageTs}, owner); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		log.ErrorContext(ctx, "click failed", "error", err.Error())
		return respond(http.StatusInternalServerError, "the watchdog could not finish; see its log\n"), err
	}
	return respond(http.StatusOK, ""), nil
}

// click authorises the clicker, acts, and tells them privately when nothing was done.
func (h *Handler) click(ctx context.Context, c Click, owner string) error {
	log := h.log().With("key", c.Key, "verb", string(c.Verb), "user", c.User)
	ok, why := h.approver(ctx, c.User)
	if !ok {
		log.WarnContext(ctx, "click by someone who is not an approver refused", "reason", why)
		return h.tell(ctx, c, ":no_entry: Only the watchdog's approvers can press "+render.VerbLabel(c.Verb)+" ("+why+"). Nothing was changed.")
	}
	res, err := h.Act(ctx, c, owner)
	if err != nil {
		return err
	}
	if res.Text != "" {
		return h.tell(ctx, c, res.Text)
	}
	return nil
}

// approver reports whether user may act, and if not, why, in words for them.
func (h *Handler) approver(ctx context.Context, user string) (bool, string) {
	if !policy.IsSlackUserID(user) {
		return false, "the request names no Slack user"
	}
	if h.Approvers.IsApprover(user) {
		return true, ""
	}
	for _, g := range h.Approvers.ApproverGroups {
		members, err := h.Slack.GroupMembers(ctx, g)
		if err != nil {
			h.log().ErrorContext(ctx, "approver group unreadable", "group", g, "error", err.Error())
			continue
		}
		if slices.Contains(members, user) {
			return true, ""
		}
	}
	if len(h.Approvers.Approvers) == 0 && len(h.Approvers.ApproverGroups) == 0 {
		return false, "no approvers are configured"
	}
	return false, "you are not listed in slack.approvers or a group in slack.approver_groups"
}

// tell shows text to the clicker alone. A failure here only costs the explanation.
func (h *Handler) tell(ctx context.Context, c Click, text string) error {
	if c.Channel == "" || c.User == "" {
		return nil
	}
	if err := h.Slack.Ephemeral(ctx, c.Channel, c.User, text); err != nil {
		h.log().WarnContext(ctx, "could not tell the clicker", "error", err.Error())
	}
	return nil
}

package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	eventstestdata "github.com/iam-watchdog/iam-watchdog/events-testdata"
	"github.com/iam-watchdog/iam-watchdog/internal/motoserver"
	"github.com/iam-watchdog/iam-watchdog/pkg/alert"
	"github.com/iam-watchdog/iam-watchdog/pkg/cloudtrail"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/notify"
	"github.com/iam-watchdog/iam-watchdog/pkg/policy"
	"github.com/iam-watchdog/iam-watchdog/pkg/remediate"
	"github.com/iam-watchdog/iam-watchdog/pkg/watchdog"
)

// The reverts section's heading, and the line that stands for it without moto_server; the
// tests look for both.
const (
	RevertsHeading = "══ Reverted for real, against a local moto_server (an AWS API emulator), not AWS ══"
	RevertsSkipped = "── Skipped: the demo of real reverts and their undo needs moto_server, a local AWS API emulator; get it with: pip install 'moto[server]'"
)

// motoStart bounds moto_server's start; it usually listens within a second or two.
const motoStart = 15 * time.Second

// adminPolicyARN is the AWS managed policy alert-attach-admin attaches; moto has it only when
// told to load AWS managed policies.
const adminPolicyARN = "arn:aws:iam::aws:policy/AdministratorAccess"

// revertScene is one example event acted on against moto: what the event describes is created
// there first, then the event is replayed in auto mode, then undone.
type revertScene struct {
	file string // the example event
	// setup creates in moto what the event describes and returns edits that make the event
	// name what moto assigned (an access key ID, a policy ARN), or nil.
	setup func(ctx context.Context, c *iam.Client) (edit func(detail map[string]any), err error)
	// check reads back from moto what the action touches, as one line.
	check func(ctx context.Context, c *iam.Client) (string, error)
}

// launchMoto starts moto_server on a free loopback port for the sections that act, with AWS's
// managed policies loaded (the example events attach AdministratorAccess).
func launchMoto(ctx context.Context) (*motoserver.Process, error) {
	startCtx, cancel := context.WithTimeout(ctx, motoStart)
	defer cancel()
	return motoserver.Launch(startCtx, "MOTO_IAM_LOAD_MANAGED_POLICIES=true")
}

// reverts shows done alerts, which the dry-run part cannot: with moto_server (launchMoto, when it
// is on PATH) the state three example events describe is created in it,
// and the events go through the real pipeline in auto mode, with the real Remediator and a
// throwaway state file. The alerts say "Reverted" and name the undo command; then each event is
// undone with the code `watchdog undo` runs, and moto is read back after each step to show the
// change really happened. Without moto_server the section is skipped with one line: the demo
// never fails for want of it.
func reverts(ctx context.Context, w io.Writer, moto *motoserver.Process, launchErr error) error {
	if errors.Is(launchErr, motoserver.ErrNotInstalled) {
		fmt.Fprintf(w, "\n%s\n", RevertsSkipped)
		return nil
	}
	if launchErr != nil {
		fmt.Fprintf(w, "\n── Skipped: the demo of real reverts and their undo could not start moto_server: %v\n", launchErr)
		return nil
	}

	fmt.Fprintf(w, "\n%s\n", RevertsHeading)
	fmt.Fprintf(w, "This part runs against moto_server, the moto AWS API emulator, started for the demo on %s and\n", moto.Endpoint)
	fmt.Fprintln(w, "stopped after it; no AWS account is touched. The IAM state three of the example events describe is")
	fmt.Fprintln(w, "created in moto, then the events go through the same pipeline and remediation code as deployed, in")
	fmt.Fprintln(w, "auto mode, and are undone as `watchdog undo` undoes them. Each step is read back from moto.")

	store, done, err := throwawayStore()
	if err != nil {
		return err
	}
	defer done()
	awsCfg := motoConfig(moto.Endpoint)
	cfg := policy.Default()
	cfg.Mode = policy.Auto
	cfg.SelfRoleARNs = []string{eventstestdata.WatchdogRoleARN}
	// Ask moto's STS which account and caller this is, as the CLI asks AWS's.
	caller, err := remediate.WhoAmI(ctx, sts.NewFromConfig(awsCfg))
	if err != nil {
		return fmt.Errorf("reverts against moto_server: %w", err)
	}
	rem, err := remediate.New(awsCfg, caller.Account, cfg.MemberRoleName, cfg.QuarantinePolicyARN)
	if err != nil {
		return fmt.Errorf("reverts against moto_server: %w", err)
	}
	p := &watchdog.Pipeline{Detector: detect.DefaultWith(cfg.Detection()), Config: cfg, Remediator: rem, Store: store, Sink: notify.NewConsole(w), Owner: "demo"}
	c := iam.NewFromConfig(awsCfg)

	scenes := revertScenes()
	var eventIDs []string
	for _, sc := range scenes {
		id, err := sc.act(ctx, c, p, w)
		if err != nil {
			return fmt.Errorf("reverts against moto_server: %s: %w", sc.file, err)
		}
		eventIDs = append(eventIDs, id)
	}
	fmt.Fprintln(w, "\n▸ undo each, with the code `watchdog undo` runs, on the demo's throwaway state file")
	for i, sc := range scenes {
		fmt.Fprintf(w, "$ watchdog undo %s\n", eventIDs[i])
		found, err := alert.UndoEvent(ctx, alert.Records{Store: store}, rem, eventIDs[i], caller.ARN, w)
		if err == nil && !found {
			err = errors.New("no action is recorded for the event")
		}
		if err != nil {
			return fmt.Errorf("reverts against moto_server: undo %s: %w", eventIDs[i], err)
		}
		if err := sc.readBack(ctx, c, w, "after undo"); err != nil {
			return err
		}
	}
	return nil
}

// act creates the scene's state in moto, replays its event in auto mode (the alert is drawn on
// w) and reads the result back from moto. It returns the event's ID.
func (sc revertScene) act(ctx context.Context, c *iam.Client, p *watchdog.Pipeline, w io.Writer) (string, error) {
	raw, err := fs.ReadFile(eventstestdata.FS, sc.file)
	if err != nil {
		return "", err
	}
	edit, err := sc.setup(ctx, c)
	if err != nil {
		return "", fmt.Errorf("create its state in moto: %w", err)
	}
	fmt.Fprintf(w, "\n▸ %s, replayed in auto mode\n", sc.file)
	if err := sc.readBack(ctx, c, w, "before"); err != nil {
		return "", err
	}
	if edit != nil {
		if raw, err = editEvent(raw, edit); err != nil {
			return "", err
		}
	}
	recs, errs := cloudtrail.Decode("moto:"+sc.file, raw)
	if len(errs) > 0 || len(recs) != 1 {
		return "", fmt.Errorf("decode: %v", errs)
	}
	results, err := p.Handle(ctx, recs[0])
	if err != nil {
		return "", err
	}
	if len(results) != 1 || results[0].Remediation == nil || results[0].Remediation.Status != remediate.Done {
		return "", fmt.Errorf("want one finding with a done remediation, got %d: %+v", len(results), results)
	}
	if err := sc.readBack(ctx, c, w, "after"); err != nil {
		return "", err
	}
	return results[0].Finding.EventID, nil
}

func (sc revertScene) readBack(ctx context.Context, c *iam.Client, w io.Writer, when string) error {
	s, err := sc.check(ctx, c)
	if err != nil {
		return fmt.Errorf("read back from moto: %w", err)
	}
	fmt.Fprintf(w, "  moto, %s: %s\n", when, s)
	return nil
}

// revertScenes are the example events the reverts section acts on. They keep their own user and
// policy names and event IDs; only the access key ID, which moto assigns, is edited in.
func revertScenes() []revertScene {
	const (
		keyUser      = "ci-deployer"
		attachUser   = "contractor-jo"
		inlineUser   = "ci-deployer"
		inlinePolicy = "ci-full-access"
	)
	var keyID, inlineDoc string
	return []revertScene{
		{
			file: "access_key_created/alert-other-user.json",
			setup: func(ctx context.Context, c *iam.Client) (func(map[string]any), error) {
				if err := createUser(ctx, c, keyUser); err != nil {
					return nil, err
				}
				out, err := c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(keyUser)})
				if err != nil {
					return nil, fmt.Errorf("create access key for %s: %w", keyUser, err)
				}
				keyID = aws.ToString(out.AccessKey.AccessKeyId)
				return func(d map[string]any) {
					d["responseElements"] = map[string]any{"accessKey": map[string]any{
						"userName": keyUser, "accessKeyId": keyID, "status": "Active", "createDate": "May 2, 2024, 10:17:26 AM"}}
				}, nil
			},
			check: func(ctx context.Context, c *iam.Client) (string, error) {
				out, err := c.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String(keyUser)})
				if err != nil {
					return "", fmt.Errorf("list access keys of %s: %w", keyUser, err)
				}
				for _, k := range out.AccessKeyMetadata {
					if aws.ToString(k.AccessKeyId) == keyID {
						return fmt.Sprintf("access key %s of user %s is %s", keyID, keyUser, k.Status), nil
					}
				}
				return "", fmt.Errorf("access key %s of %s is gone", keyID, keyUser)
			},
		},
		{
			file: "user_policy_attached/alert-attach-admin.json",
			setup: func(ctx context.Context, c *iam.Client) (func(map[string]any), error) {
				if err := createUser(ctx, c, attachUser); err != nil {
					return nil, err
				}
				if _, err := c.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String(attachUser), PolicyArn: aws.String(adminPolicyARN)}); err != nil {
					return nil, fmt.Errorf("attach %s to %s: %w", adminPolicyARN, attachUser, err)
				}
				return nil, nil
			},
			check: func(ctx context.Context, c *iam.Client) (string, error) {
				out, err := c.ListAttachedUserPolicies(ctx, &iam.ListAttachedUserPoliciesInput{UserName: aws.String(attachUser)})
				if err != nil {
					return "", fmt.Errorf("list policies attached to %s: %w", attachUser, err)
				}
				for _, p := range out.AttachedPolicies {
					if aws.ToString(p.PolicyArn) == adminPolicyARN {
						return fmt.Sprintf("policy %s is attached to user %s", adminPolicyARN, attachUser), nil
					}
				}
				return fmt.Sprintf("policy %s is not attached to user %s", adminPolicyARN, attachUser), nil
			},
		},
		{
			file: "user_policy_attached/alert-put-inline-admin.json",
			setup: func(ctx context.Context, c *iam.Client) (func(map[string]any), error) {
				raw, err := fs.ReadFile(eventstestdata.FS, "user_policy_attached/alert-put-inline-admin.json")
				if err != nil {
					return nil, err
				}
				var ev struct {
					Detail struct {
						RequestParameters struct {
							PolicyDocument string `json:"policyDocument"`
						} `json:"requestParameters"`
					} `json:"detail"`
				}
				if err := json.Unmarshal(raw, &ev); err != nil {
					return nil, err
				}
				// ci-deployer exists already: the access key scene created it.
				inlineDoc = ev.Detail.RequestParameters.PolicyDocument
				_, err = c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{
					UserName: aws.String(inlineUser), PolicyName: aws.String(inlinePolicy), PolicyDocument: aws.String(inlineDoc),
				})
				if err != nil {
					return nil, fmt.Errorf("put inline policy %s on %s: %w", inlinePolicy, inlineUser, err)
				}
				return nil, nil
			},
			check: func(ctx context.Context, c *iam.Client) (string, error) {
				out, err := c.GetUserPolicy(ctx, &iam.GetUserPolicyInput{UserName: aws.String(inlineUser), PolicyName: aws.String(inlinePolicy)})
				var apiErr smithy.APIError
				if errors.As(err, &apiErr) && apiErr.ErrorCode() == "NoSuchEntity" {
					return fmt.Sprintf("user %s has no inline policy %s", inlineUser, inlinePolicy), nil
				}
				if err != nil {
					return "", fmt.Errorf("get inline policy %s of %s: %w", inlinePolicy, inlineUser, err)
				}
				doc, err := url.PathUnescape(aws.ToString(out.PolicyDocument))
				if err != nil {
					return "", err
				}
				if doc != inlineDoc {
					return fmt.Sprintf("user %s has inline policy %s, with a document other than the one put", inlineUser, inlinePolicy), nil
				}
				return fmt.Sprintf("user %s has inline policy %s, its document byte for byte as put", inlineUser, inlinePolicy), nil
			},
		},
	}
}

func createUser(ctx context.Context, c *iam.Client, name string) error {
	if _, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name)}); err != nil {
		return fmt.Errorf("create user %s: %w", name, err)
	}
	return nil
}

// editEvent applies edit to the detail of an EventBridge event.
func editEvent(raw []byte, edit func(detail map[string]any)) ([]byte, error) {
	var ev map[string]any
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, err
	}
	d, ok := ev["detail"].(map[string]any)
	if !ok {
		return nil, errors.New("event has no detail object")
	}
	edit(d)
	return json.Marshal(ev)
}

// motoConfig is SDK configuration for moto_server at endpoint, built from nothing in the
// environment: no profile, no credentials file, no AWS_ENDPOINT_URL can send the demo's calls
// anywhere else.
func motoConfig(endpoint string) aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("demo", "demo", ""),
		BaseEndpoint: aws.String(endpoint),
		AppID:        policy.AppID,
	}
}

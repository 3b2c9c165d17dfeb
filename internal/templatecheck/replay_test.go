package templatecheck

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/iam-watchdog/iam-watchdog/internal/mototest"
	"github.com/iam-watchdog/iam-watchdog/pkg/replayhandler"
)

// TestReplayStackContract holds infra/replay.yaml's function to what the code and the build
// need: the environment pkg/replayhandler reads, no more and no less; the build target the
// Makefile has; the runtime the other functions use.
func TestReplayStackContract(t *testing.T) {
	tpl := infraTemplates(t)["replay.yaml"]
	fn := tpl.Resources()["ReplayFunction"]
	props, _ := fn["Properties"].(map[string]any)
	meta, _ := fn["Metadata"].(map[string]any)
	if fn["Type"] != "AWS::Serverless::Function" || props["Runtime"] != "provided.al2023" || props["Handler"] != "bootstrap" ||
		!slices.Equal(mustStrings(t, props["Architectures"]), []string{"arm64"}) || meta["BuildMethod"] != "makefile" || props["CodeUri"] != ".." {
		t.Errorf("ReplayFunction is not built as the other functions are: %v %v", fn["Type"], props)
	}
	makefile, err := os.ReadFile(filepath.Join(repoRoot(t), "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^build-ReplayFunction:\n\t.* go build .*-o \$\(ARTIFACTS_DIR\)/bootstrap \./functions/replay$`).Match(bytes.ReplaceAll(makefile, []byte("$(GO)"), []byte("go"))) {
		t.Error("the Makefile has no build-ReplayFunction target building ./functions/replay into $(ARTIFACTS_DIR)/bootstrap")
	}
	env, _ := props["Environment"].(map[string]any)
	vars, _ := env["Variables"].(map[string]any)
	var read []string
	_, _ = replayhandler.EnvFrom(func(k string) string { read = append(read, k); return "" })
	if got, want := sortedKeys(vars), slices.Sorted(slices.Values(read)); !slices.Equal(got, want) {
		t.Errorf("the stack sets %v; the handler reads %v", got, want)
	}
	role, _ := tpl.Resources()["ReplayRole"]["Properties"].(map[string]any)
	if role["Path"] != "/iam-watchdog/" {
		t.Errorf("ReplayRole's path is %v, not /iam-watchdog/, which the baseline and the SCP deny iam:PassRole on", role["Path"])
	}
}

func mustStrings(t *testing.T, v any) []string {
	t.Helper()
	s, ok := Strings(v)
	if !ok {
		t.Fatalf("%v is not a list of strings", v)
	}
	return s
}

// translateFile translates one SAM template with scripts/sam-translate.py, as `sam deploy`
// would hand it to CloudFormation, with params.
func translateFile(t *testing.T, file string, params map[string]string) Template {
	t.Helper()
	args := []string{filepath.Join(repoRoot(t), "scripts", "sam-translate.py"), "--region", "us-east-1",
		"--account-id", mototest.AccountID, "--code-uri", "s3://" + codeBucket + "/" + codeKey}
	for _, k := range sortedKeys(params) {
		args = append(args, "--param", k+"="+params[k])
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "python3", append(args, filepath.Join(repoRoot(t), file))...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("translate %s (%v); is samtranslator installed (`make tools`)?\n%s", file, err, stderr.String())
	}
	var tpl Template
	if err := json.Unmarshal(out, &tpl); err != nil {
		t.Fatal(err)
	}
	return tpl
}

// TestReplayStackInMoto creates infra/replay.yaml in moto_server's CloudFormation, with a
// given results bucket and KMS keys and with none, reads the function's grants back from IAM
// and evaluates what they allow: read the archive under its prefix, write the results under
// theirs, decrypt (or encrypt) through S3 with the keys named, write its own log; nothing
// else, IAM and the watchdog's state above all.
func TestReplayStackInMoto(t *testing.T) {
	t.Parallel() // a slow external tool; the package's other tests run meanwhile
	srv := mototest.Start(t)
	m := newMotoAccount(t, srv.Config(t))
	const (
		archiveKey = "arn:aws:kms:us-east-1:123456789012:key/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"
		resultsKey = "arn:aws:kms:us-east-1:123456789012:key/9f8e7d6c-5b4a-3f2e-1d0c-ba9876543210"
		via        = "s3.us-east-1.amazonaws.com"
	)
	for _, tc := range []struct {
		name    string
		params  map[string]string
		results string // the results bucket, "" when the stack makes it
	}{
		{"given", map[string]string{"ArchiveBucket": "org-trail-logs", "ArchivePrefix": "AWSLogs/", "ArchiveKeyArn": archiveKey,
			"ResultsBucket": "sec-backtests", "ResultsPrefix": "watchdog/", "ResultsKeyArn": resultsKey}, "sec-backtests"},
		{"made", map[string]string{"ArchiveBucket": "org-trail-logs"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := "iam-watchdog-replay-" + tc.name
			var probes []probe
			if tc.results == "" {
				// moto creates the bucket without its lifecycle rules: read them back resolved.
				probes = []probe{{"ProbeLifecycle", "Results", "LifecycleConfiguration"}}
			}
			s := m.createStack(t, name, translateFile(t, "infra/replay.yaml", tc.params), tc.params, probes...)
			results := tc.results
			if results == "" {
				results = s.Resources["Results"]
				want := `{"Rules":{"AbortIncompleteMultipartUpload":{"DaysAfterInitiation":1},"ExpirationInDays":30,"Id":"ExpireBacktests","Prefix":"iam-watchdog-backtests/","Status":"Enabled"}}` // canonicalJSON: a list of one is its element
				if got := canonicalJSON(t, s.Outputs["ProbeLifecycle"]); got != want {
					t.Errorf("the results bucket's lifecycle is %s, want %s", got, want)
				}
				if _, err := s3.NewFromConfig(m.cfg, func(o *s3.Options) { o.UsePathStyle = true }).HeadBucket(t.Context(), &s3.HeadBucketInput{Bucket: aws.String(results)}); err != nil {
					t.Errorf("the results bucket %q: %v", results, err)
				}
			}
			prefix := "iam-watchdog-backtests/"
			if p, ok := tc.params["ResultsPrefix"]; ok {
				prefix = p
			}
			cfg, err := lambda.NewFromConfig(m.cfg).GetFunctionConfiguration(t.Context(), &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(s.Resources["ReplayFunction"])})
			if err != nil {
				t.Fatal(err)
			}
			wantEnv := map[string]string{"ARCHIVE_BUCKET": "org-trail-logs", "ARCHIVE_PREFIX": tc.params["ArchivePrefix"], "RESULTS_BUCKET": results, "RESULTS_PREFIX": prefix}
			if got := cfg.Environment.Variables; !maps.Equal(got, wantEnv) {
				t.Errorf("the function's environment is %v, want %v", got, wantEnv)
			}
			if _, err := replayhandler.EnvFrom(func(k string) string { return cfg.Environment.Variables[k] }); err != nil {
				t.Errorf("the handler refuses the environment the stack gives it: %v", err)
			}

			role := s.Resources["ReplayRole"]
			var stmts []any
			for _, st := range m.roleGrants(t, role) {
				stmts = append(stmts, st)
			}
			doc := map[string]any{"Statement": stmts}
			roleARN := s.arn(t, "ReplayRole")
			logs := s.arn(t, "ReplayLogGroup") + ":log-stream:2026/12/02/[$LATEST]0a1b"
			archivePrefix := tc.params["ArchivePrefix"]
			for _, c := range []struct {
				action, resource string
				ctx              map[string][]string
				want             bool
			}{
				{"s3:GetObject", "arn:aws:s3:::org-trail-logs/" + archivePrefix + "o-a1b2/111122223333/CloudTrail/us-east-1/2024/05/01/x.json.gz", nil, true},
				{"s3:PutObject", "arn:aws:s3:::" + results + "/" + prefix + "20261202T101500Z-0a1b2c/b000001.jsonl", nil, true},
				{"logs:PutLogEvents", logs, nil, true},
				{"s3:GetObject", "arn:aws:s3:::payroll/AWSLogs/x.json.gz", nil, false},
				{"s3:PutObject", "arn:aws:s3:::org-trail-logs/" + archivePrefix + "x.json.gz", nil, false},
				{"s3:DeleteObject", "arn:aws:s3:::org-trail-logs/" + archivePrefix + "x.json.gz", nil, false},
				{"s3:PutObject", "arn:aws:s3:::" + results + "/elsewhere/x.jsonl", nil, false},
				{"s3:GetObject", "arn:aws:s3:::" + results + "/" + prefix + "x.jsonl", nil, false},
				{"s3:ListBucket", "arn:aws:s3:::org-trail-logs", nil, false},
				{"kms:Decrypt", archiveKey, map[string][]string{"kms:ViaService": {"secretsmanager.us-east-1.amazonaws.com"}}, false},
				{"kms:Decrypt", archiveKey, nil, false},
				{"logs:PutLogEvents", "arn:aws:logs:us-east-1:123456789012:log-group:other:log-stream:x", nil, false},
				{"iam:AttachUserPolicy", "arn:aws:iam::123456789012:user/alice", nil, false},
				{"dynamodb:PutItem", "arn:aws:dynamodb:us-east-1:123456789012:table/iam-watchdog-state", nil, false},
				{"lambda:InvokeFunction", "arn:aws:lambda:us-east-1:123456789012:function:" + s.Resources["ReplayFunction"], nil, false},
				{"sts:AssumeRole", "arn:aws:iam::123456789012:role/iam-watchdog-member", nil, false},
			} {
				got := evaluate(t, doc, request{Principal: roleARN, Action: c.action, Resource: c.resource, Context: c.ctx})
				if got.Allowed != c.want || got.Denied {
					t.Errorf("%s on %s (%v): allowed %t, want %t", c.action, c.resource, c.ctx, got.Allowed, c.want)
				}
			}
			if tc.params["ArchivePrefix"] != "" {
				got := evaluate(t, doc, request{Principal: roleARN, Action: "s3:GetObject", Resource: "arn:aws:s3:::org-trail-logs/private/x.json.gz"})
				if got.Allowed {
					t.Error("the function may read the archive bucket outside ArchivePrefix")
				}
			}
			// The keys, through S3 only, and only when named.
			for _, k := range []struct {
				action, key string
				named       bool
			}{{"kms:Decrypt", archiveKey, tc.params["ArchiveKeyArn"] != ""}, {"kms:GenerateDataKey", resultsKey, tc.params["ResultsKeyArn"] != ""}} {
				got := evaluate(t, doc, request{Principal: roleARN, Action: k.action, Resource: k.key, Context: map[string][]string{"kms:ViaService": {via}}})
				if got.Allowed != k.named {
					t.Errorf("%s on %s through S3: allowed %t, want %t", k.action, k.key, got.Allowed, k.named)
				}
			}
		})
	}
}

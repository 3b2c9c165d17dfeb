package slacksecret

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/iam-watchdog/iam-watchdog/internal/mototest"
)

// fakeSecrets is a SecretsAPI whose behaviour each test sets.
type fakeSecrets struct {
	getSecretValue func(ctx context.Context, in *secretsmanager.GetSecretValueInput) (*secretsmanager.GetSecretValueOutput, error)
}

func (f fakeSecrets) GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	return f.getSecretValue(ctx, in)
}

func secretString(s string) fakeSecrets {
	return fakeSecrets{getSecretValue: func(_ context.Context, _ *secretsmanager.GetSecretValueInput) (*secretsmanager.GetSecretValueOutput, error) {
		return &secretsmanager.GetSecretValueOutput{SecretString: &s}, nil
	}}
}

const (
	testARN   = "arn:aws:secretsmanager:us-east-1:123456789012:secret:watchdog/slack-AbCdEf"
	tokenVal  = "xoxb-111-222-SuperSecretTokenValue"
	hookVal   = "https://hooks.slack.com/services/T000/B000/SuperSecretHookPath"
	signerVal = "SuperSecretSigningValue"
)

func TestLoadSecret(t *testing.T) {
	tests := []struct {
		name    string
		api     SecretsAPI
		want    Secret
		wantErr []string // substrings of the error; nil for success
	}{
		{"token", secretString(`{"token":"` + tokenVal + `"}`), Secret{Token: tokenVal}, nil},
		{"all keys, whitespace trimmed, others ignored",
			secretString(`{"token":" ` + tokenVal + `\n","webhook_url":"` + hookVal + `","signing_secret":"` + signerVal + `","other":1}`),
			Secret{Token: tokenVal, WebhookURL: hookVal, SigningSecret: signerVal}, nil},
		{"binary", fakeSecrets{getSecretValue: func(context.Context, *secretsmanager.GetSecretValueInput) (*secretsmanager.GetSecretValueOutput, error) {
			return &secretsmanager.GetSecretValueOutput{SecretBinary: []byte(`{"webhook_url":"` + hookVal + `"}`)}, nil
		}}, Secret{WebhookURL: hookVal}, nil},
		{"bare token", secretString(tokenVal), Secret{}, []string{testARN, "not a JSON object", "bare token"}},
		{"broken JSON", secretString(`{"token": "` + tokenVal), Secret{}, []string{"not a JSON object"}},
		{"JSON array", secretString(`["` + tokenVal + `"]`), Secret{}, []string{"not a JSON object"}},
		{"JSON null", secretString(`null`), Secret{}, []string{"not a JSON object"}},
		{"neither key", secretString(`{"Token":"` + tokenVal + `","signing_secret":"` + signerVal + `","` + tokenVal + `":""}`), Secret{},
			[]string{`neither "token" nor "webhook_url"`, `"Token"`, `"signing_secret"`, "1 not shown"}},
		{"empty token", secretString(`{"token":""}`), Secret{}, []string{`neither "token" nor "webhook_url"`}},
		{"token not a string", secretString(`{"token":{"value":"` + tokenVal + `"}}`), Secret{}, []string{`key "token" must be a string`}},
		{"no value", fakeSecrets{getSecretValue: func(context.Context, *secretsmanager.GetSecretValueInput) (*secretsmanager.GetSecretValueOutput, error) {
			return &secretsmanager.GetSecretValueOutput{}, nil
		}}, Secret{}, []string{"has no value"}},
		{"API error", fakeSecrets{getSecretValue: func(_ context.Context, in *secretsmanager.GetSecretValueInput) (*secretsmanager.GetSecretValueOutput, error) {
			if aws.ToString(in.SecretId) != testARN {
				return nil, fmt.Errorf("asked for %q", aws.ToString(in.SecretId))
			}
			return nil, &smtypes.ResourceNotFoundException{Message: aws.String("not found")}
		}}, Secret{}, []string{"read Slack secret " + testARN, "not found"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := LoadSecret(context.Background(), tt.api, testARN)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				// Compared field by field so that a failure names the field, not the value.
				for field, pair := range map[string][2]string{
					"token":          {got.Token, tt.want.Token},
					"webhook_url":    {got.WebhookURL, tt.want.WebhookURL},
					"signing_secret": {got.SigningSecret, tt.want.SigningSecret},
				} {
					if pair[0] != pair[1] {
						t.Errorf("%s differs", field)
					}
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			assertNoSecret(t, err.Error())
		})
	}
	t.Run("API error unwraps", func(t *testing.T) {
		_, err := LoadSecret(context.Background(), tests[len(tests)-1].api, testARN)
		var nf *smtypes.ResourceNotFoundException
		if !errors.As(err, &nf) {
			t.Errorf("error %v does not wrap ResourceNotFoundException", err)
		}
	})
}

// assertNoSecret fails if s holds any secret value, or enough of one to matter.
func assertNoSecret(t *testing.T, s string) {
	t.Helper()
	for _, v := range []string{tokenVal, hookVal, signerVal, "SuperSecret", "111-222"} {
		if strings.Contains(s, v) {
			t.Errorf("%q shows a secret value", s)
		}
	}
}

func TestSecretRedacts(t *testing.T) {
	s := Secret{Token: tokenVal, WebhookURL: hookVal, SigningSecret: signerVal}
	j, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("loaded", "secret", s)
	for name, out := range map[string]string{
		"%v":    fmt.Sprintf("%v", s),
		"%+v":   fmt.Sprintf("%+v", s),
		"%#v":   fmt.Sprintf("%#v", s),
		"%s":    fmt.Sprintf("%s", s),
		"json":  string(j),
		"slog":  logged.String(),
		"field": fmt.Sprintf("%+v", struct{ S Secret }{s}),
	} {
		t.Run(name, func(t *testing.T) {
			assertNoSecret(t, out)
			if !strings.Contains(out, "REDACTED") {
				t.Errorf("%s does not say the value is set: %s", name, out)
			}
		})
	}
}

// Against a real Secrets Manager API (moto_server): the request the SDK builds and the answer
// it parses are the real ones.
func TestLoadSecretMoto(t *testing.T) {
	srv := mototest.Start(t)
	sm := secretsmanager.NewFromConfig(srv.Config(t))
	ctx := context.Background()
	create := func(t *testing.T, name, value string) string {
		t.Helper()
		out, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(value)})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.ARN)
	}

	t.Run("token and signing secret", func(t *testing.T) {
		arn := create(t, "watchdog/slack", `{"token":"`+tokenVal+`","signing_secret":"`+signerVal+`"}`)
		got, err := LoadSecret(ctx, sm, arn)
		if err != nil {
			t.Fatal(err)
		}
		if got.Token != tokenVal || got.SigningSecret != signerVal || got.WebhookURL != "" {
			t.Errorf("got %v", got)
		}
	})
	t.Run("by name, webhook only", func(t *testing.T) {
		create(t, "watchdog/slack-webhook", `{"webhook_url":"`+hookVal+`"}`)
		got, err := LoadSecret(ctx, sm, "watchdog/slack-webhook")
		if err != nil {
			t.Fatal(err)
		}
		if got.WebhookURL != hookVal || got.Token != "" {
			t.Errorf("got %v", got)
		}
	})
	t.Run("not JSON", func(t *testing.T) {
		arn := create(t, "watchdog/slack-bare", tokenVal)
		_, err := LoadSecret(ctx, sm, arn)
		if err == nil || !strings.Contains(err.Error(), "not a JSON object") {
			t.Fatalf("err = %v", err)
		}
		assertNoSecret(t, err.Error())
	})
	t.Run("missing", func(t *testing.T) {
		_, err := LoadSecret(ctx, sm, "watchdog/does-not-exist")
		var nf *smtypes.ResourceNotFoundException
		if !errors.As(err, &nf) {
			t.Errorf("err = %v, want ResourceNotFoundException", err)
		}
	})
}

package lambdaenv_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/iam-watchdog/iam-watchdog/internal/watchdogtest"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/lambdaenv"
	"github.com/iam-watchdog/iam-watchdog/pkg/policy"
)

const (
	functionRole  = "arn:aws:iam::" + watchdogtest.Account + ":role/iam-watchdog-WatchdogFunctionRole-Q1W2E3"
	quarantineARN = "arn:aws:iam::" + watchdogtest.Account + ":policy/iam-watchdog-DenyUnlessMFA"
	slackRole     = "arn:aws:iam::" + watchdogtest.Account + ":role/iam-watchdog/iam-watchdog-SlackActionsRole-Z9X8"
)

func envFrom(vars map[string]string) lambdaenv.Env {
	return lambdaenv.From(func(k string) string { return vars[k] })
}

func writeConfig(t *testing.T, yaml string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "watchdog.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestFrom(t *testing.T) {
	vars := map[string]string{
		"SLACK_SECRET_ARN":      "arn:aws:secretsmanager:us-east-1:123456789012:secret:slack-AbCdEf",
		"SLACK_CHANNEL":         "#security",
		"SLACK_API_URL":         "http://127.0.0.1:9999/api/",
		"REMEDIATION_MODE":      "auto",
		"STATE_TABLE":           "iam-watchdog-state",
		"STATE_KEY_ARN":         stateKeyARN,
		"QUARANTINE_POLICY_ARN": quarantineARN,
		"WATCHDOG_ROLE_ARN":     functionRole,
		"WATCHDOG_CONFIG":       "/var/task/watchdog.yaml",
		"SELF_ROLE_ARNS":        functionRole + "," + slackRole,
	}
	want := lambdaenv.Env{
		SlackSecretARN: vars["SLACK_SECRET_ARN"], SlackChannel: "#security", SlackAPIURL: vars["SLACK_API_URL"],
		RemediationMode: "auto", StateTable: "iam-watchdog-state", StateKeyARN: stateKeyARN, QuarantinePolicyARN: quarantineARN,
		RoleARN: functionRole, SelfRoleARNs: functionRole + "," + slackRole, ConfigPath: "/var/task/watchdog.yaml",
	}
	if got := envFrom(vars); got != want {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
}

func TestConfig(t *testing.T) {
	t.Run("defaults", func(t *testing.T) {
		c, err := envFrom(nil).Config()
		if err != nil || c.Mode != policy.DryRun || len(c.SelfRoleARNs) != 0 {
			t.Fatalf("%+v %v: want dry-run", c, err)
		}
	})
	t.Run("invalid REMEDIATION_MODE", func(t *testing.T) {
		_, err := envFrom(map[string]string{"REMEDIATION_MODE": "yolo"}).Config()
		if err == nil || !strings.Contains(err.Error(), "REMEDIATION_MODE") || !strings.Contains(err.Error(), "yolo") {
			t.Fatalf("error %v: want one naming REMEDIATION_MODE and the value", err)
		}
	})
	t.Run("auto needs STATE_TABLE", func(t *testing.T) {
		_, err := envFrom(map[string]string{"REMEDIATION_MODE": "auto"}).Config()
		if err == nil || !strings.Contains(err.Error(), "STATE_TABLE") {
			t.Fatalf("error %v: want one naming STATE_TABLE", err)
		}
		c, err := envFrom(map[string]string{"REMEDIATION_MODE": "auto", "STATE_TABLE": "iam-watchdog-state"}).Config()
		if err != nil || c.Mode != policy.Auto {
			t.Fatalf("auto with a table: %+v %v", c, err)
		}
	})
	t.Run("auto for one rule needs STATE_TABLE", func(t *testing.T) {
		path := writeConfig(t, "mode: dry-run\nrules:\n  user-managed-policy-attached:\n    mode: auto\n")
		_, err := envFrom(map[string]string{"WATCHDOG_CONFIG": path}).Config()
		if err == nil || !strings.Contains(err.Error(), "STATE_TABLE") {
			t.Fatalf("error %v: a rule in auto mode acts too, and its undo must be recorded", err)
		}
		// A disabled rule never acts.
		path = writeConfig(t, "rules:\n  user-managed-policy-attached:\n    mode: auto\n    enabled: false\n")
		if _, err := envFrom(map[string]string{"WATCHDOG_CONFIG": path}).Config(); err != nil {
			t.Fatalf("disabled auto rule: %v", err)
		}
	})
	t.Run("WATCHDOG_ROLE_ARN is the watchdog's own", func(t *testing.T) {
		c, err := envFrom(map[string]string{"WATCHDOG_ROLE_ARN": functionRole}).Config()
		if err != nil || !slices.Contains(c.SelfRoleARNs, functionRole) {
			t.Fatalf("%+v %v: want the role among SelfRoleARNs", c, err)
		}
	})
	// Both functions' roles (template.yaml), so that neither alerts on nor fights the other.
	t.Run("SELF_ROLE_ARNS are the watchdog's own", func(t *testing.T) {
		c, err := envFrom(map[string]string{"WATCHDOG_ROLE_ARN": functionRole, "SELF_ROLE_ARNS": functionRole + ", " + slackRole}).Config()
		if err != nil || !slices.Contains(c.SelfRoleARNs, functionRole) || !slices.Contains(c.SelfRoleARNs, slackRole) {
			t.Fatalf("%+v %v: want both roles among SelfRoleARNs", c, err)
		}
		for _, a := range []string{functionRole, slackRole} {
			if !c.IsSelf(detect.Actor{ARN: a}) {
				t.Errorf("%s is not the watchdog's own", a)
			}
		}
	})
	t.Run("SELF_ROLE_ARNS not ARNs", func(t *testing.T) {
		for value, want := range map[string]string{
			"iam-watchdog-role":                        `SELF_ROLE_ARNS[0]: "iam-watchdog-role" is not an IAM role ARN`,
			functionRole + ",,":                        `SELF_ROLE_ARNS[1]: "" is not an IAM role ARN`,
			"arn:aws:iam::123456789012:policy/p":       "not an IAM role ARN",
			"arn:aws:sts::123456789012:assumed-role/r": "not an IAM role ARN",
		} {
			_, err := envFrom(map[string]string{"SELF_ROLE_ARNS": value}).Config()
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("SELF_ROLE_ARNS=%q: %v, want an error containing %q", value, err, want)
			}
		}
	})
	t.Run("WATCHDOG_ROLE_ARN not an ARN", func(t *testing.T) {
		_, err := envFrom(map[string]string{"WATCHDOG_ROLE_ARN": "iam-watchdog-role"}).Config()
		if err == nil || !strings.Contains(err.Error(), "iam-watchdog-role") {
			t.Fatalf("error %v: want one naming the value", err)
		}
	})
	t.Run("config file, then the environment", func(t *testing.T) {
		path := writeConfig(t, `
mode: approve
quarantine_policy_arn: arn:aws:iam::123456789012:policy/old-quarantine
self_role_arns: [arn:aws:iam::123456789012:role/ci-watchdog]
rules:
  access-key-created:
    mode: "off"
`)
		c, err := envFrom(map[string]string{
			"WATCHDOG_CONFIG": path, "REMEDIATION_MODE": "dry-run",
			"QUARANTINE_POLICY_ARN": quarantineARN, "WATCHDOG_ROLE_ARN": functionRole,
		}).Config()
		if err != nil {
			t.Fatal(err)
		}
		if c.Mode != policy.DryRun || c.QuarantinePolicyARN != quarantineARN {
			t.Fatalf("%+v: want the environment's mode and quarantine policy", c)
		}
		if want := []string{"arn:aws:iam::123456789012:role/ci-watchdog", functionRole}; !slices.Equal(c.SelfRoleARNs, want) {
			t.Fatalf("SelfRoleARNs %v, want %v", c.SelfRoleARNs, want)
		}
		if c.ModeFor("access-key-created") != policy.Off {
			t.Fatalf("the file's rule override was lost: %+v", c.Rules)
		}
		// Without REMEDIATION_MODE the file's mode stands.
		c, err = envFrom(map[string]string{"WATCHDOG_CONFIG": path}).Config()
		if err != nil || c.Mode != policy.Approve {
			t.Fatalf("%+v %v: want the file's mode", c, err)
		}
	})
	t.Run("bad config file", func(t *testing.T) {
		path := writeConfig(t, "rules:\n  access-key-created:\n    mode: sometimes\n")
		_, err := envFrom(map[string]string{"WATCHDOG_CONFIG": path}).Config()
		if err == nil || !strings.Contains(err.Error(), "WATCHDOG_CONFIG") || !strings.Contains(err.Error(), "rules.access-key-created.mode") {
			t.Fatalf("error %v: want one naming WATCHDOG_CONFIG and the key", err)
		}
		_, err = envFrom(map[string]string{"WATCHDOG_CONFIG": filepath.Join(t.TempDir(), "missing.yaml")}).Config()
		if err == nil || !strings.Contains(err.Error(), "WATCHDOG_CONFIG") {
			t.Fatalf("error %v: want one naming WATCHDOG_CONFIG", err)
		}
	})
}

// REMEDIATION_MODE off or dry-run is a kill switch: no rule acts, whatever the config says;
// auto or approve sets the default and ceiling, and a rule may still ask for less (one rule with
// the CLI's --mode: policy.Config.WithMode, TestWithMode).
func TestRemediationModeCeiling(t *testing.T) {
	path := writeConfig(t, "rules:\n  access-key-created: {mode: auto}\n  cloudtrail-logging-stopped: {mode: off}\n")
	for _, tt := range []struct {
		env, key, trail policy.Mode
	}{
		{policy.DryRun, policy.DryRun, policy.Off},
		{policy.Off, policy.Off, policy.Off},
		{policy.Auto, policy.Auto, policy.Off},
		{policy.Approve, policy.Approve, policy.Off}, // approve turns the rule's auto into approve
	} {
		t.Run(string(tt.env), func(t *testing.T) {
			cfg, err := lambdaenv.Env{RemediationMode: string(tt.env), ConfigPath: path, StateTable: "t"}.Config()
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.ModeFor("access-key-created"); got != tt.key {
				t.Errorf("access-key-created mode %s, want %s", got, tt.key)
			}
			if got := cfg.ModeFor("cloudtrail-logging-stopped"); got != tt.trail {
				t.Errorf("cloudtrail-logging-stopped mode %s, want %s", got, tt.trail)
			}
		})
	}
}

// A config file bundled in the deployment package (make build CONFIG=FILE) is read unless
// WATCHDOG_CONFIG names another; a package without one has no config file.
func TestBundledConfig(t *testing.T) {
	root := t.TempDir()
	env := func(vars map[string]string) func(string) string { return func(k string) string { return vars[k] } }
	if got := lambdaenv.From(env(map[string]string{"LAMBDA_TASK_ROOT": root})).ConfigPath; got != "" {
		t.Fatalf("no bundled file: ConfigPath %q, want none", got)
	}
	bundled := filepath.Join(root, lambdaenv.BundledConfig)
	if err := os.WriteFile(bundled, []byte("mode: dry-run\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := lambdaenv.From(env(map[string]string{"LAMBDA_TASK_ROOT": root})).ConfigPath; got != bundled {
		t.Errorf("bundled file: ConfigPath %q, want %q", got, bundled)
	}
	if got := lambdaenv.From(env(map[string]string{"LAMBDA_TASK_ROOT": root, "WATCHDOG_CONFIG": "/etc/w.yaml"})).ConfigPath; got != "/etc/w.yaml" {
		t.Errorf("WATCHDOG_CONFIG set: ConfigPath %q, want it", got)
	}
}

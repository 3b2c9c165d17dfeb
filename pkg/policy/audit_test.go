package policy_test

import (
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/iam-watchdog/iam-watchdog/pkg/policy"
)

func TestParseAudit(t *testing.T) {
	c, err := policy.Parse([]byte(`
audit:
  groups: [Administrators, Platform]
  unused_days: 30
  rotation_days: 60
  root_use_days: 7
  concurrency: 8
  accounts: ["111111111111", "222222222222"]
  forward_regions: [eu-west-1, us-gov-west-1]
  home_bus_arn: arn:aws:events:us-east-1:123456789012:event-bus/org
  digest_always: true
  every: 24h
`))
	if err != nil {
		t.Fatal(err)
	}
	n := func(i int) *int { return &i }
	day := 24 * time.Hour
	want := policy.AuditConfig{
		Groups: []string{"Administrators", "Platform"}, UnusedDays: n(30), RotationDays: n(60), RootUseDays: n(7), Concurrency: n(8),
		Accounts: []string{"111111111111", "222222222222"}, ForwardRegions: []string{"eu-west-1", "us-gov-west-1"},
		HomeBusARN: "arn:aws:events:us-east-1:123456789012:event-bus/org", DigestAlways: true, Every: &day,
	}
	if !reflect.DeepEqual(c.Audit, want) {
		t.Errorf("audit config\n got %+v\nwant %+v", c.Audit, want)
	}
	if c, err := policy.Parse([]byte("mode: off\n")); err != nil || !reflect.DeepEqual(c.Audit, policy.AuditConfig{}) {
		t.Errorf("no audit key: %+v, %v; want the zero AuditConfig (every default)", c.Audit, err)
	}
}

// TestParseAuditErrors: every bad audit value is an error naming its key.
func TestParseAuditErrors(t *testing.T) {
	for _, tc := range []struct {
		yaml, want string
	}{
		{"audit: {unused_days: 0}", "audit.unused_days: 0 is outside 1 to 3650"},
		{"audit: {rotation_days: -5}", "audit.rotation_days: -5 is outside 1 to 3650"},
		{"audit: {root_use_days: 4000}", "audit.root_use_days: 4000 is outside 1 to 3650"},
		{"audit: {concurrency: 0}", "audit.concurrency: 0 is outside 1 to 64"},
		{"audit: {groups: []}", "audit.groups: an empty list"},
		{"audit: {groups: [\"dev team\"]}", `audit.groups[0]: "dev team" is not an IAM group name`},
		{"audit: {accounts: [\"12345\"]}", `audit.accounts[0]: "12345" is not a 12-digit account ID`},
		{"audit: {accounts: [\"111111111111\", \"111111111111\"]}", "audit.accounts[1]: 111111111111 is listed twice"},
		{"audit: {organization: true, accounts: [\"111111111111\"]}", "audit.organization: true audits every account"},
		{"audit: {forward_regions: [Ireland]}", `audit.forward_regions[0]: "Ireland" is not a Region name`},
		{"audit: {home_bus_arn: default}", `audit.home_bus_arn: "default" is not an event bus ARN`},
		{"audit: {every: -1h}", "audit.every: -1h0m0s is outside 0"},
		{"audit: {every: 800h}", "audit.every: 800h0m0s is outside 0"},
		{"audit: {unused_days: soon}", "audit.unused_days"},
		{"audit: {digest: true}", `line 1: audit: unknown key "digest"`},
	} {
		t.Run(tc.yaml, func(t *testing.T) {
			_, err := policy.Parse([]byte(tc.yaml + "\n"))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestAuditKeysDocumented: config/watchdog.yaml, the commented example of every key, shows each
// audit key, and parses.
func TestAuditKeysDocumented(t *testing.T) {
	data, err := os.ReadFile("../../config/watchdog.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := policy.Parse(data); err != nil {
		t.Fatalf("config/watchdog.yaml: %v", err)
	}
	typ := reflect.TypeOf(policy.AuditConfig{})
	for i := range typ.NumField() {
		key := typ.Field(i).Tag.Get("yaml")
		if !strings.Contains(string(data), "\n  "+key+":") && !strings.Contains(string(data), "\n  # "+key+":") {
			t.Errorf("config/watchdog.yaml does not show audit.%s", key)
		}
	}
}

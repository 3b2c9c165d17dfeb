package watchdog_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/iam-watchdog/iam-watchdog/internal/mototest"
	"github.com/iam-watchdog/iam-watchdog/internal/watchdogtest"
	"github.com/iam-watchdog/iam-watchdog/pkg/alert"
	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/policy"
)

// TestKMSCallsPerFinding measures what docs/deploy.md states: a finding stored costs one
// GenerateMac, two when the watchdog acts (the plan is sealed before the action, the outcome
// after), and no VerifyMac for a new one; a redelivery, which finds the finding alerted, none.
func TestKMSCallsPerFinding(t *testing.T) {
	cfg := mototest.Start(t).Config(t)
	client := kms.NewFromConfig(cfg)
	keyARN := mototest.CreateStateKey(t, client)
	for _, tc := range []struct {
		mode                     policy.Mode
		wantGenerate, wantVerify int64
	}{
		{policy.Auto, 2, 0},
		{policy.Approve, 1, 0},
		{policy.DryRun, 1, 0},
	} {
		t.Run(string(tc.mode), func(t *testing.T) {
			counted := &mototest.MACCounter{Client: client}
			var applied watchdogtest.Calls[detect.Action]
			var alerts watchdogtest.Calls[alert.Alert]
			p := watchdogtest.Pipeline(tc.mode, watchdogtest.Applying(&applied, watchdogtest.Reverted), watchdogtest.OpenStore(t),
				watchdogtest.Delivering(&alerts, watchdogtest.SlackMessage, nil))
			p.Codec = alert.Codec{KeyARN: keyARN, KMS: counted}
			record := watchdogtest.CreateAccessKey("9d1a3b52-0033-4c1e-8f00-0000000000"+string(tc.mode[:2]), watchdogtest.Alice)
			if _, err := handleOne(t, p, record); err != nil {
				t.Fatal(err)
			}
			if g, v := counted.Generate.Load(), counted.Verify.Load(); g != tc.wantGenerate || v != tc.wantVerify {
				t.Errorf("%d GenerateMac and %d VerifyMac calls; want %d and %d", g, v, tc.wantGenerate, tc.wantVerify)
			}
			if _, err := handleOne(t, p, record); err != nil {
				t.Fatal(err)
			}
			if g, v := counted.Generate.Load(), counted.Verify.Load(); g != tc.wantGenerate || v != tc.wantVerify {
				t.Errorf("a redelivery made MAC calls: now %d and %d", g, v)
			}
		})
	}
}

package audit

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/iam-watchdog/iam-watchdog/internal/mototest"
)

// startMoto returns the package's shared moto_server (testmain_test.go), reset to empty.
// Without AWS managed policies, moto answers GetAccountAuthorizationDetails in milliseconds
// instead of seconds. The test fails when moto_server is not installed.
func startMoto(t *testing.T) *mototest.Server {
	t.Helper()
	return mototest.Start(t)
}

// fastOptions are options for tests: a quick poll for moto's credential report (moto says
// STARTED once, then COMPLETE) and a fixed clock.
func fastOptions(now time.Time) Options {
	return Options{ReportPoll: 10 * time.Millisecond, ReportWait: 20 * time.Second, Now: func() time.Time { return now }}
}

func mustAuditor(t *testing.T, opts Options) *Auditor {
	t.Helper()
	au, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return au
}

// find returns the result of check on the resource whose ARN ends with suffix.
func find(t *testing.T, results []Result, check, suffix string) Result {
	t.Helper()
	var found []Result
	for _, r := range results {
		if r.Check == check && strings.HasSuffix(r.Resource, suffix) {
			found = append(found, r)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d results of %s on *%s, want 1; results of the check: %v", len(found), check, suffix, ofCheck(results, check))
	}
	return found[0]
}

func ofCheck(results []Result, check string) []Result {
	var out []Result
	for _, r := range results {
		if r.Check == check {
			out = append(out, r)
		}
	}
	return out
}

// iamSetup is a moto account being set up for a test.
type iamSetup struct {
	t        *testing.T
	iam      *iam.Client
	endpoint string // moto's
}

func (s iamSetup) ctx() context.Context { return s.t.Context() }

func (s iamSetup) deactivate(user, key string) {
	s.t.Helper()
	if _, err := s.iam.UpdateAccessKey(s.ctx(), &iam.UpdateAccessKeyInput{UserName: aws.String(user), AccessKeyId: aws.String(key), Status: iamtypes.StatusTypeInactive}); err != nil {
		s.t.Fatalf("deactivate key %s of %s: %v", key, user, err)
	}
}

func (s iamSetup) passwordPolicy(length, reuse int32) {
	s.t.Helper()
	if _, err := s.iam.UpdateAccountPasswordPolicy(s.ctx(), &iam.UpdateAccountPasswordPolicyInput{MinimumPasswordLength: aws.Int32(length), PasswordReusePrevention: aws.Int32(reuse)}); err != nil {
		s.t.Fatalf("update password policy: %v", err)
	}
}

func (s iamSetup) user(name string, groups ...string) {
	s.t.Helper()
	if _, err := s.iam.CreateUser(s.ctx(), &iam.CreateUserInput{UserName: aws.String(name)}); err != nil {
		s.t.Fatalf("create user %s: %v", name, err)
	}
	for _, g := range groups {
		if _, err := s.iam.AddUserToGroup(s.ctx(), &iam.AddUserToGroupInput{UserName: aws.String(name), GroupName: aws.String(g)}); err != nil {
			s.t.Fatalf("add %s to %s: %v", name, g, err)
		}
	}
}

func (s iamSetup) password(user string) {
	s.t.Helper()
	if _, err := s.iam.CreateLoginProfile(s.ctx(), &iam.CreateLoginProfileInput{UserName: aws.String(user), Password: aws.String("Correct-Horse-Battery-1")}); err != nil {
		s.t.Fatalf("create login profile of %s: %v", user, err)
	}
}

func (s iamSetup) mfa(user string) {
	s.t.Helper()
	dev, err := s.iam.CreateVirtualMFADevice(s.ctx(), &iam.CreateVirtualMFADeviceInput{VirtualMFADeviceName: aws.String(user + "-mfa")})
	if err != nil {
		s.t.Fatalf("create MFA device for %s: %v", user, err)
	}
	_, err = s.iam.EnableMFADevice(s.ctx(), &iam.EnableMFADeviceInput{UserName: aws.String(user), SerialNumber: dev.VirtualMFADevice.SerialNumber, AuthenticationCode1: aws.String("123456"), AuthenticationCode2: aws.String("654321")})
	if err != nil {
		s.t.Fatalf("enable MFA for %s: %v", user, err)
	}
}

func (s iamSetup) key(user string) (id, secret string) {
	s.t.Helper()
	out, err := s.iam.CreateAccessKey(s.ctx(), &iam.CreateAccessKeyInput{UserName: aws.String(user)})
	if err != nil {
		s.t.Fatalf("create access key for %s: %v", user, err)
	}
	return aws.ToString(out.AccessKey.AccessKeyId), aws.ToString(out.AccessKey.SecretAccessKey)
}

func (s iamSetup) keyID(user string) string {
	s.t.Helper()
	id, _ := s.key(user)
	return id
}

func (s iamSetup) group(name string, policyARNs ...string) {
	s.t.Helper()
	if _, err := s.iam.CreateGroup(s.ctx(), &iam.CreateGroupInput{GroupName: aws.String(name)}); err != nil {
		s.t.Fatalf("create group %s: %v", name, err)
	}
	for _, p := range policyARNs {
		if _, err := s.iam.AttachGroupPolicy(s.ctx(), &iam.AttachGroupPolicyInput{GroupName: aws.String(name), PolicyArn: aws.String(p)}); err != nil {
			s.t.Fatalf("attach %s to group %s: %v", p, name, err)
		}
	}
}

func (s iamSetup) policy(name, doc string) string {
	s.t.Helper()
	out, err := s.iam.CreatePolicy(s.ctx(), &iam.CreatePolicyInput{PolicyName: aws.String(name), PolicyDocument: aws.String(doc)})
	if err != nil {
		s.t.Fatalf("create policy %s: %v", name, err)
	}
	return aws.ToString(out.Policy.Arn)
}

func (s iamSetup) attachUser(user, policyARN string) {
	s.t.Helper()
	if _, err := s.iam.AttachUserPolicy(s.ctx(), &iam.AttachUserPolicyInput{UserName: aws.String(user), PolicyArn: aws.String(policyARN)}); err != nil {
		s.t.Fatalf("attach %s to %s: %v", policyARN, user, err)
	}
}

func (s iamSetup) inline(user, name, doc string) {
	s.t.Helper()
	if _, err := s.iam.PutUserPolicy(s.ctx(), &iam.PutUserPolicyInput{UserName: aws.String(user), PolicyName: aws.String(name), PolicyDocument: aws.String(doc)}); err != nil {
		s.t.Fatalf("put inline policy %s on %s: %v", name, user, err)
	}
}

func (s iamSetup) role(name string, policyARNs ...string) {
	s.t.Helper()
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}`
	if _, err := s.iam.CreateRole(s.ctx(), &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust)}); err != nil {
		s.t.Fatalf("create role %s: %v", name, err)
	}
	for _, p := range policyARNs {
		if _, err := s.iam.AttachRolePolicy(s.ctx(), &iam.AttachRolePolicyInput{RoleName: aws.String(name), PolicyArn: aws.String(p)}); err != nil {
			s.t.Fatalf("attach %s to role %s: %v", p, name, err)
		}
	}
}

const (
	adminDoc    = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`
	readOnlyDoc = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:ListBucket"],"Resource":"*"}]}`
)

package remediate

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// fakeIAM answers each call with its func field and records the calls made. A call whose
// field is nil fails the test: the code under test made a call it should not have.
type fakeIAM struct {
	t     *testing.T
	calls []string

	updateAccessKey  func(*iam.UpdateAccessKeyInput) error
	attachUserPolicy func(*iam.AttachUserPolicyInput) error
	detachUserPolicy func(*iam.DetachUserPolicyInput) error
	getUserPolicy    func(*iam.GetUserPolicyInput) (*iam.GetUserPolicyOutput, error)
	putUserPolicy    func(*iam.PutUserPolicyInput) error
	deleteUserPolicy func(*iam.DeleteUserPolicyInput) error
}

var _ IAMAPI = (*fakeIAM)(nil)

func (f *fakeIAM) called(name string, fn any) bool {
	f.t.Helper()
	f.calls = append(f.calls, name)
	if fn == nil {
		f.t.Errorf("unexpected IAM call %s", name)
		return false
	}
	return true
}

func (f *fakeIAM) UpdateAccessKey(_ context.Context, in *iam.UpdateAccessKeyInput, _ ...func(*iam.Options)) (*iam.UpdateAccessKeyOutput, error) {
	if !f.called("UpdateAccessKey", f.updateAccessKey) {
		return nil, errUnexpected
	}
	return &iam.UpdateAccessKeyOutput{}, f.updateAccessKey(in)
}

func (f *fakeIAM) AttachUserPolicy(_ context.Context, in *iam.AttachUserPolicyInput, _ ...func(*iam.Options)) (*iam.AttachUserPolicyOutput, error) {
	if !f.called("AttachUserPolicy", f.attachUserPolicy) {
		return nil, errUnexpected
	}
	return &iam.AttachUserPolicyOutput{}, f.attachUserPolicy(in)
}

func (f *fakeIAM) DetachUserPolicy(_ context.Context, in *iam.DetachUserPolicyInput, _ ...func(*iam.Options)) (*iam.DetachUserPolicyOutput, error) {
	if !f.called("DetachUserPolicy", f.detachUserPolicy) {
		return nil, errUnexpected
	}
	return &iam.DetachUserPolicyOutput{}, f.detachUserPolicy(in)
}

func (f *fakeIAM) GetUserPolicy(_ context.Context, in *iam.GetUserPolicyInput, _ ...func(*iam.Options)) (*iam.GetUserPolicyOutput, error) {
	if !f.called("GetUserPolicy", f.getUserPolicy) {
		return nil, errUnexpected
	}
	return f.getUserPolicy(in)
}

func (f *fakeIAM) PutUserPolicy(_ context.Context, in *iam.PutUserPolicyInput, _ ...func(*iam.Options)) (*iam.PutUserPolicyOutput, error) {
	if !f.called("PutUserPolicy", f.putUserPolicy) {
		return nil, errUnexpected
	}
	return &iam.PutUserPolicyOutput{}, f.putUserPolicy(in)
}

func (f *fakeIAM) DeleteUserPolicy(_ context.Context, in *iam.DeleteUserPolicyInput, _ ...func(*iam.Options)) (*iam.DeleteUserPolicyOutput, error) {
	if !f.called("DeleteUserPolicy", f.deleteUserPolicy) {
		return nil, errUnexpected
	}
	return &iam.DeleteUserPolicyOutput{}, f.deleteUserPolicy(in)
}

// fakeTrail answers StartLogging with its func field.
type fakeTrail struct {
	startLogging func(*cloudtrail.StartLoggingInput) error
}

func (f *fakeTrail) StartLogging(_ context.Context, in *cloudtrail.StartLoggingInput, _ ...func(*cloudtrail.Options)) (*cloudtrail.StartLoggingOutput, error) {
	return &cloudtrail.StartLoggingOutput{}, f.startLogging(in)
}

// fakeClients hands out the fakes and records which account and region were asked for.
type fakeClients struct {
	iam   IAMAPI
	trail TrailAPI
	err   error

	accounts, regions []string
}

func (c *fakeClients) IAM(_ context.Context, account string) (IAMAPI, error) {
	c.accounts = append(c.accounts, account)
	return c.iam, c.err
}

func (c *fakeClients) CloudTrail(_ context.Context, account, region string) (TrailAPI, error) {
	c.accounts = append(c.accounts, account)
	c.regions = append(c.regions, region)
	return c.trail, c.err
}

package mototest

import (
	"bytes"
	"errors"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// Fixture creates and reads the IAM and CloudTrail state that remediation tests act on, with
// clients straight to moto. A client left nil is not used by the methods that do not need it.
type Fixture struct {
	IAM        *iam.Client
	CloudTrail *cloudtrail.Client
	S3         *s3.Client // path-style, as moto wants
}

// NewFixture builds a fixture's clients from cfg.
func NewFixture(cfg aws.Config) *Fixture {
	return &Fixture{
		IAM:        iam.NewFromConfig(cfg),
		CloudTrail: cloudtrail.NewFromConfig(cfg),
		S3:         s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }),
	}
}

// Absent is what Inline returns for an inline policy that does not exist.
const Absent = "<absent>"

// CreateUser creates an IAM user.
func (f *Fixture) CreateUser(t testing.TB, name string) {
	t.Helper()
	if _, err := f.IAM.CreateUser(t.Context(), &iam.CreateUserInput{UserName: aws.String(name)}); err != nil {
		t.Fatalf("create user %s: %v", name, err)
	}
}

// CreateKey creates an access key for user and returns its ID.
func (f *Fixture) CreateKey(t testing.TB, user string) string {
	t.Helper()
	out, err := f.IAM.CreateAccessKey(t.Context(), &iam.CreateAccessKeyInput{UserName: aws.String(user)})
	if err != nil {
		t.Fatalf("create access key for %s: %v", user, err)
	}
	return aws.ToString(out.AccessKey.AccessKeyId)
}

// SetKey sets an access key's status (Active or Inactive).
func (f *Fixture) SetKey(t testing.TB, user, key, status string) {
	t.Helper()
	_, err := f.IAM.UpdateAccessKey(t.Context(), &iam.UpdateAccessKeyInput{UserName: aws.String(user), AccessKeyId: aws.String(key), Status: types.StatusType(status)})
	if err != nil {
		t.Fatalf("set key %s of %s to %s: %v", key, user, status, err)
	}
}

// Keys maps each of user's access key IDs to its status.
func (f *Fixture) Keys(t testing.TB, user string) map[string]string {
	t.Helper()
	out, err := f.IAM.ListAccessKeys(t.Context(), &iam.ListAccessKeysInput{UserName: aws.String(user)})
	if err != nil {
		t.Fatalf("list access keys of %s: %v", user, err)
	}
	keys := map[string]string{}
	for _, k := range out.AccessKeyMetadata {
		keys[aws.ToString(k.AccessKeyId)] = string(k.Status)
	}
	return keys
}

// CreatePolicy creates a customer managed policy (a deny-unless-MFA document, as the
// quarantine policy) and returns its ARN.
func (f *Fixture) CreatePolicy(t testing.TB, name string) string {
	t.Helper()
	out, err := f.IAM.CreatePolicy(t.Context(), &iam.CreatePolicyInput{
		PolicyName:     aws.String(name),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}}}]}`),
	})
	if err != nil {
		t.Fatalf("create policy %s: %v", name, err)
	}
	return aws.ToString(out.Policy.Arn)
}

// Attach attaches a managed policy to user.
func (f *Fixture) Attach(t testing.TB, user, policyARN string) {
	t.Helper()
	if _, err := f.IAM.AttachUserPolicy(t.Context(), &iam.AttachUserPolicyInput{UserName: aws.String(user), PolicyArn: aws.String(policyARN)}); err != nil {
		t.Fatalf("attach %s to %s: %v", policyARN, user, err)
	}
}

// Detach detaches a managed policy from user.
func (f *Fixture) Detach(t testing.TB, user, policyARN string) {
	t.Helper()
	if _, err := f.IAM.DetachUserPolicy(t.Context(), &iam.DetachUserPolicyInput{UserName: aws.String(user), PolicyArn: aws.String(policyARN)}); err != nil {
		t.Fatalf("detach %s from %s: %v", policyARN, user, err)
	}
}

// Attached lists the managed policies attached to user, sorted (empty, not nil, for none).
func (f *Fixture) Attached(t testing.TB, user string) []string {
	t.Helper()
	out, err := f.IAM.ListAttachedUserPolicies(t.Context(), &iam.ListAttachedUserPoliciesInput{UserName: aws.String(user)})
	if err != nil {
		t.Fatalf("list attached policies of %s: %v", user, err)
	}
	arns := []string{}
	for _, p := range out.AttachedPolicies {
		arns = append(arns, aws.ToString(p.PolicyArn))
	}
	slices.Sort(arns)
	return arns
}

// PutInline puts an inline policy on user.
func (f *Fixture) PutInline(t testing.TB, user, name, doc string) {
	t.Helper()
	if _, err := f.IAM.PutUserPolicy(t.Context(), &iam.PutUserPolicyInput{UserName: aws.String(user), PolicyName: aws.String(name), PolicyDocument: aws.String(doc)}); err != nil {
		t.Fatalf("put inline policy %s on %s: %v", name, user, err)
	}
}

// DeleteInline deletes an inline policy of user.
func (f *Fixture) DeleteInline(t testing.TB, user, name string) {
	t.Helper()
	if _, err := f.IAM.DeleteUserPolicy(t.Context(), &iam.DeleteUserPolicyInput{UserName: aws.String(user), PolicyName: aws.String(name)}); err != nil {
		t.Fatalf("delete inline policy %s of %s: %v", name, user, err)
	}
}

// Inline is the decoded document of user's inline policy name, or Absent.
func (f *Fixture) Inline(t testing.TB, user, name string) string {
	t.Helper()
	out, err := f.IAM.GetUserPolicy(t.Context(), &iam.GetUserPolicyInput{UserName: aws.String(user), PolicyName: aws.String(name)})
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode() == "NoSuchEntity" {
		return Absent
	}
	if err != nil {
		t.Fatalf("get inline policy %s of %s: %v", name, user, err)
	}
	doc, err := url.PathUnescape(aws.ToString(out.PolicyDocument))
	if err != nil {
		t.Fatalf("decode inline policy %s of %s: %v", name, user, err)
	}
	return doc
}

// CreateStoppedTrail creates a trail over a new bucket, starts and stops its logging. moto
// finds trails by name only, so events must name it, not its ARN.
func (f *Fixture) CreateStoppedTrail(t testing.TB, name string) {
	t.Helper()
	ctx := t.Context()
	bucket := name + "-logs"
	if _, err := f.S3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("create bucket %s: %v", bucket, err)
	}
	if _, err := f.CloudTrail.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String(name), S3BucketName: aws.String(bucket)}); err != nil {
		t.Fatalf("create trail %s: %v", name, err)
	}
	if _, err := f.CloudTrail.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String(name)}); err != nil {
		t.Fatalf("start logging on %s: %v", name, err)
	}
	if _, err := f.CloudTrail.StopLogging(ctx, &cloudtrail.StopLoggingInput{Name: aws.String(name)}); err != nil {
		t.Fatalf("stop logging on %s: %v", name, err)
	}
}

// Logging reports whether the trail is logging.
func (f *Fixture) Logging(t testing.TB, trail string) bool {
	t.Helper()
	out, err := f.CloudTrail.GetTrailStatus(t.Context(), &cloudtrail.GetTrailStatusInput{Name: aws.String(trail)})
	if err != nil {
		t.Fatalf("trail status of %s: %v", trail, err)
	}
	return aws.ToBool(out.IsLogging)
}

// Upload copies the files under dir into bucket, each under prefix plus its path below dir
// (with / separators): a local archive in CloudTrail's layout becomes the same archive in S3.
func (f *Fixture) Upload(t testing.TB, bucket, prefix, dir string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		_, err = f.S3.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(prefix + filepath.ToSlash(rel)), Body: bytes.NewReader(data)})
		return err
	})
	if err != nil {
		t.Fatalf("upload %s to s3://%s/%s: %v", dir, bucket, prefix, err)
	}
}

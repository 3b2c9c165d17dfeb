package audit

import (
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/iam-watchdog/iam-watchdog/internal/faultproxy"
	"github.com/iam-watchdog/iam-watchdog/internal/mototest"
)

// perUserCalls are the IAM calls a per-user audit would make; the engine must make none.
var perUserCalls = []string{
	"ListUsers", "GetUser", "ListAccessKeys", "GetAccessKeyLastUsed", "ListMFADevices", "GetLoginProfile",
	"ListAttachedUserPolicies", "ListUserPolicies", "GetUserPolicy", "ListGroupsForUser", "GetPolicy", "GetPolicyVersion",
}

// TestCallsDoNotGrowWithUsers counts, at the HTTP layer (a proxy in front of moto_server), every
// AWS call a whole audit makes (IAM, STS, CloudTrail, EventBridge, SQS) for an account of 3 users
// and for one of 30, each user with a console password, MFA or not, access keys, a group and
// policies of its own; and requires the same calls, the same number of times, both times.
func TestCallsDoNotGrowWithUsers(t *testing.T) {
	srv := startMoto(t)
	count := func(users int) faultproxy.Calls {
		srv.Reset(t)
		cfg := srv.Config(t)
		s := iamSetup{t, iam.NewFromConfig(cfg), srv.Endpoint}
		readS3 := s.policy("read-s3", readOnlyDoc)
		s.group("Developers", readS3)
		s.group("Business")
		for i := range users {
			name := fmt.Sprintf("user%02d", i)
			s.user(name, []string{"Developers", "Business"}[i%2])
			s.password(name)
			if i%3 == 0 {
				s.mfa(name)
			}
			s.key(name)
			if i%4 == 0 {
				s.key(name)
			}
			if i%5 == 0 {
				s.attachUser(name, readS3)
				s.inline(name, "extra", readOnlyDoc)
			}
		}
		createTrail(t, cfg, "main", trailSpec{multiRegion: true, validation: true, logging: true, selectors: allManagement})
		putRule(t, cfg, "us-east-1", "watchdog-iam", true, functionARN)
		putRule(t, cfg, "eu-west-1", "forward", true, "arn:aws:events:us-east-1:123456789012:event-bus/default")
		q, err := sqs.NewFromConfig(cfg).CreateQueue(t.Context(), &sqs.CreateQueueInput{QueueName: aws.String("dlq")})
		if err != nil {
			t.Fatal(err)
		}

		proxy := faultproxy.Start(t, srv.Endpoint)
		// moto does not implement ListOrganizationsFeatures (its 500 would be retried and
		// counted twice); the proxy answers as IAM does.
		proxy.Inject(faultproxy.Op("ListOrganizationsFeatures"), orgFeaturesAnswer("RootCredentialsManagement"))
		opts := fastOptions(time.Now())
		opts.Sight = Sight{FunctionARN: functionARN, ForwardRegions: []string{"eu-west-1"}, DeadLetterQueueURL: aws.ToString(q.QueueUrl)}
		report := mustAuditor(t, opts).Account(t.Context(), NewClients(mototest.Config(t, proxy.URL)))
		if got := len(ofCheck(report.Results, "user-mfa")); got != users {
			t.Fatalf("%d user-mfa results for %d users: the audit did not see every user", got, users)
		}
		return proxy.Seen()
	}
	few, many := count(3), count(30)
	t.Logf("calls for 3 users: %s", few)
	t.Logf("calls for 30 users: %s", many)
	if !maps.Equal(few, many) {
		t.Errorf("the calls grow with the users:\n 3 users: %s\n30 users: %s", few, many)
	}
	for _, op := range perUserCalls {
		if many[op] > 0 {
			t.Errorf("the audit called %s, a per-user call", op)
		}
	}
	for _, op := range []string{"GenerateCredentialReport", "GetCredentialReport", "GetAccountAuthorizationDetails"} {
		if few[op] == 0 {
			t.Errorf("the audit never called %s: the count proves nothing without it", op)
		}
	}
}

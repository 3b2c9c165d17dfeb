package cloudtrailserver_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/smithy-go"

	"github.com/iam-watchdog/iam-watchdog/internal/cloudtrailserver"
)

var base = time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)

func start(t *testing.T) (*cloudtrailserver.Server, *cloudtrail.Client) {
	srv := cloudtrailserver.Start(t)
	for i := range 5 {
		srv.Add(cloudtrailserver.Event{EventID: fmt.Sprintf("key-%d", i), EventName: "CreateAccessKey", EventSource: "iam.amazonaws.com",
			EventTime: base.Add(time.Duration(i) * time.Hour), Username: "alice", CloudTrailEvent: "{}"})
	}
	srv.Add(cloudtrailserver.Event{EventID: "login", EventName: "ConsoleLogin", EventSource: "signin.amazonaws.com", EventTime: base, Username: "root"})
	c := cloudtrail.New(cloudtrail.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("testing", "testing", ""),
	})
	return srv, c
}

func byName(name string) []types.LookupAttribute {
	return []types.LookupAttribute{{AttributeKey: types.LookupAttributeKeyEventName, AttributeValue: aws.String(name)}}
}

func TestPagesNewestFirst(t *testing.T) {
	srv, c := start(t)
	p := cloudtrail.NewLookupEventsPaginator(c, &cloudtrail.LookupEventsInput{
		LookupAttributes: byName("CreateAccessKey"), StartTime: aws.Time(base.Add(time.Hour)), EndTime: aws.Time(base.Add(4 * time.Hour)), MaxResults: aws.Int32(2),
	})
	var got []string
	for p.HasMorePages() {
		out, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range out.Events {
			got = append(got, aws.ToString(e.EventId)+"@"+aws.ToTime(e.EventTime).UTC().Format("15"))
		}
	}
	// Both ends are inclusive, as the API reference says of StartTime and EndTime.
	if want := "key-4@04 key-3@03 key-2@02 key-1@01"; strings.Join(got, " ") != want {
		t.Errorf("events %q, want %q", got, want)
	}
	calls := srv.Calls()
	if len(calls) != 2 || calls[0].Attribute != "EventName=CreateAccessKey" || calls[1].NextToken == "" || calls[0].MaxResults != 2 || calls[0].Target != cloudtrailserver.ShortTarget {
		t.Errorf("calls %+v, want two pages of EventName=CreateAccessKey from the Go SDK", calls)
	}
}

func TestRefusesAsTheServiceDoes(t *testing.T) {
	srv, c := start(t)
	first, err := c.LookupEvents(t.Context(), &cloudtrail.LookupEventsInput{LookupAttributes: byName("CreateAccessKey"), MaxResults: aws.Int32(1)})
	if err != nil || first.NextToken == nil {
		t.Fatalf("first page: %v, token %v", err, first)
	}
	two := append(byName("CreateAccessKey"), types.LookupAttribute{AttributeKey: types.LookupAttributeKeyUsername, AttributeValue: aws.String("alice")})
	for _, tc := range []struct {
		name string
		in   cloudtrail.LookupEventsInput
		want string
	}{
		{"two attributes", cloudtrail.LookupEventsInput{LookupAttributes: two}, "InvalidLookupAttributesException"},
		{"unknown attribute", cloudtrail.LookupEventsInput{LookupAttributes: []types.LookupAttribute{{AttributeKey: "ErrorCode", AttributeValue: aws.String("AccessDenied")}}}, "InvalidLookupAttributesException"},
		{"MaxResults over 50", cloudtrail.LookupEventsInput{MaxResults: aws.Int32(51)}, "InvalidMaxResultsException"},
		{"start after end", cloudtrail.LookupEventsInput{StartTime: aws.Time(base.Add(time.Hour)), EndTime: aws.Time(base)}, "InvalidTimeRangeException"},
		{"token with other parameters", cloudtrail.LookupEventsInput{LookupAttributes: byName("ConsoleLogin"), NextToken: first.NextToken}, "InvalidNextTokenException"},
		{"made-up token", cloudtrail.LookupEventsInput{NextToken: aws.String("bm9wZQ")}, "InvalidNextTokenException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.LookupEvents(t.Context(), &tc.in)
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != tc.want {
				t.Errorf("error %v, want %s", err, tc.want)
			}
		})
	}
	// The SDK has typed errors for these: the wire format is the service's.
	_, err = c.LookupEvents(t.Context(), &cloudtrail.LookupEventsInput{LookupAttributes: two})
	if lae := (*types.InvalidLookupAttributesException)(nil); !errors.As(err, &lae) {
		t.Errorf("two attributes: %T %v, want *types.InvalidLookupAttributesException", err, err)
	}
	n := len(srv.Calls())
	srv.Throttle(1)
	_, err = c.LookupEvents(t.Context(), &cloudtrail.LookupEventsInput{})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ThrottlingException" || len(srv.Calls()) != n+1 || srv.Calls()[n].Error != "ThrottlingException" {
		t.Errorf("throttled: %v, want ThrottlingException recorded", err)
	}
	if _, err := c.LookupEvents(t.Context(), &cloudtrail.LookupEventsInput{}); err != nil {
		t.Errorf("after the throttled call: %v", err)
	}
}

// Raw requests: the AWS CLI's target is served, unsigned or mistargeted requests are not.
func TestRawRequests(t *testing.T) {
	srv, _ := start(t)
	signed := "AWS4-HMAC-SHA256 Credential=testing/20240601/us-east-1/cloudtrail/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature=0"
	for _, tc := range []struct {
		name, target, auth, contentType string
		wantStatus                      int
		want                            string
	}{
		{"AWS CLI target", cloudtrailserver.Target, signed, "application/x-amz-json-1.1", 200, `"EventId":"login"`},
		{"unsigned", cloudtrailserver.Target, "", "application/x-amz-json-1.1", 403, "MissingAuthenticationTokenException"},
		{"other operation", "CloudTrail_20131101.DescribeTrails", signed, "application/x-amz-json-1.1", 400, "UnknownOperationException"},
		{"plain JSON", cloudtrailserver.Target, signed, "application/json", 400, "SerializationException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/", strings.NewReader(`{"LookupAttributes":[{"AttributeKey":"Username","AttributeValue":"root"}],"StartTime":1714521600}`))
			req.Header.Set("X-Amz-Target", tc.target)
			req.Header.Set("Content-Type", tc.contentType)
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.wantStatus || !strings.Contains(string(body), tc.want) || resp.Header.Get("Content-Type") != "application/x-amz-json-1.1" {
				t.Errorf("%d %s, want %d with %s", resp.StatusCode, body, tc.wantStatus, tc.want)
			}
		})
	}
}

func TestEventFromRecord(t *testing.T) {
	for _, tc := range []struct {
		name, identity, want string
	}{
		{"root", `{"type":"Root","principalId":"111122223333","arn":"arn:aws:iam::111122223333:root","accountId":"111122223333"}`, "root"},
		{"IAM user", `{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/alice","userName":"alice","accessKeyId":"AKIAQ3EXAMPLEALICE01"}`, "alice"},
		{"assumed role", `{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/ops-admin/dana","sessionContext":{"sessionIssuer":{"userName":"ops-admin"}}}`, "dana"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := `{"eventID":"e1","eventName":"CreateAccessKey","eventSource":"iam.amazonaws.com","eventTime":"2024-05-04T10:00:05Z","readOnly":false,"userIdentity":` + tc.identity + `}`
			ev, err := cloudtrailserver.EventFromRecord([]byte(raw))
			if err != nil || ev.Username != tc.want || ev.EventID != "e1" || ev.ReadOnly != "false" || ev.CloudTrailEvent != raw || !ev.EventTime.Equal(time.Date(2024, 5, 4, 10, 0, 5, 0, time.UTC)) {
				t.Errorf("%+v, %v; want Username %q and the record's fields", ev, err, tc.want)
			}
		})
	}
	if _, err := cloudtrailserver.EventFromRecord([]byte(`{"eventName":"X"}`)); err == nil {
		t.Error("a record without eventID, eventSource, eventTime accepted")
	}
}

package cloudtrail

import (
	"encoding/json"
	"testing"
)

func TestRecordAccessors(t *testing.T) {
	for _, tt := range []struct {
		name                                        string
		identity                                    string // the userIdentity element
		extra                                       string // more fields of the record
		root, failed                                bool
		account, actor, issuer, partition, userName string
	}{
		{
			name:     "IAM user",
			identity: `{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333"}`,
			extra:    `,"recipientAccountId":"444455556666","requestParameters":{"userName":"bob"}`,
			account:  "444455556666", actor: "arn:aws:iam::111122223333:user/alice", partition: "aws", userName: "bob",
		},
		{
			name: "assumed role in GovCloud",
			identity: `{"type":"AssumedRole","arn":"arn:aws-us-gov:sts::111122223333:assumed-role/Admin/s",` +
				`"accountId":"111122223333","sessionContext":{"sessionIssuer":{"arn":"arn:aws-us-gov:iam::111122223333:role/Admin"}}}`,
			extra:   `,"errorCode":"AccessDenied","requestParameters":null`,
			failed:  true,
			account: "111122223333", actor: "arn:aws-us-gov:sts::111122223333:assumed-role/Admin/s",
			issuer: "arn:aws-us-gov:iam::111122223333:role/Admin", partition: "aws-us-gov",
		},
		{
			name:     "root without an ARN",
			identity: `{"type":"Root","accountId":"111122223333"}`,
			root:     true, account: "111122223333", actor: "arn:aws:iam::111122223333:root", partition: "aws",
		},
		{
			name:     "AWS service",
			identity: `{"type":"AWSService","invokedBy":"cloudformation.amazonaws.com"}`,
			actor:    "cloudformation.amazonaws.com", partition: "aws",
		},
		{
			name:     "principal ID only",
			identity: `{"type":"Unknown","principalId":"AIDAEXAMPLE"}`,
			actor:    "AIDAEXAMPLE", partition: "aws",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			raw := `{"eventName":"X","eventSource":"iam.amazonaws.com","eventTime":"2024-05-01T12:00:00Z",` +
				`"userIdentity":` + tt.identity + tt.extra + `}`
			recs, errs := Decode("t", []byte(raw))
			if len(recs) != 1 || len(errs) != 0 {
				t.Fatalf("Decode: %v, %v", recs, errs)
			}
			r := recs[0]
			if r.IsRoot() != tt.root || r.Failed() != tt.failed || r.Account() != tt.account ||
				r.ActorARN() != tt.actor || r.IssuerARN() != tt.issuer || r.Partition() != tt.partition {
				t.Errorf("root %v failed %v account %q actor %q issuer %q partition %q; want %v %v %q %q %q %q",
					r.IsRoot(), r.Failed(), r.Account(), r.ActorARN(), r.IssuerARN(), r.Partition(),
					tt.root, tt.failed, tt.account, tt.actor, tt.issuer, tt.partition)
			}
			params := struct{ UserName string }{UserName: "untouched"}
			if err := r.Param(&params); err != nil {
				t.Fatal(err)
			}
			if want := tt.userName; want == "" && params.UserName != "untouched" || want != "" && params.UserName != want {
				t.Errorf("Param: userName %q, want %q (or untouched without parameters)", params.UserName, want)
			}
			var resp json.RawMessage
			if err := r.Response(&resp); err != nil || resp != nil {
				t.Errorf("Response without responseElements: %q, %v; want v untouched", resp, err)
			}
		})
	}
}

package cloudtrail

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// realisticRecord returns a ~1.5 KB record like CloudTrail writes for PutRolePolicy by an
// assumed-role session.
func realisticRecord(i int) string {
	policy := `{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[\"s3:GetObject\",` +
		`\"s3:PutObject\",\"s3:ListBucket\"],\"Resource\":[\"arn:aws:s3:::example-bucket-` + fmt.Sprint(i) +
		`\",\"arn:aws:s3:::example-bucket-` + fmt.Sprint(i) + `/*\"]}]}`
	return `{"eventVersion":"1.09","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLEROLEID:deploy-` +
		fmt.Sprint(i) + `","arn":"arn:aws:sts::111122223333:assumed-role/Deployer/deploy-` + fmt.Sprint(i) +
		`","accountId":"111122223333","accessKeyId":"ASIAEXAMPLEKEY` + fmt.Sprintf("%05d", i) +
		`","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAEXAMPLEROLEID",` +
		`"arn":"arn:aws:iam::111122223333:role/Deployer","accountId":"111122223333","userName":"Deployer"},` +
		`"webIdFederationData":{},"attributes":{"creationDate":"2024-05-01T11:58:02Z","mfaAuthenticated":"false"}}},` +
		`"eventTime":"2024-05-01T12:00:00Z","eventSource":"iam.amazonaws.com","eventName":"PutRolePolicy",` +
		`"awsRegion":"us-east-1","sourceIPAddress":"198.51.100.7","userAgent":"aws-sdk-go-v2/1.30.3 os/linux ` +
		`lang/go#1.22.5 md/GOOS#linux md/GOARCH#amd64 api/iam#1.34.3","requestParameters":{"roleName":"app-` +
		fmt.Sprint(i) + `","policyName":"s3-access","policyDocument":"` + policy + `"},"responseElements":null,` +
		`"requestID":"9d3f3c1e-6c1b-4d1f-8f3e-` + fmt.Sprintf("%012d", i) + `","eventID":"4a1e5d7c-2b3f-4c6d-9e8f-` +
		fmt.Sprintf("%012d", i) + `","readOnly":false,"eventType":"AwsApiCall","managementEvent":true,` +
		`"recipientAccountId":"111122223333","eventCategory":"Management","tlsDetails":{"tlsVersion":"TLSv1.3",` +
		`"cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"iam.amazonaws.com"}}`
}

func realisticLogFile(n int) []byte {
	recs := make([]string, n)
	for i := range recs {
		recs[i] = realisticRecord(i)
	}
	return []byte(logFile(recs...))
}

func BenchmarkRecordsLogFile(b *testing.B) {
	const n = 1000
	plain := realisticLogFile(n)
	for _, bb := range []struct {
		name  string
		input []byte
	}{
		{"plain", plain},
		{"gzip", gzipped(b, plain)},
		{"pretty", []byte(pretty(b, string(plain)))},
	} {
		b.Run(bb.name, func(b *testing.B) {
			b.SetBytes(int64(len(plain))) // MB/s of the log file as CloudTrail writes it
			b.ReportAllocs()
			for b.Loop() {
				got := 0
				for rec, err := range Records("bench.json", bytes.NewReader(bb.input)) {
					if err != nil {
						b.Fatal(err)
					}
					if rec.EventName == "PutRolePolicy" {
						got++
					}
				}
				if got != n {
					b.Fatalf("read %d records, want %d", got, n)
				}
			}
		})
	}
}

func TestRealisticRecord(t *testing.T) {
	// The benchmark's records should be the size CloudTrail writes, and parse.
	r := realisticRecord(7)
	if len(r) < 1400 || len(r) > 1700 {
		t.Errorf("record is %d bytes, want about 1.5 KB", len(r))
	}
	got := collect(t, file, strings.NewReader(r))
	if len(got) != 1 || got[0].rec == nil || got[0].rec.IssuerARN() != "arn:aws:iam::111122223333:role/Deployer" {
		t.Fatalf("got %v", got)
	}
}

package audit

import "testing"

func TestGrantsFullAdmin(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		want      bool
		err       bool
	}{
		{"AdministratorAccess", adminDoc, true, false},
		{"*:* and a list of resources", `{"Statement":[{"Effect":"Allow","Action":["s3:*","*:*"],"Resource":["arn:aws:s3:::b","*"]}]}`, true, false},
		{"single statement object", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`, true, false},
		{"with a condition (CIS does not exempt it)", `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}}]}`, true, false},
		{"deny", `{"Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}`, false, false},
		{"every S3 action", `{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`, false, false},
		{"everything on one bucket", `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::b"}]}`, false, false},
		{"NotAction is another shape", `{"Statement":[{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}]}`, false, false},
		{"not JSON", `Statement: everything`, false, true},
		{"no statement", `{"Version":"2012-10-17"}`, false, true},
		{"an action that is a number", `{"Statement":[{"Effect":"Allow","Action":7,"Resource":"*"}]}`, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := GrantsFullAdmin(tc.doc)
			if got != tc.want || (err != nil) != tc.err {
				t.Errorf("GrantsFullAdmin = %v, %v; want %v, error %v", got, err, tc.want, tc.err)
			}
		})
	}
}

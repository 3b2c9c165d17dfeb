package remediate

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
)

func TestStaticAccounts(t *testing.T) {
	cfg := aws.Config{Region: "us-east-1"}
	tests := []struct {
		own, asked string
		ok         bool
	}{
		{"111122223333", "111122223333", true},
		{"111122223333", "", true},
		{"", "444455556666", true},
		{"111122223333", "444455556666", false},
	}
	for _, tt := range tests {
		s := NewStatic(cfg, tt.own)
		_, ierr := s.IAM(t.Context(), tt.asked)
		_, cerr := s.CloudTrail(t.Context(), tt.asked, "us-east-1")
		for _, err := range []error{ierr, cerr} {
			if tt.ok && err != nil {
				t.Errorf("NewStatic(%q) asked for %q: %v, want a client", tt.own, tt.asked, err)
			}
			if !tt.ok && (err == nil || !strings.Contains(err.Error(), "member role")) {
				t.Errorf("NewStatic(%q) asked for %q: %v, want an error about the member role", tt.own, tt.asked, err)
			}
		}
	}
}

func TestStaticCloudTrailRegions(t *testing.T) {
	s := NewStatic(aws.Config{Region: "us-east-1"}, "")
	get := func(region string) *cloudtrail.Client {
		t.Helper()
		c, err := s.CloudTrail(t.Context(), "", region)
		if err != nil {
			t.Fatal(err)
		}
		return c.(*cloudtrail.Client)
	}
	eu := get("eu-west-1")
	if got := eu.Options().Region; got != "eu-west-1" {
		t.Errorf("client for eu-west-1 has region %s", got)
	}
	if get("eu-west-1") != eu {
		t.Error("second client for eu-west-1 was built anew, want the cached one")
	}
	if got := get("").Options().Region; got != "us-east-1" {
		t.Errorf(`client for region "" has region %s, want the config's us-east-1`, got)
	}
}

package templatecheck

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// taggableScript asks cfn-lint's copy of the CloudFormation resource schemas which of the
// types on stdin take Tags, and prints {type: bool} as JSON.
const taggableScript = `
import json, sys
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER as m
out = {}
for t in json.load(sys.stdin):
    out[t] = "Tags" in m.get_resource_schema("us-east-1", t).schema.get("properties", {})
json.dump(out, sys.stdout)
`

// taggable reports which resource types take Tags, per CloudFormation's resource schemas.
func taggable(t *testing.T, types []string) map[string]bool {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal("python3 is not on PATH; `make tools` installs the Python tools")
	}
	in, err := json.Marshal(types)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "-c", taggableScript)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("read cfn-lint's resource schemas (is cfn-lint installed in python3's environment?): %v\n%s", err, stderr.String())
	}
	var got map[string]bool
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	return got
}

// checkTags: every resource of every stack whose type takes tags carries iam-watchdog:component
// (read back from moto where moto keeps tags), so that ProtectWatchdog and the SCP deny
// changing it by tag.
func checkTags(t *testing.T, d *deployment) {
	all := map[string]*stack{}
	for name, s := range d.apps {
		all[name] = s
	}
	for name, s := range d.infra {
		all[name] = s
	}
	types := map[string]bool{}
	for _, s := range all {
		for _, r := range s.Template.Resources() {
			types[r["Type"].(string)] = true
		}
	}
	tags := taggable(t, sortedKeys(types))
	for _, name := range sortedKeys(all) {
		s := all[name]
		for _, id := range sortedKeys(s.Template.Resources()) {
			r := s.Template.Resources()[id]
			typ := r["Type"].(string)
			if !tags[typ] || hasComponentTag(r) {
				continue
			}
			if typ == "AWS::Events::Rule" && samEventRule(s, id) {
				// samtranslator's EventsRule has no Tags property, so the rules it makes from a
				// function's Events carry none; ProtectWatchdog and the SCP deny them by name.
				continue
			}
			t.Errorf("%s: %s (%s) takes tags but has no %s tag", name, id, typ, componentTag)
		}
	}

	// Read back from moto for the services whose CloudFormation support keeps tags (moto's
	// AWS::Lambda::Function drops Tags, as it drops LoggingConfig and DeadLetterConfig).
	dc, kc := dynamodb.NewFromConfig(d.m.cfg), kms.NewFromConfig(d.m.cfg)
	s := d.apps["iam-watchdog"]
	want := map[string]string{
		"WatchdogRole": "watchdog", "SlackActionsRole": "slack-actions", "AuditRole": "audit", "AuditSchedulerRole": "audit",
		"StateTable": "state", "StateKey": "state", "AlarmKey": "alarms",
	}
	for _, id := range sortedKeys(want) {
		var got string
		switch s.Template.Resources()[id]["Type"] {
		case "AWS::IAM::Role":
			out, err := d.m.iam.GetRole(t.Context(), &iam.GetRoleInput{RoleName: aws.String(s.Resources[id])})
			if err != nil {
				t.Fatalf("tags of %s: %v", id, err)
			}
			for _, tag := range out.Role.Tags {
				if aws.ToString(tag.Key) == componentTag {
					got = aws.ToString(tag.Value)
				}
			}
		case "AWS::DynamoDB::Table":
			out, err := dc.ListTagsOfResource(t.Context(), &dynamodb.ListTagsOfResourceInput{ResourceArn: aws.String(s.arn(t, id))})
			if err != nil {
				t.Fatalf("tags of %s: %v", id, err)
			}
			for _, tag := range out.Tags {
				if aws.ToString(tag.Key) == componentTag {
					got = aws.ToString(tag.Value)
				}
			}
		case "AWS::KMS::Key":
			out, err := kc.ListResourceTags(t.Context(), &kms.ListResourceTagsInput{KeyId: aws.String(s.Resources[id])})
			if err != nil {
				t.Fatalf("tags of %s: %v", id, err)
			}
			for _, tag := range out.Tags {
				if aws.ToString(tag.TagKey) == componentTag {
					got = aws.ToString(tag.TagValue)
				}
			}
		}
		if got != want[id] {
			t.Errorf("%s in moto: %s = %q, want %q", id, componentTag, got, want[id])
		}
	}
}

// samEventRule reports whether a rule is one SAM made from a function's Events
// (<Function><Event>), which cannot carry tags.
func samEventRule(s *stack, id string) bool {
	for fid, r := range s.Template.Resources() {
		if r["Type"] == "AWS::Lambda::Function" && strings.HasPrefix(id, fid) {
			return true
		}
	}
	return false
}

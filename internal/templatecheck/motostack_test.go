package templatecheck

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/iam-watchdog/iam-watchdog/internal/mototest"
)

// motoSkips are the resource types of the project's templates that moto_server's
// CloudFormation (moto 5.2) does not create: it logs "No Moto CloudFormation support" and
// completes the stack without them. What each would do is checked another way, named here.
// createStack fails when moto creates one of them after all (so that the list shrinks as moto
// grows) and when a type is listed here but in no template.
var motoSkips = map[string]string{
	"AWS::CloudWatch::Alarm":                   "no model in moto; each alarm's metric, dimensions and actions are read back resolved (probe outputs) in TestDeployInMoto/alarms",
	"AWS::Lambda::Url":                         "no model in moto; AuthType NONE is held by TestSlackActionsContract",
	"AWS::Lambda::EventInvokeConfig":           "no model in moto; MaximumRetryAttempts is read from the template by functions/watchdog's fault tests",
	"AWS::SNS::Subscription":                   "no model in moto; the e-mail subscription is read back resolved (probe output) in TestDeployInMoto/alarms",
	"AWS::SNS::TopicPolicy":                    "no model in moto; the topic policy is read back resolved (probe output) and evaluated in TestDeployInMoto/alarms",
	"AWS::SQS::QueuePolicy":                    "no model in moto; its statement is held to the rules by TestLeastPrivilege",
	"AWS::IAM::Group":                          "no model in moto; createStack creates the groups by their GroupName through IAM first and points the stack's Ref/GetAtt at them",
	"AWS::Events::EventBusPolicy":              "no model in moto; the bus policy is read back resolved (probe output) and evaluated in TestDeployInMoto/org_bus",
	"AWS::Organizations::Policy":               "no model in moto; the SCP is read back resolved (probe output), measured and evaluated in TestDeployInMoto/scp",
	"AWS::CloudTrail::Trail":                   "no model in moto; the trail's settings are held by cfn-lint and the bucket and key policies' aws:SourceArn",
	"AWS::S3::BucketPolicy":                    "no model in moto; TestLeastPrivilege and cfn-lint hold its statements",
	"AWS::CloudFormation::WaitConditionHandle": "a null model in moto (nothing to create), as in CloudFormation",
	"AWS::Scheduler::Schedule":                 "no model in moto's CloudFormation; the schedule's name, expression and target (function, role, payload) are read back resolved (probe outputs) in TestDeployInMoto/audit_schedule",
}

// motoAccount is moto_server's account 123456789012 in us-east-1, with the clients the
// deployment tests read it back with.
type motoAccount struct {
	cfg aws.Config
	cf  *cloudformation.Client
	iam *iam.Client
}

func newMotoAccount(t *testing.T, cfg aws.Config) *motoAccount {
	t.Helper()
	m := &motoAccount{cfg: cfg, cf: cloudformation.NewFromConfig(cfg), iam: iam.NewFromConfig(cfg)}
	// The functions' code, where the translated template says `sam package` put it.
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3c.CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: aws.String(codeBucket)}); err != nil {
		t.Fatalf("create the code bucket: %v", err)
	}
	var zipped bytes.Buffer
	zw := zip.NewWriter(&zipped)
	w, err := zw.Create("bootstrap")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("#!/bin/sh\n")); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s3c.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(codeBucket), Key: aws.String(codeKey), Body: bytes.NewReader(zipped.Bytes())}); err != nil {
		t.Fatalf("upload the functions' code: %v", err)
	}
	return m
}

// stack is a stack moto created, and what it was created from.
type stack struct {
	m         *motoAccount
	Name      string
	Template  Template // as given to moto (conditions applied, moto's gaps worked around)
	Inputs    stackInputs
	Conds     map[string]bool
	Resources map[string]string // logical ID → physical ID, of what moto created
	Outputs   map[string]string
}

// probe asks moto to resolve a property of a resource (Fn::ToJsonString in an output): for
// properties moto drops or resources it skips, the test still sees the value CloudFormation
// would be given, with every Ref, GetAtt, Sub and Join resolved.
type probe struct {
	Output, Resource, Property string
}

// createStack creates tpl in moto as stack name with params and checks that moto created
// every resource it supports (every resource whose condition holds, of a type not in
// motoSkips). Probes become outputs read back in Stack.Outputs.
func (m *motoAccount) createStack(t *testing.T, name string, tpl Template, params map[string]string, probes ...probe) *stack {
	t.Helper()
	in := stackInputs{Params: params, Pseudo: map[string]string{
		"AWS::AccountId": mototest.AccountID, "AWS::Region": "us-east-1", "AWS::Partition": "aws", "AWS::StackName": name,
	}}
	conds, err := conditions(tpl, in)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	adapted := m.motoCompatible(t, tpl, in, conds)
	outputs, _ := adapted["Outputs"].(map[string]any)
	if outputs == nil {
		outputs = map[string]any{}
		adapted["Outputs"] = outputs
	}
	for _, p := range probes {
		props, _ := adapted.Resources()[p.Resource]["Properties"].(map[string]any)
		v, ok := props[p.Property]
		if !ok {
			t.Fatalf("%s: probe %s: %s has no property %s", name, p.Output, p.Resource, p.Property)
		}
		outputs[p.Output] = map[string]any{"Value": map[string]any{"Fn::ToJsonString": v}}
	}
	body, err := json.Marshal(adapted)
	if err != nil {
		t.Fatal(err)
	}
	var cfnParams []cfntypes.Parameter
	for _, k := range sortedKeys(params) {
		cfnParams = append(cfnParams, cfntypes.Parameter{ParameterKey: aws.String(k), ParameterValue: aws.String(params[k])})
	}
	_, err = m.cf.CreateStack(t.Context(), &cloudformation.CreateStackInput{
		StackName: aws.String(name), TemplateBody: aws.String(string(body)), Parameters: cfnParams,
		Capabilities: []cfntypes.Capability{cfntypes.CapabilityCapabilityIam, cfntypes.CapabilityCapabilityNamedIam},
	})
	if err != nil {
		t.Fatalf("create stack %s in moto: %v", name, err)
	}
	d, err := m.cf.DescribeStacks(t.Context(), &cloudformation.DescribeStacksInput{StackName: aws.String(name)})
	if err != nil || len(d.Stacks) != 1 {
		t.Fatalf("describe stack %s: %v", name, err)
	}
	st := d.Stacks[0]
	if st.StackStatus != cfntypes.StackStatusCreateComplete {
		t.Fatalf("stack %s: %s (%s)", name, st.StackStatus, aws.ToString(st.StackStatusReason))
	}
	s := &stack{m: m, Name: name, Template: adapted, Inputs: in, Conds: conds, Resources: map[string]string{}, Outputs: map[string]string{}}
	for _, o := range st.Outputs {
		s.Outputs[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
	}
	p := cloudformation.NewListStackResourcesPaginator(m.cf, &cloudformation.ListStackResourcesInput{StackName: aws.String(name)})
	for p.HasMorePages() {
		page, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatalf("list resources of %s: %v", name, err)
		}
		for _, r := range page.StackResourceSummaries {
			// moto lists each resource it skipped with an empty logical ID.
			if id := aws.ToString(r.LogicalResourceId); id != "" {
				s.Resources[id] = aws.ToString(r.PhysicalResourceId)
			}
		}
	}
	for id, r := range adapted.Resources() {
		typ, _ := r["Type"].(string)
		if c, ok := r["Condition"].(string); ok && !conds[c] {
			if _, created := s.Resources[id]; created {
				t.Errorf("%s: %s was created although its condition %s is false", name, id, c)
			}
			continue
		}
		_, created := s.Resources[id]
		_, skipped := motoSkips[typ]
		switch {
		case skipped && created:
			t.Errorf("%s: moto now creates %s (%s): remove it from motoSkips and check it from moto", name, id, typ)
		case !skipped && !created:
			t.Errorf("%s: moto did not create %s (%s); if moto cannot, add the type to motoSkips with the reason", name, id, typ)
		}
	}
	for id := range s.Resources {
		if _, ok := adapted.Resources()[id]; !ok {
			t.Errorf("%s: moto created %s, which the template does not declare", name, id)
		}
	}
	for _, pr := range probes {
		if _, ok := s.Outputs[pr.Output]; !ok {
			t.Errorf("%s: probe %s came back empty", name, pr.Output)
		}
	}
	return s
}

// motoCompatible returns a copy of tpl that moto_server 5.2 creates as CloudFormation would,
// working around its gaps, each named:
//   - Fn::If elements of lists that choose AWS::NoValue are removed (moto keeps them as nulls);
//   - AWS::KMS::Key: KeyPolicy is given as JSON text (moto keeps an object, then fails to read
//     it back in DescribeKey and GetKeyPolicy) and Tags with the API's TagKey/TagValue names
//     (moto hands CloudFormation's Key/Value to its tagging service unchanged, and fails);
//   - AWS::IAM::Role: inline Policies are given as JSON text (moto stores an object's Python
//     repr, which GetRolePolicy then returns);
//   - AWS::IAM::Group (not created by moto): created through IAM by its GroupName, and its Ref
//     and GetAtt Arn replaced by that name and ARN;
//   - outputs that name a resource moto skips are left out (moto's output validation fails on
//     them).
func (m *motoAccount) motoCompatible(t *testing.T, tpl Template, in stackInputs, conds map[string]bool) Template {
	t.Helper()
	var v any
	b, err := json.Marshal(tpl)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	v, err = dropNoValue(v, conds)
	if err != nil {
		t.Fatal(err)
	}
	out := Template(v.(map[string]any))
	rs := out.Resources()
	for _, id := range sortedKeys(rs) {
		r := rs[id]
		props, _ := r["Properties"].(map[string]any)
		switch r["Type"] {
		case "AWS::KMS::Key":
			if pol, ok := props["KeyPolicy"]; ok {
				props["KeyPolicy"] = map[string]any{"Fn::ToJsonString": pol}
			}
			if tags, ok := props["Tags"].([]any); ok {
				var renamed []any
				for _, tag := range tags {
					tm, _ := tag.(map[string]any)
					renamed = append(renamed, map[string]any{"TagKey": tm["Key"], "TagValue": tm["Value"]})
				}
				props["Tags"] = renamed
			}
		case "AWS::IAM::Role":
			pols, _ := props["Policies"].([]any)
			for _, p := range pols {
				if pm, ok := p.(map[string]any); ok {
					pm["PolicyDocument"] = map[string]any{"Fn::ToJsonString": pm["PolicyDocument"]}
				}
			}
		case "AWS::IAM::Group":
			if c, ok := r["Condition"].(string); ok && !conds[c] {
				continue
			}
			gname, ok := props["GroupName"].(string)
			if ref, isRef := props["GroupName"].(map[string]any); isRef {
				gname, ok = in.Params[fmt.Sprint(ref["Ref"])]
				if !ok {
					p, _ := out["Parameters"].(map[string]any)[fmt.Sprint(ref["Ref"])].(map[string]any)
					gname, ok = p["Default"].(string)
				}
			}
			if !ok || gname == "" {
				t.Fatalf("%s: a group without a GroupName cannot be made in moto's stead", id)
			}
			g, err := m.iam.CreateGroup(t.Context(), &iam.CreateGroupInput{GroupName: aws.String(gname)})
			var exists *iamtypes.EntityAlreadyExistsException
			switch {
			case errors.As(err, &exists):
				got, err := m.iam.GetGroup(t.Context(), &iam.GetGroupInput{GroupName: aws.String(gname)})
				if err != nil {
					t.Fatal(err)
				}
				g = &iam.CreateGroupOutput{Group: got.Group}
			case err != nil:
				t.Fatalf("create group %s in moto: %v", gname, err)
			}
			replaced := replaceRefs(map[string]any(out), id, gname, map[string]any{"Arn": aws.ToString(g.Group.Arn)})
			out = Template(replaced.(map[string]any))
			rs = out.Resources()
		}
	}
	outputs, _ := out["Outputs"].(map[string]any)
	for name, o := range outputs {
		for _, ref := range referencedIDs(o) {
			if _, skipped := motoSkips[fmt.Sprint(rs[ref]["Type"])]; skipped {
				delete(outputs, name)
				break
			}
		}
	}
	return out
}

// replaceRefs replaces {"Ref": id} by ref and {"Fn::GetAtt": [id, A]} by attrs[A] throughout v.
func replaceRefs(v any, id string, ref any, attrs map[string]any) any {
	switch v := v.(type) {
	case map[string]any:
		if len(v) == 1 {
			if r, ok := v["Ref"]; ok && r == id {
				return ref
			}
			if ga, ok := v["Fn::GetAtt"].([]any); ok && len(ga) == 2 && ga[0] == id {
				if a, known := attrs[fmt.Sprint(ga[1])]; known {
					return a
				}
			}
		}
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = replaceRefs(e, id, ref, attrs)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = replaceRefs(e, id, ref, attrs)
		}
		return out
	}
	return v
}

// referencedIDs lists the logical IDs v refers to with Ref, Fn::GetAtt or ${…} in Fn::Sub.
func referencedIDs(v any) []string {
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if r, ok := v["Ref"].(string); ok {
				out = append(out, r)
			}
			if ga, ok := v["Fn::GetAtt"].([]any); ok && len(ga) > 0 {
				out = append(out, fmt.Sprint(ga[0]))
			}
			if sub, ok := v["Fn::Sub"]; ok {
				s, _ := sub.(string)
				if l, isList := sub.([]any); isList && len(l) > 0 {
					s, _ = l[0].(string)
				}
				for _, part := range strings.Split(s, "${")[1:] {
					name, _, _ := strings.Cut(part, "}")
					name, _, _ = strings.Cut(name, ".")
					out = append(out, name)
				}
			}
			for _, e := range v {
				walk(e)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(v)
	slices.Sort(out)
	return slices.Compact(out)
}

// TestMotoSkipsAreUsed keeps motoSkips honest: every type listed is in some template.
func TestMotoSkipsAreUsed(t *testing.T) {
	t.Parallel() // a slow external tool; the package's other tests run meanwhile
	used := map[string]bool{}
	all := infraTemplates(t)
	all["template.yaml"] = translate(t, minimalParams)
	for _, tpl := range all {
		for _, r := range tpl.Resources() {
			used[fmt.Sprint(r["Type"])] = true
		}
	}
	for typ := range motoSkips {
		if !used[typ] {
			t.Errorf("motoSkips lists %s, which no template uses", typ)
		}
	}
	if !reflect.DeepEqual(referencedIDs(map[string]any{"Fn::Sub": "${A.Arn}/${B}", "x": []any{map[string]any{"Ref": "C"}}}), []string{"A", "B", "C"}) {
		t.Error("referencedIDs misses a reference")
	}
}

package templatecheck

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// allowedAWSManagedPolicies are the only AWS managed policies a role in the template may
// carry: their statements are not in the template, so each must be known to be narrow. None
// is: even AWSLambdaBasicExecutionRole writes to, and creates, every log group of the account;
// the functions' roles name their own log groups instead.
var allowedAWSManagedPolicies = []string{}

// attachActions may attach any policy, including AdministratorAccess, unless limited by
// the iam:PolicyARN condition key.
var attachActions = []string{"iam:AttachUserPolicy", "iam:AttachRolePolicy", "iam:AttachGroupPolicy"}

// checkStatements returns every statement that grants more than it names: a wildcard
// action ("*", "iam:*", anything ending in ":*", and in an Allow any "*" at all), an Allow
// with NotAction, an action list that is not literal, and an attach action without an
// iam:PolicyARN condition.
func checkStatements(stmts []Statement) []string {
	var problems []string
	for _, s := range stmts {
		where := s.Where
		if sid, ok := s.Body["Sid"].(string); ok {
			where += "/" + sid
		}
		bad := func(format string, args ...any) {
			problems = append(problems, where+": "+fmt.Sprintf(format, args...))
		}
		effect, _ := s.Body["Effect"].(string)
		if _, ok := s.Body["NotAction"]; ok && effect == "Allow" {
			bad("Allow with NotAction grants every action it does not list")
		}
		for _, key := range []string{"Action", "NotAction"} {
			v, ok := s.Body[key]
			if !ok {
				continue
			}
			actions, ok := Strings(v)
			if !ok {
				bad("%s is not a literal list of action names, so it cannot be checked", key)
				continue
			}
			for _, a := range actions {
				switch {
				case a == "*" || strings.HasSuffix(a, ":*"):
					bad("%s %q is a whole service or everything", key, a)
				case effect == "Allow" && strings.Contains(a, "*"):
					bad("Allow %s %q is a wildcard; name the actions", key, a)
				case effect == "Allow" && slices.ContainsFunc(attachActions, func(x string) bool { return strings.EqualFold(x, a) }):
					if !limitsPolicyARN(s.Body["Condition"]) {
						bad("%s may attach any policy, AdministratorAccess included; limit it with an iam:PolicyARN condition", a)
					}
				}
			}
		}
	}
	return problems
}

// limitsPolicyARN reports whether a statement condition pins iam:PolicyARN with an
// ArnEquals or StringEquals operator.
func limitsPolicyARN(cond any) bool {
	ops, _ := cond.(map[string]any)
	for _, op := range []string{"ArnEquals", "StringEquals"} {
		keys, _ := ops[op].(map[string]any)
		for k, v := range keys {
			if strings.EqualFold(k, "iam:PolicyARN") && v != nil {
				return true
			}
		}
	}
	return false
}

// checkPolicySources returns every grant whose statements the template does not show:
// SAM policy templates or policy names on a function (give it an explicit role instead),
// and AWS managed policies other than the known-narrow ones.
func checkPolicySources(tpl Template) []string {
	var problems []string
	rs := tpl.Resources()
	for _, id := range sortedKeys(rs) {
		props, _ := rs[id]["Properties"].(map[string]any)
		if rs[id]["Type"] == "AWS::Serverless::Function" {
			if _, ok := props["Policies"]; ok {
				problems = append(problems, id+": Policies on a function hide their statements; give it an explicit role")
			}
		}
		arns, _ := props["ManagedPolicyArns"].([]any)
		for _, a := range arns {
			s, ok := a.(string)
			if !ok {
				if sub, isMap := a.(map[string]any); isMap {
					s, _ = sub["Fn::Sub"].(string)
				}
			}
			_, name, aws := strings.Cut(s, ":iam::aws:policy/")
			if aws && !slices.Contains(allowedAWSManagedPolicies, name) {
				problems = append(problems, fmt.Sprintf("%s: AWS managed policy %s is not known to be narrow", id, name))
			}
		}
	}
	return problems
}

// TestLeastPrivilege holds every IAM statement in the template to named actions.
func TestLeastPrivilege(t *testing.T) {
	tpl := loadTemplate(t)
	stmts := tpl.Statements()
	if len(stmts) == 0 {
		t.Fatal("the template has no IAM policy statements")
	}
	for _, p := range append(checkStatements(stmts), checkPolicySources(tpl)...) {
		t.Error(p)
	}
}

// TestCheckStatements shows that the least-privilege checks catch what they claim to.
func TestCheckStatements(t *testing.T) {
	tpl, err := Parse([]byte(`
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Policies: [AmazonS3FullAccess]
  Role:
    Type: AWS::IAM::Role
    Properties:
      ManagedPolicyArns:
        - !Sub arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole
        - arn:aws:iam::aws:policy/AdministratorAccess
        - !Ref OwnPolicy
      Policies:
        - PolicyName: p
          PolicyDocument:
            Statement:
              - {Sid: Star, Effect: Allow, Action: "*", Resource: "*"}
              - {Sid: IAMStar, Effect: Allow, Action: [iam:GetUser, "iam:*"], Resource: "*"}
              - {Sid: S3Star, Effect: Allow, Action: "s3:*", Resource: "*"}
              - {Sid: Prefix, Effect: Allow, Action: "iam:Put*", Resource: "*"}
              - {Sid: NotAction, Effect: Allow, NotAction: iam:DeleteUser, Resource: "*"}
              - {Sid: Computed, Effect: Allow, Action: !Ref Actions, Resource: "*"}
              - {Sid: AnyAttach, Effect: Allow, Action: iam:AttachUserPolicy, Resource: "*"}
              - Sid: OwnAttach
                Effect: Allow
                Action: iam:AttachUserPolicy
                Resource: "*"
                Condition: {ArnEquals: {iam:PolicyARN: !Ref OwnPolicy}}
              - {Sid: Named, Effect: Allow, Action: [iam:UpdateAccessKey], Resource: "*"}
              - {Sid: DenyAllBut, Effect: Deny, NotAction: [iam:ListUsers, "iam:Get*"], Resource: "*"}
`))
	if err != nil {
		t.Fatal(err)
	}
	got := append(checkStatements(tpl.Statements()), checkPolicySources(tpl)...)
	want := []string{
		`Fn: Policies on a function hide their statements; give it an explicit role`,
		`Role: AWS managed policy AdministratorAccess is not known to be narrow`,
		`Role: AWS managed policy service-role/AWSLambdaBasicExecutionRole is not known to be narrow`,
		`Role/Star: Action "*" is a whole service or everything`,
		`Role/IAMStar: Action "iam:*" is a whole service or everything`,
		`Role/S3Star: Action "s3:*" is a whole service or everything`,
		`Role/Prefix: Allow Action "iam:Put*" is a wildcard; name the actions`,
		`Role/NotAction: Allow with NotAction grants every action it does not list`,
		`Role/Computed: Action is not a literal list of action names, so it cannot be checked`,
		`Role/AnyAttach: iam:AttachUserPolicy may attach any policy, AdministratorAccess included; limit it with an iam:PolicyARN condition`,
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("problems\n got: %s\nwant: %s", strings.Join(got, "\n      "), strings.Join(want, "\n      "))
	}
}

// roleStatements returns the statements a template grants a role: those of its own Policies
// and those of the AWS::IAM::Policy resources that name it in Roles (the app's grants live
// there, since its table and key policies name the roles).
func roleStatements(tpl Template, role string) []Statement {
	var out []Statement
	rs := tpl.Resources()
	for _, s := range tpl.Statements() {
		switch {
		case s.Where == role:
			props, _ := rs[role]["Properties"].(map[string]any)
			if trust, ok := props["AssumeRolePolicyDocument"].(map[string]any); ok && containsStatement(trust, s.Body) {
				continue // the trust policy says who may assume the role, not what it may do
			}
			out = append(out, s)
		case rs[s.Where]["Type"] == "AWS::IAM::Policy":
			props, _ := rs[s.Where]["Properties"].(map[string]any)
			roles, _ := props["Roles"].([]any)
			if slices.ContainsFunc(roles, func(r any) bool { return reflect.DeepEqual(r, map[string]any{"Ref": role}) }) {
				out = append(out, Statement{Where: role, Body: s.Body})
			}
		}
	}
	return out
}

// containsStatement reports whether a policy document holds this very statement.
func containsStatement(doc map[string]any, stmt map[string]any) bool {
	stmts, _ := doc["Statement"].([]any)
	return slices.ContainsFunc(stmts, func(s any) bool { return reflect.DeepEqual(s, stmt) })
}

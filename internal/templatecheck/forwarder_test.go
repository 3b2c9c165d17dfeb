package templatecheck

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The forwarder's rules are generated from the function's Events in template.yaml, so that the
// two cannot drift as the rule table grows: -update-forwarder rewrites the block between the
// markers in infra/forwarder.yaml.
var updateForwarder = flag.Bool("update-forwarder", false, "rewrite the generated rules of infra/forwarder.yaml from template.yaml")

const (
	beginForwarded = "  # BEGIN forwarded rules\n"
	endForwarded   = "  # END forwarded rules\n"
)

// TestForwarderIsGenerated fails when infra/forwarder.yaml's rules are not what template.yaml's
// patterns generate, and with -update-forwarder writes them.
func TestForwarderIsGenerated(t *testing.T) {
	app, err := loadTemplate(t).Patterns()
	if err != nil {
		t.Fatal(err)
	}
	want, err := forwarderRules(app)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(repoRoot(t), "infra", "forwarder.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	i, j := strings.Index(text, beginForwarded), strings.Index(text, endForwarded)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the lines %q and %q around its generated rules", path, beginForwarded, endForwarded)
	}
	got := text[i+len(beginForwarded) : j]
	if got == want {
		return
	}
	if *updateForwarder {
		text = text[:i+len(beginForwarded)] + want + text[j:]
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("rewrote the forwarded rules of %s", path)
		return
	}
	t.Errorf("infra/forwarder.yaml's rules are not those template.yaml's patterns generate; run\n"+
		"  go test ./internal/templatecheck -run TestForwarderIsGenerated -update-forwarder\n got:\n%s\nwant:\n%s", got, want)
}

// forwarderRules renders one AWS::Events::Rule per pattern, named after the function's event
// (or the rule's logical ID), forwarding to the home bus with the forwarder's role.
func forwarderRules(patterns []Pattern) (string, error) {
	var b strings.Builder
	for _, p := range patterns {
		id := p.Where[strings.LastIndexByte(p.Where, '.')+1:]
		body, err := patternYAML(p.Body)
		if err != nil {
			return "", fmt.Errorf("%s: %w", p.Where, err)
		}
		fmt.Fprintf(&b, "  %s:\n", id)
		b.WriteString("    Type: AWS::Events::Rule\n")
		b.WriteString("    Condition: Forward\n")
		b.WriteString("    Properties:\n")
		// A fixed name, so that the forwarder role's trust can name this stack's rules
		// (aws:SourceArn); one stack per account and Region, so no two rules clash.
		fmt.Fprintf(&b, "      Name: %s%s\n", forwarderRulePrefix, id)
		fmt.Fprintf(&b, "      Description: Forwards what template.yaml's %s routes to the home bus.\n", p.Where)
		if p.State != "" {
			// The same read-only management events the home rule receives.
			fmt.Fprintf(&b, "      State: %s\n", p.State)
		}
		b.WriteString("      EventPattern:\n")
		for _, line := range strings.Split(strings.TrimSuffix(body, "\n"), "\n") {
			b.WriteString("        " + line + "\n")
		}
		b.WriteString("      Targets:\n")
		b.WriteString("        - Id: home-bus\n")
		b.WriteString("          Arn: !Sub arn:${AWS::Partition}:events:${HomeRegion}:${HomeAccountId}:event-bus/${HomeEventBusName}\n")
		b.WriteString("          RoleArn: !GetAtt ForwarderRole.Arn\n")
		b.WriteString("      Tags:\n")
		b.WriteString("        - Key: iam-watchdog:component\n")
		b.WriteString("          Value: forwarder\n")
	}
	return b.String(), nil
}

// forwarderRulePrefix starts the name of every forwarding rule; ForwarderRole's trust admits
// rules so named (aws:SourceArn).
const forwarderRulePrefix = "iam-watchdog-forwarder-"

// patternYAML writes a pattern the way template.yaml does: source, detail-type and detail
// first, one-element lists inline, longer ones a line per element.
func patternYAML(body map[string]any) (string, error) {
	n, err := node(body)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(n); err != nil {
		return "", err
	}
	if err := enc.Close(); err != nil {
		return "", err
	}
	return buf.String(), nil
}

// keyOrder puts a pattern's usual keys first; the rest follow sorted.
var keyOrder = []string{"source", "detail-type", "detail", "eventSource", "eventName"}

func node(v any) (*yaml.Node, error) {
	switch v := v.(type) {
	case map[string]any:
		keys := sortedKeys(v)
		slices.SortStableFunc(keys, func(a, b string) int {
			ia, ib := slices.Index(keyOrder, a), slices.Index(keyOrder, b)
			if ia < 0 {
				ia = len(keyOrder)
			}
			if ib < 0 {
				ib = len(keyOrder)
			}
			return ia - ib
		})
		n := &yaml.Node{Kind: yaml.MappingNode}
		for _, k := range keys {
			val, err := node(v[k])
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: k}, val)
		}
		return n, nil
	case []any:
		n := &yaml.Node{Kind: yaml.SequenceNode}
		if len(v) == 1 {
			n.Style = yaml.FlowStyle
		}
		for _, e := range v {
			en, err := node(e)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, en)
		}
		return n, nil
	default:
		n := &yaml.Node{}
		if err := n.Encode(v); err != nil {
			return nil, err
		}
		return n, nil
	}
}

// TestForwarderRules shows the generated text for one pattern.
func TestForwarderRules(t *testing.T) {
	got, err := forwarderRules([]Pattern{{
		Where: "WatchdogFunction.Events.SigninEvents",
		Body: map[string]any{
			"detail":      map[string]any{"eventName": []any{"ConsoleLogin"}, "eventSource": []any{"signin.amazonaws.com"}},
			"detail-type": []any{"AWS Console Sign In via CloudTrail"},
			"source":      []any{"aws.signin"},
		},
	}, {
		Where: "StopLogging",
		Body: map[string]any{
			"source":      []any{"aws.cloudtrail"},
			"detail-type": []any{"AWS API Call via CloudTrail"},
			"detail":      map[string]any{"eventSource": []any{"cloudtrail.amazonaws.com"}, "eventName": []any{"StopLogging", "DeleteTrail"}, "errorCode": []any{map[string]any{"exists": false}}},
		},
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := `  SigninEvents:
    Type: AWS::Events::Rule
    Condition: Forward
    Properties:
      Name: iam-watchdog-forwarder-SigninEvents
      Description: Forwards what template.yaml's WatchdogFunction.Events.SigninEvents routes to the home bus.
      EventPattern:
        source: [aws.signin]
        detail-type: [AWS Console Sign In via CloudTrail]
        detail:
          eventSource: [signin.amazonaws.com]
          eventName: [ConsoleLogin]
      Targets:
        - Id: home-bus
          Arn: !Sub arn:${AWS::Partition}:events:${HomeRegion}:${HomeAccountId}:event-bus/${HomeEventBusName}
          RoleArn: !GetAtt ForwarderRole.Arn
      Tags:
        - Key: iam-watchdog:component
          Value: forwarder
  StopLogging:
    Type: AWS::Events::Rule
    Condition: Forward
    Properties:
      Name: iam-watchdog-forwarder-StopLogging
      Description: Forwards what template.yaml's StopLogging routes to the home bus.
      EventPattern:
        source: [aws.cloudtrail]
        detail-type: [AWS API Call via CloudTrail]
        detail:
          eventSource: [cloudtrail.amazonaws.com]
          eventName:
            - StopLogging
            - DeleteTrail
          errorCode: [{exists: false}]
      Targets:
        - Id: home-bus
          Arn: !Sub arn:${AWS::Partition}:events:${HomeRegion}:${HomeAccountId}:event-bus/${HomeEventBusName}
          RoleArn: !GetAtt ForwarderRole.Arn
      Tags:
        - Key: iam-watchdog:component
          Value: forwarder
`
	if got != want {
		t.Errorf("generated\n%s\nwant\n%s", got, want)
	}
	// What is generated parses back to the same patterns.
	tpl, err := Parse([]byte("Resources:\n" + got))
	if err != nil {
		t.Fatal(err)
	}
	ps, err := tpl.Patterns()
	if err != nil || len(ps) != 2 {
		t.Fatalf("generated rules parse to %v, %v", ps, err)
	}
}

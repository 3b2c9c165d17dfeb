package templatecheck

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// stackInputs are what CloudFormation knows of a stack before creating it: parameter values
// (defaults filled in) and pseudo parameters.
type stackInputs struct {
	Params map[string]string
	Pseudo map[string]string // AWS::AccountId, AWS::Region, AWS::Partition, AWS::StackName
}

// conditions evaluates a template's Conditions with the stack's inputs, as CloudFormation does
// before creating anything. It knows the condition functions (Fn::Equals, Fn::Not, Fn::And,
// Fn::Or, Condition) and the functions the templates use inside them (Ref, Fn::Join,
// Fn::Select, Fn::Split); anything else is an error, never a guess.
func conditions(tpl Template, in stackInputs) (map[string]bool, error) {
	defs, _ := tpl["Conditions"].(map[string]any)
	out := map[string]bool{}
	var eval func(name string, seen []string) (bool, error)
	var value func(v any, seen []string) (any, error)
	params, _ := tpl["Parameters"].(map[string]any)
	ref := func(name string) (any, error) {
		if v, ok := in.Pseudo[name]; ok {
			return v, nil
		}
		p, ok := params[name].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("Ref %s: no such parameter", name)
		}
		v, set := in.Params[name]
		if !set {
			d, hasDefault := p["Default"]
			if !hasDefault {
				return nil, fmt.Errorf("Ref %s: no value and no default", name)
			}
			v = fmt.Sprint(d)
		}
		if p["Type"] == "CommaDelimitedList" {
			var l []any
			for _, e := range strings.Split(v, ",") {
				l = append(l, e)
			}
			return l, nil
		}
		return v, nil
	}
	value = func(v any, seen []string) (any, error) {
		m, ok := v.(map[string]any)
		if !ok || len(m) != 1 {
			return v, nil
		}
		for fn, arg := range m {
			args, _ := arg.([]any)
			switch fn {
			case "Ref":
				return ref(fmt.Sprint(arg))
			case "Condition":
				return eval(fmt.Sprint(arg), seen)
			case "Fn::Equals":
				if len(args) != 2 {
					return nil, fmt.Errorf("Fn::Equals takes two values: %v", arg)
				}
				a, err := value(args[0], seen)
				if err != nil {
					return nil, err
				}
				b, err := value(args[1], seen)
				if err != nil {
					return nil, err
				}
				return fmt.Sprint(a) == fmt.Sprint(b), nil
			case "Fn::Not", "Fn::And", "Fn::Or":
				var bs []bool
				for _, a := range args {
					v, err := value(a, seen)
					if err != nil {
						return nil, err
					}
					b, isBool := v.(bool)
					if !isBool {
						return nil, fmt.Errorf("%s of %v, not a condition", fn, a)
					}
					bs = append(bs, b)
				}
				switch fn {
				case "Fn::Not":
					if len(bs) != 1 {
						return nil, fmt.Errorf("Fn::Not takes one condition: %v", arg)
					}
					return !bs[0], nil
				case "Fn::And":
					for _, b := range bs {
						if !b {
							return false, nil
						}
					}
					return true, nil
				default:
					for _, b := range bs {
						if b {
							return true, nil
						}
					}
					return false, nil
				}
			case "Fn::Join":
				if len(args) != 2 {
					return nil, fmt.Errorf("Fn::Join takes a separator and a list: %v", arg)
				}
				l, err := value(args[1], seen)
				if err != nil {
					return nil, err
				}
				items, isList := l.([]any)
				if !isList {
					return nil, fmt.Errorf("Fn::Join of %v, not a list", l)
				}
				var parts []string
				for _, e := range items {
					ev, err := value(e, seen)
					if err != nil {
						return nil, err
					}
					parts = append(parts, fmt.Sprint(ev))
				}
				return strings.Join(parts, fmt.Sprint(args[0])), nil
			case "Fn::Split":
				if len(args) != 2 {
					return nil, fmt.Errorf("Fn::Split takes a separator and a string: %v", arg)
				}
				s, err := value(args[1], seen)
				if err != nil {
					return nil, err
				}
				var l []any
				for _, e := range strings.Split(fmt.Sprint(s), fmt.Sprint(args[0])) {
					l = append(l, e)
				}
				return l, nil
			case "Fn::Select":
				if len(args) != 2 {
					return nil, fmt.Errorf("Fn::Select takes an index and a list: %v", arg)
				}
				i, err := strconv.Atoi(fmt.Sprint(args[0]))
				if err != nil {
					return nil, fmt.Errorf("Fn::Select index %v: %w", args[0], err)
				}
				l, err := value(args[1], seen)
				if err != nil {
					return nil, err
				}
				items, isList := l.([]any)
				if !isList || i < 0 || i >= len(items) {
					return nil, fmt.Errorf("Fn::Select %d of %v", i, l)
				}
				return items[i], nil
			}
			return nil, fmt.Errorf("%s is not a function this evaluator knows in conditions", fn)
		}
		return v, nil
	}
	eval = func(name string, seen []string) (bool, error) {
		if b, ok := out[name]; ok {
			return b, nil
		}
		for _, s := range seen {
			if s == name {
				return false, fmt.Errorf("condition %s refers to itself", name)
			}
		}
		def, ok := defs[name]
		if !ok {
			return false, fmt.Errorf("no condition %s", name)
		}
		v, err := value(def, append(seen, name))
		if err != nil {
			return false, fmt.Errorf("condition %s: %w", name, err)
		}
		b, ok := v.(bool)
		if !ok {
			return false, fmt.Errorf("condition %s is %v, not true or false", name, v)
		}
		out[name] = b
		return b, nil
	}
	for _, name := range sortedKeys(defs) {
		if _, err := eval(name, nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}

var noValue = map[string]any{"Ref": "AWS::NoValue"}

// dropNoValue removes from every list the Fn::If elements that choose AWS::NoValue, as
// CloudFormation does (moto_server keeps them as null elements, which breaks the policies
// they sit in).
func dropNoValue(v any, conds map[string]bool) (any, error) {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			d, err := dropNoValue(e, conds)
			if err != nil {
				return nil, err
			}
			out[k] = d
		}
		return out, nil
	case []any:
		out := make([]any, 0, len(v))
		for _, e := range v {
			if m, ok := e.(map[string]any); ok && len(m) == 1 {
				if args, ok := m["Fn::If"].([]any); ok && len(args) == 3 {
					c, known := conds[fmt.Sprint(args[0])]
					if !known {
						return nil, fmt.Errorf("Fn::If on unknown condition %v", args[0])
					}
					chosen := args[2]
					if c {
						chosen = args[1]
					}
					if reflect.DeepEqual(chosen, noValue) {
						continue
					}
				}
			}
			d, err := dropNoValue(e, conds)
			if err != nil {
				return nil, err
			}
			out = append(out, d)
		}
		return out, nil
	}
	return v, nil
}

func TestConditions(t *testing.T) {
	tpl, err := Parse([]byte(`
Parameters:
  Name: {Type: String, Default: ""}
  Arn: {Type: String}
  List: {Type: CommaDelimitedList, Default: ""}
Conditions:
  HasName: !Not [!Equals [!Ref Name, ""]]
  HasList: !Not [!Equals [!Join ["", !Ref List], ""]]
  Both: !And [!Condition HasName, !Condition HasList]
  Either: !Or [!Condition HasName, !Condition HasList]
  Other: !Not [!Equals [!Ref AWS::AccountId, !Select [4, !Split [":", !Ref Arn]]]]
Resources:
  R:
    Type: X
    Properties:
      L:
        - a
        - !If [HasName, b, !Ref AWS::NoValue]
        - !If [HasList, !Ref AWS::NoValue, c]
`))
	if err != nil {
		t.Fatal(err)
	}
	in := stackInputs{
		Params: map[string]string{"Name": "n", "Arn": "arn:aws:iam::111111111111:role/x"},
		Pseudo: map[string]string{"AWS::AccountId": "123456789012"},
	}
	got, err := conditions(tpl, in)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"HasName": true, "HasList": false, "Both": false, "Either": true, "Other": true}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("conditions = %v, want %v", got, want)
	}
	d, err := dropNoValue(tpl.Resources()["R"], got)
	if err != nil {
		t.Fatal(err)
	}
	l := d.(map[string]any)["Properties"].(map[string]any)["L"]
	if want := []any{"a", map[string]any{"Fn::If": []any{"HasName", "b", noValue}}, map[string]any{"Fn::If": []any{"HasList", noValue, "c"}}}; !reflect.DeepEqual(l, want) {
		t.Errorf("list = %v, want %v", l, want)
	}
	got, err = conditions(tpl, stackInputs{Params: map[string]string{"Arn": "arn:aws:iam::123456789012:role/x"}, Pseudo: in.Pseudo})
	if err != nil {
		t.Fatal(err)
	}
	d, _ = dropNoValue(tpl.Resources()["R"], got)
	if l := d.(map[string]any)["Properties"].(map[string]any)["L"]; !reflect.DeepEqual(l, []any{"a", map[string]any{"Fn::If": []any{"HasList", noValue, "c"}}}) || got["Other"] {
		t.Errorf("with defaults: list %v, conditions %v", l, got)
	}
	if _, err := conditions(tpl, stackInputs{Pseudo: in.Pseudo}); err == nil || !strings.Contains(err.Error(), "Ref Arn: no value and no default") {
		t.Errorf("a parameter without value: error %v", err)
	}
}

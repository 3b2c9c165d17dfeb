package templatecheck

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// repoRoot is the directory holding go.mod, found upward from the test's directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
}

// loadTemplate decodes the repository's template.yaml.
func loadTemplate(t *testing.T) Template {
	t.Helper()
	tpl, err := Load(filepath.Join(repoRoot(t), "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}

func TestParseIntrinsics(t *testing.T) {
	tpl, err := Parse([]byte(`
Resources:
  R:
    Type: X
    Properties:
      Ref: !Ref Param
      Att: !GetAtt Role.Arn
      Sub: !Sub "arn:${AWS::Partition}:iam::${AWS::AccountId}:user/*"
      Join: !Join ["", [a, !Ref B]]
      If: !If [Cond, yes, no]
      Plain: {n: 3, b: true, s: "off", l: [x]}
`))
	if err != nil {
		t.Fatal(err)
	}
	got := tpl.Resources()["R"]["Properties"]
	want := map[string]any{
		"Ref":   map[string]any{"Ref": "Param"},
		"Att":   map[string]any{"Fn::GetAtt": []any{"Role", "Arn"}},
		"Sub":   map[string]any{"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:user/*"},
		"Join":  map[string]any{"Fn::Join": []any{"", []any{"a", map[string]any{"Ref": "B"}}}},
		"If":    map[string]any{"Fn::If": []any{"Cond", "yes", "no"}},
		"Plain": map[string]any{"n": 3, "b": true, "s": "off", "l": []any{"x"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decoded properties\n got %#v\nwant %#v", got, want)
	}
}

func TestParseRejectsNonMapping(t *testing.T) {
	if _, err := Parse([]byte("- a\n- b\n")); err == nil {
		t.Error("a YAML list parsed as a template")
	}
}

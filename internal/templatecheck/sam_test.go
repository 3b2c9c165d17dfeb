package templatecheck

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iam-watchdog/iam-watchdog/internal/mototest"
)

// Where the translated functions' code is, as `sam package` would have uploaded it; the moto
// tests put a zip there before creating the stack.
const (
	codeBucket = "iam-watchdog-artifacts"
	codeKey    = "iam-watchdog/code.zip"
)

// translate returns template.yaml as the AWS SAM translator makes it (scripts/sam-translate.py,
// offline) with the stack's parameter values: the CloudFormation template that `sam deploy`
// would hand CloudFormation. The first call translates every parameter set the package's tests
// use, in one process (importing the translator takes seconds; translating, milliseconds).
func translate(t *testing.T, params map[string]string) Template {
	t.Helper()
	root := repoRoot(t)
	translations.once.Do(func() {
		sets := []map[string]string{minimalParams}
		for _, c := range appConfigs {
			sets = append(sets, c.params)
		}
		translations.byParams = map[string]Template{}
		tpls, err := translateSets(t.Context(), root, sets)
		translations.err = err
		for i, tpl := range tpls {
			translations.byParams[paramsKey(sets[i])] = tpl
		}
	})
	if translations.err != nil {
		t.Fatal(translations.err)
	}
	if tpl, ok := translations.byParams[paramsKey(params)]; ok {
		return cloneTemplate(t, tpl)
	}
	tpls, err := translateSets(t.Context(), root, []map[string]string{params})
	if err != nil {
		t.Fatal(err)
	}
	return tpls[0]
}

// minimalParams deploy the app with nothing but its one required parameter.
var minimalParams = map[string]string{"SlackSecretArn": secretARN}

var translations struct {
	once     sync.Once
	byParams map[string]Template
	err      error
}

func paramsKey(p map[string]string) string {
	b, _ := json.Marshal(p) // encoding/json sorts map keys
	return string(b)
}

// cloneTemplate copies a template, so that a test changing it leaves the cache alone.
func cloneTemplate(t *testing.T, tpl Template) Template {
	t.Helper()
	b, err := json.Marshal(tpl)
	if err != nil {
		t.Fatal(err)
	}
	var out Template
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// translateSets runs scripts/sam-translate.py once over template.yaml for every parameter set.
// python3 with samtranslator must be on PATH (`make tools`).
func translateSets(ctx context.Context, root string, sets []map[string]string) ([]Template, error) {
	py, err := exec.LookPath("python3")
	if err != nil {
		return nil, fmt.Errorf("python3 is not on PATH; `make tools` installs the Python tools (.tools/venv)")
	}
	f, err := os.CreateTemp("", "param-sets-*.json")
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	if err := json.NewEncoder(f).Encode(sets); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, filepath.Join(root, "scripts", "sam-translate.py"),
		"--region", "us-east-1", "--account-id", mototest.AccountID,
		"--code-uri", "s3://"+codeBucket+"/"+codeKey, "--param-sets", f.Name(),
		filepath.Join(root, "template.yaml"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("scripts/sam-translate.py (%v); is samtranslator installed (`make tools`)?\n%s", err, stderr.String())
	}
	var tpls []Template
	if err := json.Unmarshal(out, &tpls); err != nil || len(tpls) != len(sets) {
		return nil, fmt.Errorf("scripts/sam-translate.py printed %d templates for %d parameter sets (%v)", len(tpls), len(sets), err)
	}
	return tpls, nil
}

// TestSAMTranslation: the SAM translator accepts template.yaml and makes what the functions
// declare: each function, its URL and the permissions behind it, one rule and permission per
// event, and every other resource unchanged.
func TestSAMTranslation(t *testing.T) {
	t.Parallel() // a slow external tool; the package's other tests run meanwhile
	sam := loadTemplate(t)
	cfn := translate(t, minimalParams)
	if _, ok := cfn["Transform"]; ok {
		t.Error("the translated template still has a Transform")
	}
	got := cfn.Resources()
	for id, r := range sam.Resources() {
		typ, _ := r["Type"].(string)
		if !strings.HasPrefix(typ, "AWS::Serverless::") {
			if got[id]["Type"] != typ {
				t.Errorf("%s: %s in template.yaml, %v after translation", id, typ, got[id]["Type"])
			}
			continue
		}
		if typ != "AWS::Serverless::Function" {
			t.Errorf("%s: %s is a SAM type the moto tests do not expect", id, typ)
			continue
		}
		want := map[string]string{id: "AWS::Lambda::Function"}
		props, _ := r["Properties"].(map[string]any)
		events, _ := props["Events"].(map[string]any)
		for name := range events {
			want[id+name] = "AWS::Events::Rule"
			want[id+name+"Permission"] = "AWS::Lambda::Permission"
		}
		if _, ok := props["FunctionUrlConfig"]; ok {
			want[id+"Url"] = "AWS::Lambda::Url"
		}
		for wid, wtyp := range want {
			if got[wid]["Type"] != wtyp {
				t.Errorf("%s: translated to %v, want %s", wid, got[wid]["Type"], wtyp)
			}
		}
		fn, _ := got[id]["Properties"].(map[string]any)
		if fn["ReservedConcurrentExecutions"] == nil {
			t.Errorf("%s: no ReservedConcurrentExecutions after translation", id)
		}
		if code, _ := fn["Code"].(map[string]any); code["S3Bucket"] != codeBucket || code["S3Key"] != codeKey {
			t.Errorf("%s: Code %v, want the --code-uri location", id, fn["Code"])
		}
	}
	for id, r := range got {
		if typ, _ := r["Type"].(string); strings.HasPrefix(typ, "AWS::Serverless::") {
			t.Errorf("%s: %s survived the translation", id, typ)
		}
	}
	rules := 0
	for _, r := range got {
		if r["Type"] == "AWS::Events::Rule" {
			rules++
		}
	}
	if rules == 0 {
		t.Error("no EventBridge rule after translation")
	}
}

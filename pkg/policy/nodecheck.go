package policy

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
)

// checkDocument holds the document's nodes against Config's types before any decoding, so that
// each problem is told with the node's line and key path in the config's words: an unknown key
// (with the nearest known one), a list where one value goes, a value that is not a mode, a
// number, a duration. The decoder would say "field mdoe not found in type policy.RuleConfig".
func checkDocument(doc *yaml.Node) []*ConfigError {
	root := doc
	if doc.Kind == yaml.DocumentNode {
		if len(doc.Content) == 0 {
			return nil
		}
		root = doc.Content[0]
	}
	if root.Kind == 0 {
		return nil
	}
	ck := nodeChecker{seen: map[checked]bool{}}
	ck.check(root, reflect.TypeFor[Config](), "")
	// A refused value is decoded as absent, so that the decoder goes on to the values after it
	// and Validate can report their problems in the same pass.
	for _, n := range ck.refused {
		*n = yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: n.Line, Column: n.Column}
	}
	return ck.problems
}

type nodeChecker struct {
	problems []*ConfigError
	refused  []*yaml.Node
	// seen: a node an alias repeats is checked once for each type, or a billion laughs would
	// be walked a billion times.
	seen map[checked]bool
}

type checked struct {
	n *yaml.Node
	t reflect.Type
}

var (
	modeType     = reflect.TypeFor[Mode]()
	severityType = reflect.TypeFor[detect.Severity]()
	durationType = reflect.TypeFor[time.Duration]()
)

func (ck *nodeChecker) fail(line int, key, at, format string, args ...any) {
	ck.problems = append(ck.problems, &ConfigError{Line: line, Key: key, Msg: fmt.Sprintf(format, args...), at: at})
}

// refuse reports value n as wrong.
func (ck *nodeChecker) refuse(n *yaml.Node, path, format string, args ...any) {
	ck.fail(n.Line, path, path, format, args...)
	ck.refused = append(ck.refused, n)
}

func (ck *nodeChecker) check(n *yaml.Node, t reflect.Type, path string) {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return // absent: the default applies
	}
	if ck.seen[checked{n, t}] {
		return
	}
	ck.seen[checked{n, t}] = true
	want := wanted(t)
	switch {
	case t.Kind() == reflect.Struct || t.Kind() == reflect.Map:
		if n.Kind != yaml.MappingNode {
			ck.refuse(n, path, "want %s, not %s", want, kindOf(n))
			return
		}
		ck.mapping(n, t, path)
	case t.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			ck.refuse(n, path, "want %s, not %s", want, kindOf(n))
			return
		}
		for i, item := range n.Content {
			ck.check(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
		}
	case n.Kind != yaml.ScalarNode:
		ck.refuse(n, path, "want %s, not %s", want, kindOf(n))
	case t == modeType:
		if _, err := ParseMode(n.Value); err != nil {
			ck.refuse(n, path, "%v%s", err, orMeant(n.Value, modeNames))
		}
	case t == severityType:
		if _, err := detect.ParseSeverity(n.Value); err != nil {
			ck.refuse(n, path, "%v%s", err, orMeant(n.Value, severityNames))
		}
	case t.Kind() != reflect.String:
		// The decoder says which scalars fit (yes and on are true; 1h is a duration); what to
		// say when one does not is ours.
		if err := n.Decode(reflect.New(t).Interface()); err != nil {
			ck.refuse(n, path, "%s is not %s", quoted(n.Value), want)
		}
	}
}

// mapping checks the keys of a struct's or a map's mapping, and their values.
func (ck *nodeChecker) mapping(n *yaml.Node, t reflect.Type, path string) {
	fields := map[string]reflect.Type{}
	if t.Kind() == reflect.Struct {
		fields = keysOf(t)
	}
	first := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			ck.fail(k.Line, path, path, "want a key name, not %s", kindOf(k))
			continue
		}
		if k.ShortTag() == "!!merge" { // <<: *defaults
			ck.merge(v, t, path)
			continue
		}
		at := join(path, k.Value)
		if line, ok := first[k.Value]; ok {
			ck.fail(k.Line, path, at, "key %s is given twice (first on line %d)", quoted(k.Value), line)
			continue
		}
		first[k.Value] = k.Line
		if t.Kind() == reflect.Map {
			ck.check(v, t.Elem(), at)
			continue
		}
		ft, ok := fields[k.Value]
		if !ok {
			ck.fail(k.Line, path, at, "unknown key %s%s", quoted(k.Value), suggestKey(k.Value, t))
			continue
		}
		ck.check(v, ft, at)
	}
}

// merge checks the mappings a merge key brings in as if written in place.
func (ck *nodeChecker) merge(v *yaml.Node, t reflect.Type, path string) {
	for v.Kind == yaml.AliasNode && v.Alias != nil {
		v = v.Alias
	}
	if v.Kind == yaml.SequenceNode {
		for _, m := range v.Content {
			ck.check(m, t, path)
		}
		return
	}
	ck.check(v, t, path)
}

// orMeant is `; did you mean "x"?` after a message that lists the names, or "".
func orMeant(typed string, names []string) string {
	if best := nearest(typed, names); best != "" {
		return fmt.Sprintf("; did you mean %q?", best)
	}
	return ""
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// wanted says in words what a value of type t is.
func wanted(t reflect.Type) string {
	switch {
	case t == modeType:
		return "a mode (off, dry-run, auto or approve)"
	case t == severityType:
		return "a severity (info, low, medium, high or critical)"
	case t == durationType:
		return "a duration (such as 90s, 10m or 1h)"
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return `a mapping ("key: value" lines)`
	case reflect.Slice:
		return `a list ([a, b] or "- item" lines)`
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64:
		return "a whole number"
	}
	return "a single value"
}

func kindOf(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	}
	return "the single value " + quoted(n.Value)
}

var (
	modeNames     = []string{string(Off), string(DryRun), string(Auto), string(Approve)}
	severityNames = []string{"info", "low", "medium", "high", "critical"}
)

// keysOf maps the YAML keys of a struct, inline structs' keys included, to their types.
func keysOf(t reflect.Type) map[string]reflect.Type {
	keys := map[string]reflect.Type{}
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		switch {
		case name == "-":
		case slices.Contains(strings.Split(opts, ","), "inline"):
			for k, ft := range keysOf(f.Type) {
				keys[k] = ft
			}
		case name == "":
			keys[strings.ToLower(f.Name)] = f.Type
		default:
			keys[name] = f.Type
		}
	}
	return keys
}

// knownKey is a key of the config wherever it is, for suggesting a key written in the wrong
// place ("approvers" at the top is slack.approvers).
type knownKey struct{ name, path string }

var knownKeys = sync.OnceValue(func() []knownKey {
	var all []knownKey
	var walk func(t reflect.Type, path string, depth int)
	walk = func(t reflect.Type, path string, depth int) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
			t = t.Elem()
		}
		switch {
		case depth > 4:
		case t.Kind() == reflect.Map && t.Elem().Kind() == reflect.Struct:
			walk(t.Elem(), path+".<rule ID>", depth+1)
		case t.Kind() == reflect.Struct && t != durationType:
			keys := keysOf(t)
			for _, k := range slices.Sorted(maps.Keys(keys)) {
				all = append(all, knownKey{k, join(path, k)})
				walk(keys[k], join(path, k), depth+1)
			}
		}
	}
	walk(reflect.TypeFor[Config](), "", 0)
	return all
})

// suggestKey names the nearest key of the same mapping, else the place of the same key (or a
// near one) elsewhere in the config; "" when nothing is near.
func suggestKey(key string, t reflect.Type) string {
	siblings := slices.Sorted(maps.Keys(keysOf(t)))
	if s := didYouMean(key, siblings); s != "" {
		return s
	}
	var names []string
	for _, k := range knownKeys() {
		if !slices.Contains(siblings, k.name) {
			names = append(names, k.name)
		}
	}
	best := nearest(key, names)
	if best == "" {
		return ""
	}
	// The places of that name, the shallowest two: "actors" is allow.actors or protect.actors
	// before it is rules.<rule ID>.allow.actors.
	var paths []string
	for _, k := range knownKeys() {
		if q := fmt.Sprintf("%q", k.path); k.name == best && !slices.Contains(paths, q) {
			paths = append(paths, q)
		}
	}
	slices.SortStableFunc(paths, func(a, b string) int { return strings.Count(a, ".") - strings.Count(b, ".") })
	return " (did you mean " + strings.Join(paths[:min(2, len(paths))], " or ") + "?)"
}

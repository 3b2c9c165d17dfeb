package policy

import (
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// lineOf is the line of the key or list item at path (allow.actors[1], rules.x.mode) in the
// document: a key's own line, an item's line; as deep as the path is found, 0 when not at all.
// Keys may hold dots, so the longest key of a mapping that starts the path is taken.
func lineOf(doc *yaml.Node, path string) int {
	n := deref(doc)
	if n != nil && n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = deref(n.Content[0])
	}
	line := 0
	for n != nil && path != "" {
		if strings.HasPrefix(path, "[") {
			end := strings.IndexByte(path, ']')
			i, err := strconv.Atoi(path[1:max(end, 1)])
			if end < 0 || err != nil || n.Kind != yaml.SequenceNode || i < 0 || i >= len(n.Content) {
				return line
			}
			line, n, path = n.Content[i].Line, deref(n.Content[i]), strings.TrimPrefix(path[end+1:], ".")
			continue
		}
		key, value := longestKey(n, path)
		if key == nil {
			return line
		}
		line, n, path = key.Line, deref(value), strings.TrimPrefix(path[len(key.Value):], ".")
	}
	return line
}

// longestKey finds, in mapping m and the mappings it merges, the longest key that path starts
// with, followed by the path's end, a dot or an index.
func longestKey(m *yaml.Node, path string) (key, value *yaml.Node) {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if k.ShortTag() == "!!merge" {
			for _, merged := range mergedMappings(v) {
				if mk, mv := longestKey(merged, path); mk != nil && (key == nil || len(mk.Value) > len(key.Value)) {
					key, value = mk, mv
				}
			}
			continue
		}
		rest, ok := strings.CutPrefix(path, k.Value)
		if ok && (rest == "" || rest[0] == '.' || rest[0] == '[') && (key == nil || len(k.Value) > len(key.Value)) {
			key, value = k, v
		}
	}
	return key, value
}

func mergedMappings(v *yaml.Node) []*yaml.Node {
	v = deref(v)
	if v != nil && v.Kind == yaml.SequenceNode {
		out := make([]*yaml.Node, 0, len(v.Content))
		for _, c := range v.Content {
			out = append(out, deref(c))
		}
		return out
	}
	return []*yaml.Node{v}
}

// deref follows aliases to the node they name.
func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

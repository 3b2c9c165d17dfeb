package policy

import (
	"bytes"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// yamlError is the YAML library's "yaml: line N: problem".
var yamlError = regexp.MustCompile(`^(?:yaml: )?(?:line (\d+): )?(.*)$`)

// maxSyntaxSearch bounds the documents whose syntax error is looked for line by line.
const maxSyntaxSearch = 1 << 20

// syntaxError tells a document YAML cannot read: the line where it goes wrong, and the problem
// in words where the library's are obscure. The library gives the line where the construct
// around the problem began ("did not find expected key" on line 2 for a key indented wrong on
// line 5), so the line is found again: the first prefix of whole lines that fails the same way.
func syntaxError(data []byte, err error) *ConfigError {
	m := yamlError.FindStringSubmatch(err.Error())
	problem := m[2]
	line, _ := strconv.Atoi(m[1])
	if len(data) <= maxSyntaxSearch {
		line = problemLine(data, problem, line)
	}
	return &ConfigError{Line: line, Msg: "not valid YAML: " + inWords(problem)}
}

// problemLine is the first line whose end makes the document fail with problem, at or after
// the line the library named; a search by halves, as a prefix that fails so fails with more.
func problemLine(data []byte, problem string, from int) int {
	ends := lineEnds(data)
	from = max(from, 1)
	if from > len(ends) {
		return from
	}
	fails := func(lines int) bool {
		var n yaml.Node
		err := yaml.Unmarshal(data[:ends[lines-1]], &n)
		return err != nil && yamlError.FindStringSubmatch(err.Error())[2] == problem
	}
	k := from + sort.Search(len(ends)-from+1, func(i int) bool { return fails(from + i) })
	if k > len(ends) {
		return from // no prefix fails alone: the library's line stands
	}
	return k
}

// lineEnds are the offsets just past each line's end.
func lineEnds(data []byte) []int {
	var ends []int
	for off := 0; off < len(data); {
		i := bytes.IndexByte(data[off:], '\n')
		if i < 0 {
			ends = append(ends, len(data))
			break
		}
		off += i + 1
		ends = append(ends, off)
	}
	return ends
}

// inWords says the library's commonest complaints in a config writer's words.
func inWords(problem string) string {
	switch {
	case problem == "did not find expected key":
		return "a line is not indented as the keys around it (or a list item stands among keys)"
	case problem == "mapping values are not allowed in this context":
		return `a second ": " on one line: quote a value that holds ": "`
	case problem == "found a tab character that violates indentation":
		return "a tab in the indentation: indent with spaces"
	case problem == "did not find expected ',' or ']'":
		return `a list in [ ] is not closed with "]" (or a comma is missing)`
	case problem == "did not find expected ',' or '}'":
		return `a mapping in { } is not closed with "}" (or a comma is missing)`
	case problem == "found unexpected end of stream":
		return "the file ends inside a quoted value or a [ ] or { }: a quote or bracket is not closed"
	case problem == "found character that cannot start any token":
		return "a value starts with a character YAML reserves (such as @, ` or a tab): quote the value"
	case strings.HasPrefix(problem, "did not find expected "):
		return strings.TrimPrefix(problem, "did not find ") + " is missing"
	}
	return problem
}

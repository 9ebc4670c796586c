package deploy

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// The manifests are checked without a YAML library (the module has none and these tests do
// not justify one). decodeYAML reads the block-style subset that the manifests use, and
// refuses everything else, so a manifest edited into a form it cannot read fails the test
// rather than passing unchecked:
//
//   - documents separated by "---"; "#" comments; blank lines
//   - block mappings ("key: value", "key:" + an indented block or a same-indent sequence)
//   - block sequences ("- value", "- key: value" + continuation lines)
//   - literal blocks ("|", "|-") for embedded files
//   - flow sequences of scalars (["a", "b"])
//   - scalars: plain, 'single' or "double" quoted, integers (a leading 0 is octal, as
//     Kubernetes' YAML 1.1 decoder reads it), true/false, null
//
// Anchors, aliases, tags, flow mappings, folded blocks and multi-line plain scalars are errors.

type yamlLine struct {
	num    int
	indent int
	text   string // without indentation and comment
	raw    string
}

type yamlParser struct {
	lines []yamlLine
	pos   int
}

// decodeYAML decodes every document of src into map[string]any, []any, string, int, bool or nil.
func decodeYAML(src string) ([]any, error) {
	var docs []any
	var cur []yamlLine
	flush := func() error {
		if len(cur) == 0 {
			return nil
		}
		p := &yamlParser{lines: cur}
		v, err := p.node(cur[0].indent)
		if err != nil {
			return err
		}
		if p.pos < len(p.lines) {
			l := p.lines[p.pos]
			return fmt.Errorf("line %d: unexpected %q", l.num, l.text)
		}
		docs = append(docs, v)
		cur = nil
		return nil
	}
	for i, raw := range strings.Split(src, "\n") {
		raw = strings.TrimRight(raw, " \t\r")
		if raw == "---" {
			if err := flush(); err != nil {
				return nil, err
			}
			continue
		}
		trimmed := strings.TrimLeft(raw, " ")
		if strings.HasPrefix(trimmed, "\t") {
			return nil, fmt.Errorf("line %d: tab in indentation", i+1)
		}
		cur = append(cur, yamlLine{num: i + 1, indent: len(raw) - len(trimmed), text: stripComment(trimmed), raw: raw})
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return docs, nil
}

// stripComment drops a "#" comment that is not inside quotes and starts the text or follows a space.
func stripComment(s string) string {
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '#' && (i == 0 || s[i-1] == ' '):
			return strings.TrimRight(s[:i], " ")
		}
	}
	return s
}

// skip moves past blank and comment-only lines.
func (p *yamlParser) skip() {
	for p.pos < len(p.lines) && p.lines[p.pos].text == "" {
		p.pos++
	}
}

func (p *yamlParser) node(indent int) (any, error) {
	p.skip()
	if p.pos >= len(p.lines) {
		return nil, nil
	}
	l := p.lines[p.pos]
	switch {
	case l.text == "-" || strings.HasPrefix(l.text, "- "):
		return p.seq(l.indent)
	case splitKey(l.text) != "":
		return p.mapping(l.indent)
	}
	p.pos++
	return scalar(l.text, l.num)
}

// splitKey returns the key of a "key: value" or "key:" line, or "".
func splitKey(s string) string {
	if s == "" || strings.ContainsAny(s[:1], "\"'[{&*!|>") {
		return ""
	}
	if i := strings.Index(s, ": "); i > 0 {
		return s[:i]
	}
	if strings.HasSuffix(s, ":") {
		return s[:len(s)-1]
	}
	return ""
}

func (p *yamlParser) mapping(indent int) (any, error) {
	m := map[string]any{}
	for {
		p.skip()
		if p.pos >= len(p.lines) {
			return m, nil
		}
		l := p.lines[p.pos]
		if l.indent < indent {
			return m, nil
		}
		key := splitKey(l.text)
		if l.indent > indent || key == "" {
			return nil, fmt.Errorf("line %d: expected a key at indent %d: %q", l.num, indent, l.text)
		}
		if _, dup := m[key]; dup {
			return nil, fmt.Errorf("line %d: duplicate key %q", l.num, key)
		}
		rest := strings.TrimSpace(strings.TrimPrefix(l.text[len(key):], ":"))
		p.pos++
		var v any
		var err error
		switch {
		case rest == "|" || rest == "|-":
			v, err = p.literal(indent, rest == "|-", l.num)
		case rest == "":
			p.skip()
			if p.pos < len(p.lines) {
				n := p.lines[p.pos]
				if n.indent > indent || (n.indent == indent && strings.HasPrefix(n.text, "- ")) {
					v, err = p.node(n.indent)
				}
			}
		default:
			v, err = scalar(rest, l.num)
		}
		if err != nil {
			return nil, err
		}
		m[key] = v
	}
}

func (p *yamlParser) seq(indent int) (any, error) {
	var out []any
	for {
		p.skip()
		if p.pos >= len(p.lines) {
			return out, nil
		}
		l := p.lines[p.pos]
		if l.indent < indent || (l.indent == indent && !strings.HasPrefix(l.text, "-")) {
			return out, nil
		}
		if l.indent > indent || (l.text != "-" && !strings.HasPrefix(l.text, "- ")) {
			return nil, fmt.Errorf("line %d: expected a sequence item at indent %d", l.num, indent)
		}
		item := strings.TrimSpace(strings.TrimPrefix(l.text, "-"))
		var v any
		var err error
		if item == "" {
			p.pos++
			v, err = p.node(indent + 1)
		} else {
			// The item's text is read as if it started a line of its own, two columns in.
			inner := indent + (len(l.text) - len(item))
			p.lines[p.pos] = yamlLine{num: l.num, indent: inner, text: item, raw: l.raw}
			v, err = p.node(inner)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
}

// literal reads a "|" block: the lines indented deeper than the key, with that indentation
// removed; "|" keeps one final newline, "|-" none.
func (p *yamlParser) literal(indent int, strip bool, num int) (any, error) {
	var b []string
	block := -1
	for p.pos < len(p.lines) {
		l := p.lines[p.pos]
		if strings.TrimSpace(l.raw) != "" {
			if l.indent <= indent {
				break
			}
			if block < 0 {
				block = l.indent
			}
			if l.indent < block {
				return nil, fmt.Errorf("line %d: literal block less indented than its first line", l.num)
			}
			b = append(b, l.raw[block:])
		} else {
			b = append(b, "")
		}
		p.pos++
	}
	if block < 0 {
		return nil, fmt.Errorf("line %d: empty literal block", num)
	}
	s := strings.TrimRight(strings.Join(b, "\n"), "\n")
	if !strip {
		s += "\n"
	}
	return s, nil
}

func scalar(s string, num int) (any, error) {
	switch {
	case strings.HasPrefix(s, "\""):
		v, err := strconv.Unquote(s)
		if err != nil {
			return nil, fmt.Errorf("line %d: bad double-quoted string %s", num, s)
		}
		return v, nil
	case strings.HasPrefix(s, "'"):
		if len(s) < 2 || !strings.HasSuffix(s, "'") {
			return nil, fmt.Errorf("line %d: bad single-quoted string %s", num, s)
		}
		return strings.ReplaceAll(s[1:len(s)-1], "''", "'"), nil
	case strings.HasPrefix(s, "["):
		if !strings.HasSuffix(s, "]") {
			return nil, fmt.Errorf("line %d: a flow sequence must end on its line: %s", num, s)
		}
		var out []any
		body := strings.TrimSpace(s[1 : len(s)-1])
		if body == "" {
			return []any{}, nil
		}
		for _, part := range splitFlow(body) {
			v, err := scalar(strings.TrimSpace(part), num)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case strings.ContainsAny(s[:1], "{&*!>|%@`"):
		return nil, fmt.Errorf("line %d: unsupported YAML: %s", num, s)
	case s == "true" || s == "false":
		return s == "true", nil
	case s == "null" || s == "~":
		return nil, nil
	}
	if n, err := strconv.ParseInt(s, 0, 64); err == nil {
		if len(s) > 1 && s[0] == '0' && s[1] >= '0' && s[1] <= '9' {
			n, err = strconv.ParseInt(s[1:], 8, 64)
			if err != nil {
				return nil, fmt.Errorf("line %d: bad octal %s", num, s)
			}
		}
		return int(n), nil
	}
	return s, nil
}

// splitFlow splits a flow sequence body on commas outside quotes.
func splitFlow(s string) []string {
	var out []string
	var quote byte
	start := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == ',':
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

func TestDecodeYAML(t *testing.T) {
	src := `# comment
a: 1
b: "x: # not a comment"
c:
  - 1
  - name: n
    port: 0440
  -
    deep: true
d:
- same-indent
e: [ "p", q ]
f: |
  line 1

  line 2 # kept
g: ~
---
second: doc
`
	docs, err := decodeYAML(src)
	if err != nil {
		t.Fatal(err)
	}
	want := []any{
		map[string]any{
			"a": 1, "b": "x: # not a comment",
			"c": []any{1, map[string]any{"name": "n", "port": 0o440}, map[string]any{"deep": true}},
			"d": []any{"same-indent"}, "e": []any{"p", "q"},
			"f": "line 1\n\nline 2 # kept\n", "g": nil,
		},
		map[string]any{"second": "doc"},
	}
	if !reflect.DeepEqual(docs, want) {
		t.Errorf("decoded\n%#v\nwant\n%#v", docs, want)
	}
	for _, bad := range []string{"a: &x 1", "a: {b: 1}", "a: >\n  folded", "a: 1\na: 2", "a:\n\tb: 1", "a: 1\n  b: 2"} {
		if _, err := decodeYAML(bad); err == nil {
			t.Errorf("decodeYAML(%q) accepted unsupported YAML", bad)
		}
	}
}

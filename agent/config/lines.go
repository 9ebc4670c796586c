package config

import (
	"fmt"
	"strconv"
	"strings"
)

// keyLines maps every key and table of a TOML document to the line where it is defined.
// Paths join the keys with "." and number the elements of arrays (of tables):
// "instance[1].auth.client_id". BurntSushi/toml keeps one position per key without array
// indexes, so it cannot tell the second [[instance]]'s keys from the first's; this scanner
// can. It only runs on documents toml.Decode accepted, but never panics or loops on others.
func keyLines(src string) map[string]int {
	sc := &lineScanner{s: src, line: 1, out: map[string]int{}, arrays: map[string]int{}}
	sc.run()
	return sc.out
}

type lineScanner struct {
	s      string
	i      int
	line   int
	out    map[string]int
	arrays map[string]int // array-of-tables path -> elements seen
}

func joinKey(a, b string) string {
	if a == "" {
		return b
	}
	return a + "." + b
}

func (sc *lineScanner) mark(path string, line int) {
	if _, ok := sc.out[path]; !ok {
		sc.out[path] = line
	}
}

func (sc *lineScanner) eof() bool { return sc.i >= len(sc.s) }

func (sc *lineScanner) advance() {
	if sc.s[sc.i] == '\n' {
		sc.line++
	}
	sc.i++
}

// skipSpace skips blanks on the current line.
func (sc *lineScanner) skipSpace() {
	for !sc.eof() && (sc.s[sc.i] == ' ' || sc.s[sc.i] == '\t' || sc.s[sc.i] == '\r') {
		sc.i++
	}
}

// skipSpaceNL skips blanks, newlines and comments.
func (sc *lineScanner) skipSpaceNL() {
	for !sc.eof() {
		switch sc.s[sc.i] {
		case ' ', '\t', '\r', '\n':
			sc.advance()
		case '#':
			sc.skipLine()
		default:
			return
		}
	}
}

// skipLine moves past the next newline.
func (sc *lineScanner) skipLine() {
	for !sc.eof() {
		c := sc.s[sc.i]
		sc.advance()
		if c == '\n' {
			return
		}
	}
}

func (sc *lineScanner) run() {
	table := ""
	for {
		sc.skipSpaceNL()
		if sc.eof() {
			return
		}
		start := sc.i
		if sc.s[sc.i] == '[' {
			line := sc.line
			arr := strings.HasPrefix(sc.s[sc.i:], "[[")
			sc.i++
			if arr {
				sc.i++
			}
			table = sc.header(sc.keys(), arr)
			sc.mark(table, line)
		} else {
			sc.keyValue(table)
		}
		sc.skipLine()
		if sc.i == start && !sc.eof() {
			sc.advance()
		}
	}
}

// header resolves a table header to an indexed path.
func (sc *lineScanner) header(keys []string, arr bool) string {
	path := ""
	for n, k := range keys {
		path = joinKey(path, k)
		if n == len(keys)-1 && arr {
			c := sc.arrays[path]
			sc.arrays[path] = c + 1
			path = fmt.Sprintf("%s[%d]", path, c)
		} else if c, ok := sc.arrays[path]; ok && c > 0 {
			path = fmt.Sprintf("%s[%d]", path, c-1)
		}
	}
	return path
}

// keys reads a dotted key.
func (sc *lineScanner) keys() []string {
	var out []string
	for {
		sc.skipSpace()
		if sc.eof() {
			return out
		}
		out = append(out, sc.keySegment())
		sc.skipSpace()
		if sc.eof() || sc.s[sc.i] != '.' {
			return out
		}
		sc.i++
	}
}

func (sc *lineScanner) keySegment() string {
	switch sc.s[sc.i] {
	case '"':
		start := sc.i
		sc.i++
		for !sc.eof() && sc.s[sc.i] != '"' && sc.s[sc.i] != '\n' {
			if sc.s[sc.i] == '\\' && sc.i+1 < len(sc.s) {
				sc.i++
			}
			sc.i++
		}
		if !sc.eof() && sc.s[sc.i] == '"' {
			sc.i++
		}
		raw := sc.s[start:sc.i]
		if u, err := strconv.Unquote(raw); err == nil {
			return u
		}
		return strings.Trim(raw, `"`)
	case '\'':
		sc.i++
		start := sc.i
		for !sc.eof() && sc.s[sc.i] != '\'' && sc.s[sc.i] != '\n' {
			sc.i++
		}
		seg := sc.s[start:sc.i]
		if !sc.eof() && sc.s[sc.i] == '\'' {
			sc.i++
		}
		return seg
	}
	start := sc.i
	for !sc.eof() && !strings.ContainsRune(" \t\r\n=.[]{},#\"'", rune(sc.s[sc.i])) {
		sc.i++
	}
	return sc.s[start:sc.i]
}

// keyValue reads "key = value" under the table path prefix.
func (sc *lineScanner) keyValue(prefix string) {
	line := sc.line
	keys := sc.keys()
	path := prefix
	for _, k := range keys {
		path = joinKey(path, k)
		sc.mark(path, line)
	}
	sc.skipSpace()
	if sc.eof() || sc.s[sc.i] != '=' {
		return
	}
	sc.i++
	sc.skipSpace()
	sc.value(path)
}

func (sc *lineScanner) value(path string) {
	if sc.eof() {
		return
	}
	rest := sc.s[sc.i:]
	switch {
	case strings.HasPrefix(rest, `"""`):
		sc.multiline(`"""`, true)
	case strings.HasPrefix(rest, `'''`):
		sc.multiline(`'''`, false)
	case rest[0] == '"':
		sc.i++
		for !sc.eof() && sc.s[sc.i] != '"' && sc.s[sc.i] != '\n' {
			if sc.s[sc.i] == '\\' && sc.i+1 < len(sc.s) && sc.s[sc.i+1] != '\n' {
				sc.i++
			}
			sc.i++
		}
		if !sc.eof() && sc.s[sc.i] == '"' {
			sc.i++
		}
	case rest[0] == '\'':
		sc.i++
		for !sc.eof() && sc.s[sc.i] != '\'' && sc.s[sc.i] != '\n' {
			sc.i++
		}
		if !sc.eof() && sc.s[sc.i] == '\'' {
			sc.i++
		}
	case rest[0] == '[':
		sc.i++
		for idx := 0; ; {
			sc.skipSpaceNL()
			if sc.eof() {
				return
			}
			switch sc.s[sc.i] {
			case ']':
				sc.i++
				return
			case ',':
				sc.i++
				continue
			}
			before := sc.i
			elem := fmt.Sprintf("%s[%d]", path, idx)
			sc.mark(elem, sc.line)
			sc.value(elem)
			idx++
			if sc.i == before {
				sc.advance()
			}
		}
	case rest[0] == '{':
		sc.i++
		for {
			sc.skipSpaceNL()
			if sc.eof() {
				return
			}
			switch sc.s[sc.i] {
			case '}':
				sc.i++
				return
			case ',':
				sc.i++
				continue
			}
			before := sc.i
			sc.keyValue(path)
			if sc.i == before {
				sc.advance()
			}
		}
	default:
		for !sc.eof() && !strings.ContainsRune(",]}\n\r#", rune(sc.s[sc.i])) {
			sc.i++
		}
	}
}

// multiline skips a multi-line string opened by delim at the current position.
func (sc *lineScanner) multiline(delim string, escapes bool) {
	sc.i += len(delim)
	for !sc.eof() {
		if escapes && sc.s[sc.i] == '\\' && sc.i+1 < len(sc.s) {
			sc.advance()
			sc.advance()
			continue
		}
		if strings.HasPrefix(sc.s[sc.i:], delim) {
			sc.i += len(delim)
			// Up to two quotes may close the content right before the delimiter.
			for n := 0; n < 2 && !sc.eof() && sc.s[sc.i] == delim[0]; n++ {
				sc.i++
			}
			return
		}
		sc.advance()
	}
}

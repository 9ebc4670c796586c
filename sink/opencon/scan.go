package opencon

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// This file holds a small JSON scanner for reading bodies back: it finds
// the extent of each value without building it, so reading a message costs
// one pass over its bytes (encoding/json with RawMessage costs several and
// was the most expensive step of a broker delivery).

var errSyntax = errors.New("invalid JSON")

// skipSpace returns the index of the first non-space byte at or after i.
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i] == '"'.
// It jumps from quote to quote: a quote preceded by an odd number of
// backslashes is escaped.
func skipString(b []byte, i int) (int, error) {
	for j := i + 1; j < len(b); {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			break
		}
		q := j + k
		n := 0
		for p := q - 1; p > i && b[p] == '\\'; p-- {
			n++
		}
		if n%2 == 0 {
			return q + 1, nil
		}
		j = q + 1
	}
	return 0, fmt.Errorf("%w: unterminated string", errSyntax)
}

// skipValue returns the index after the value starting at b[i] (no space
// before it).
func skipValue(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, fmt.Errorf("%w: unexpected end", errSyntax)
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				end, err := skipString(b, i)
				if err != nil {
					return 0, err
				}
				i = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1, nil
				}
			}
		}
		return 0, fmt.Errorf("%w: unterminated object or array", errSyntax)
	default:
		j := i
		for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\n' && b[j] != '\t' && b[j] != '\r' {
			j++
		}
		if j == i {
			return 0, fmt.Errorf("%w: unexpected %q", errSyntax, b[i])
		}
		return j, nil
	}
}

// walkObject reads the object starting at b[i] (no space before it). For
// each member it calls fn with the key (still quoted) and the index where
// the value starts; fn consumes the value (skipValue, or a nested walk) and
// returns the index after it. walkObject returns the index after the
// object. Each byte is scanned once, however deep the walk goes.
func walkObject(b []byte, i int, fn func(key []byte, i int) (int, error)) (int, error) {
	if i >= len(b) || b[i] != '{' {
		return 0, fmt.Errorf("%w: not an object", errSyntax)
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return 0, fmt.Errorf("%w: object key expected", errSyntax)
		}
		kend, err := skipString(b, i)
		if err != nil {
			return 0, err
		}
		key := b[i:kend]
		i = skipSpace(b, kend)
		if i >= len(b) || b[i] != ':' {
			return 0, fmt.Errorf("%w: ':' expected", errSyntax)
		}
		if i, err = fn(key, skipSpace(b, i+1)); err != nil {
			return 0, err
		}
		i = skipSpace(b, i)
		if i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
			continue
		}
		if i < len(b) && b[i] == '}' {
			return i + 1, nil
		}
		return 0, fmt.Errorf("%w: ',' or '}' expected", errSyntax)
	}
}

// walkArray reads the array starting at b[i] as walkObject reads an object:
// fn consumes each element from its start index.
func walkArray(b []byte, i int, fn func(i int) (int, error)) (int, error) {
	if i >= len(b) || b[i] != '[' {
		return 0, fmt.Errorf("%w: not an array", errSyntax)
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return i + 1, nil
	}
	for {
		var err error
		if i, err = fn(i); err != nil {
			return 0, err
		}
		i = skipSpace(b, i)
		if i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
			continue
		}
		if i < len(b) && b[i] == ']' {
			return i + 1, nil
		}
		return 0, fmt.Errorf("%w: ',' or ']' expected", errSyntax)
	}
}

// keyIs reports whether the quoted key is name (keys the writer produces
// have no escapes).
func keyIs(key []byte, name string) bool {
	return len(key) == len(name)+2 && string(key[1:len(key)-1]) == name
}

// unquote decodes a JSON string value; a value that is not a string gives "".
func unquote(v []byte) (string, error) {
	if len(v) < 2 || v[0] != '"' {
		return "", nil
	}
	for _, c := range v[1 : len(v)-1] {
		if c == '\\' {
			var s string
			err := json.Unmarshal(v, &s)
			return s, err
		}
	}
	return string(v[1 : len(v)-1]), nil
}

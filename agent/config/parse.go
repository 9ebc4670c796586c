package config

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/onedrive-agent/onedrive-agent/internal/safefile"
)

// Parse reads agent.toml content. name is the file name used in messages and the base of
// relative paths; env looks up environment variables (os.LookupEnv; nil means none is set).
// It reads the files *_file and ca_file name and nothing else. The error joins every problem
// found, each an *Error.
func Parse(name string, data []byte, env func(string) (string, bool)) (*Config, error) {
	return parse(name, data, env, false)
}

// ParseDeferSecrets is Parse for commands that need no secret (status, dead, poll through
// a running agent, check without --online): a secret whose ${NAME} is not set, or whose
// *_file cannot be read, is left empty and recorded in its Instance.Unresolved instead of
// failing. Every other problem fails as with Parse. The runtime resolves secrets with
// Parse; a command that comes to need one asks Instance.SecretErr.
func ParseDeferSecrets(name string, data []byte, env func(string) (string, bool)) (*Config, error) {
	return parse(name, data, env, true)
}

func parse(name string, data []byte, env func(string) (string, bool), deferSecrets bool) (*Config, error) {
	if env == nil {
		env = func(string) (string, bool) { return "", false }
	}
	p := &parser{problems: problems{file: name}, env: env, dir: filepath.Dir(name), deferSecrets: deferSecrets}
	var root map[string]any
	if _, err := toml.Decode(string(data), &root); err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, &Error{File: name, Line: pe.Position.Line, Key: pe.LastKey, Msg: pe.Message}
		}
		return nil, &Error{File: name, Msg: err.Error()}
	}
	p.lines = keyLines(string(data))
	cfg := p.config(&table{p: p, m: root, line: 1})
	if err := p.err(); err != nil {
		return nil, err
	}
	cfg.File = name
	cfg.Warnings = p.warnings()
	return cfg, nil
}

type parser struct {
	problems
	env   func(string) (string, bool)
	dir   string
	lines map[string]int
	// deferSecrets records unresolvable secrets in deferred instead of failing.
	deferSecrets bool
	deferred     []*Error
}

// deferSecret records a secret that could not be resolved; it reports whether the parser
// defers secrets (else the caller reports the problem as an error).
func (p *parser) deferSecret(f field, err error) bool {
	if !p.deferSecrets || !f.secret {
		return false
	}
	p.deferred = append(p.deferred, &Error{File: p.file, Line: f.line, Key: f.key, Msg: err.Error()})
	return true
}

// table is one TOML table being read; used records the keys read so that the rest can be
// reported as unknown.
type table struct {
	p    *parser
	m    map[string]any
	path string // indexed path, "" for the root: "instance[1].auth"
	name string // key in messages: "instance.auth"
	line int
}

// field is one value with where it came from.
type field struct {
	key    string // in messages: "instance.auth.client_secret_file"
	path   string // indexed: "instance[1].auth.client_secret_file"
	line   int
	v      any
	secret bool // never show the value
	file   bool // the value is the path of a file holding the secret
}

func (t *table) field(k string) field {
	path := joinKey(t.path, k)
	line, ok := t.p.lines[path]
	if !ok {
		line = t.line
	}
	return field{key: joinKey(t.name, k), path: path, line: line, v: t.m[k]}
}

// sub returns the sub-table k, or nil when absent or not a table (reported).
func (t *table) sub(k string) *table {
	v, ok := t.m[k]
	if !ok {
		return nil
	}
	f := t.field(k)
	m, ok := v.(map[string]any)
	if !ok {
		t.p.errf(f.line, f.key, "must be a table ([%s]), got %s", f.key, describe(v, false))
		return nil
	}
	return &table{p: t.p, m: m, path: joinKey(t.path, k), name: f.key, line: f.line}
}

// unknown reports the keys of t not in known.
func (t *table) unknown(known []string, hint map[string]string) {
	keys := make([]string, 0, len(t.m))
	for k := range t.m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if contains(known, k) {
			continue
		}
		f := t.field(k)
		msg := "unknown key"
		if h, ok := hint[k]; ok {
			msg += ": " + h
		} else if s := suggest(k, known); s != "" {
			msg += fmt.Sprintf(" (did you mean %s?)", s)
		} else {
			msg += fmt.Sprintf(" (known: %s)", strings.Join(known, ", "))
		}
		t.p.errf(f.line, f.key, "%s", msg)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// suggest returns the known key closest to k when it is a likely typo.
func suggest(k string, known []string) string {
	best, bestD := "", 3
	for _, c := range known {
		if d := editDistance(strings.ToLower(k), c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// describe names a TOML value for a message; secrets show only their type.
func describe(v any, secret bool) string {
	var kind string
	switch v.(type) {
	case string:
		kind = "a string"
	case int64:
		kind = "an integer"
	case float64:
		kind = "a float"
	case bool:
		kind = "a boolean"
	case []any, []map[string]any:
		return "an array"
	case map[string]any:
		return "a table"
	default:
		return "a date/time"
	}
	if secret {
		return kind
	}
	return fmt.Sprintf("%s (%s)", kind, quote(v))
}

func quote(v any) string {
	if s, ok := v.(string); ok {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprint(v)
}

func (p *parser) typeErr(f field, want string) {
	p.errf(f.line, f.key, "must be %s, got %s", want, describe(f.v, f.secret))
}

// str returns a string value with ${NAME} expanded; for a *_file secret, the file's content.
func (p *parser) str(f field) (string, bool) {
	s, ok := f.v.(string)
	if !ok {
		p.typeErr(f, "a string")
		return "", false
	}
	s, err := expand(s, p.env)
	if err != nil {
		var unset unsetVarError
		if !errors.As(err, &unset) || !p.deferSecret(f, err) {
			p.errf(f.line, f.key, "%v", err)
		}
		return "", false
	}
	if isPlaceholder(s) {
		if f.secret {
			p.errf(f.line, f.key, "still holds a placeholder (REPLACE-with-…): put the real value here")
		} else {
			p.errf(f.line, f.key, "%q is a placeholder: put the real value here", s)
		}
		return "", false
	}
	if f.file {
		v, err := p.readSecret(f, s)
		if err != nil {
			// A file that is not there is a mistake whoever reads it; one
			// this user may not read may be the service user's.
			_, statErr := os.Stat(resolvePath(p.dir, s))
			if errors.Is(statErr, fs.ErrNotExist) || !p.deferSecret(f, err) {
				p.errf(f.line, f.key, "%v", err)
			}
			return "", false
		}
		return v, true
	}
	return s, true
}

// oneOf returns a string value that is one of allowed; any other value is
// reported ("must be a, b or c, got ...") and ok is false.
func (p *parser) oneOf(f field, allowed ...string) (string, bool) {
	s, ok := p.str(f)
	if !ok {
		return "", false
	}
	if contains(allowed, s) {
		return s, true
	}
	list := strings.Join(allowed[:len(allowed)-1], ", ") + " or " + allowed[len(allowed)-1]
	p.errf(f.line, f.key, "must be %s, got %q", list, s)
	return "", false
}

// isPlaceholder reports a value left as the install scripts and examples write it
// ("REPLACE-with-the-application-client-id").
func isPlaceholder(s string) bool {
	return strings.Contains(strings.ToLower(s), "replace-with")
}

// unsetVarError is a ${NAME} whose variable is not set.
type unsetVarError struct{ name string }

func (e unsetVarError) Error() string { return "environment variable " + e.name + " is not set" }

// path returns a string value resolved relative to the configuration file.
func (p *parser) path(f field) (string, bool) {
	s, ok := p.str(f)
	return resolvePath(p.dir, s), ok
}

func (p *parser) strs(f field) ([]string, bool) {
	list, ok := f.v.([]any)
	if !ok {
		p.typeErr(f, "an array of strings")
		return nil, false
	}
	out := make([]string, 0, len(list))
	good := true
	for i, v := range list {
		e := p.elem(f, i)
		e.v = v
		s, ok := p.str(e)
		good = good && ok
		out = append(out, s)
	}
	return out, good
}

// elem returns element i of the array field f, with its own line.
func (p *parser) elem(f field, i int) field {
	e := field{key: fmt.Sprintf("%s[%d]", f.key, i), path: fmt.Sprintf("%s[%d]", f.path, i), line: f.line, secret: f.secret}
	if l, ok := p.lines[e.path]; ok {
		e.line = l
	}
	return e
}

func (p *parser) boolean(f field) (bool, bool) {
	b, ok := f.v.(bool)
	if !ok {
		p.typeErr(f, "true or false")
	}
	return b, ok
}

func (p *parser) integer(f field) (int64, bool) {
	n, ok := f.v.(int64)
	if !ok {
		p.typeErr(f, "an integer")
	}
	return n, ok
}

func (p *parser) duration(f field) (time.Duration, bool) {
	s, ok := f.v.(string)
	if !ok {
		if _, isNum := f.v.(int64); isNum {
			p.errf(f.line, f.key, "%v is not a duration (write a string with a unit, e.g. \"5m\")", f.v)
		} else {
			p.typeErr(f, "a duration string (e.g. \"5m\")")
		}
		return 0, false
	}
	if s, ok = p.str(f); !ok {
		return 0, false
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		p.errf(f.line, f.key, "%q is not a duration (e.g. \"5m\")", s)
		return 0, false
	}
	return d, true
}

// expand replaces ${NAME} from env; $${ is a literal ${.
func expand(s string, env func(string) (string, bool)) (string, error) {
	if !strings.Contains(s, "${") {
		return s, nil
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		if i > 0 && s[i-1] == '$' {
			b.WriteString(s[:i-1] + "${")
			s = s[i+2:]
			continue
		}
		b.WriteString(s[:i])
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return "", errors.New("\"${\" without a closing \"}\" (write $${ for a literal ${)")
		}
		name := s[i+2 : i+end]
		if !validEnvName(name) {
			return "", fmt.Errorf("${%s}: not an environment variable name", name)
		}
		v, ok := env(name)
		if !ok {
			return "", unsetVarError{name}
		}
		b.WriteString(v)
		s = s[i+end+1:]
	}
}

func validEnvName(n string) bool {
	if n == "" {
		return false
	}
	for i, c := range n {
		if c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (i > 0 && c >= '0' && c <= '9') {
			continue
		}
		return false
	}
	return true
}

const maxSecretFile = 64 << 10

// readSecret reads the secret file named by a *_file key; the content is trimmed. No message
// ever holds any part of the content. A file another user could have written is warned about.
func (p *parser) readSecret(f field, name string) (string, error) {
	name = resolvePath(p.dir, name)
	b, fi, err := readRegular(name, maxSecretFile)
	if err != nil {
		return "", err
	}
	if why := safefile.TrustProblem(fi); why != "" {
		p.warnf(f.line, f.key, "the secret file %s %s: another user could change the secret; chmod go-w and chown it to this user or root", name, why)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("file %s is empty", name)
	}
	return s, nil
}

// readRegular reads a regular file of at most max bytes and returns it with the
// information of the file it read (not of whatever the name points to later).
func readRegular(name string, max int64) ([]byte, fs.FileInfo, error) {
	// Stat before opening: opening a FIFO or a device could block or never end.
	if st, err := os.Stat(name); err != nil {
		return nil, nil, fileErr(name, err)
	} else if !st.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("%s is not a regular file", name)
	}
	fh, err := os.Open(name)
	if err != nil {
		return nil, nil, fileErr(name, err)
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, nil, fileErr(name, err)
	}
	if !st.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("%s is not a regular file", name)
	}
	if st.Size() > max {
		return nil, nil, fmt.Errorf("%s is larger than %d bytes", name, max)
	}
	b, err := io.ReadAll(io.LimitReader(fh, max))
	return b, st, err
}

// caFile checks that a CA file holds at least one PEM certificate.
func (p *parser) caFile(f field) string {
	name, ok := p.path(f)
	if !ok || name == "" {
		return ""
	}
	b, _, err := readRegular(name, 10<<20)
	if err != nil {
		p.errf(f.line, f.key, "%v", err)
		return name
	}
	if !x509.NewCertPool().AppendCertsFromPEM(b) {
		p.errf(f.line, f.key, "%s holds no PEM certificate", name)
	}
	return name
}

func fileErr(name string, err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return fmt.Errorf("cannot read %s: %v", name, err)
}

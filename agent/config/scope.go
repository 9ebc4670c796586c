package config

import (
	"errors"
	"path"
	"strings"
)

// Scope says which items of a drive an instance reports, by their path from the drive root
// ("/Invoices/2026/a.pdf"; the root is "/"). An item is in scope when
//
//   - it is Folder or under it: Folder is a path prefix, and the folder itself is in scope
//     too (a rename of the folder is reported); "" or "/" is the whole drive;
//   - it matches an Include pattern, or Include is empty;
//   - it matches no Exclude pattern.
//
// Patterns are gitignore-like globs: "*" matches within one path segment, "?" one character,
// "[abc]", "[a-z]", "[!a]" (or "[^a]") a character class, "\" escapes; "**" as a whole
// segment matches any number of segments ("**/~$*", "/Invoices/**"). A pattern without a
// "/" (a trailing "/" does not count) matches the item's name at any depth ("*.pdf"); one
// with a "/" matches the whole path from the drive root, with or without a leading "/". As
// in .gitignore, a pattern that matches a folder also matches everything under it: exclude
// ["tmp"] drops every folder named tmp with its content. Matching ignores case, as OneDrive
// does with names.
type Scope struct {
	Folder  string   // e.g. "/" or "/Finance"
	Include []string // e.g. ["/Invoices/**", "*.pdf"]
	Exclude []string // e.g. ["**/~$*"]
}

// Match reports whether the item at path p is in scope. A pattern that ValidPattern rejects
// matches nothing.
func (s Scope) Match(p string) bool {
	p = cleanPath(p)
	lp := strings.ToLower(p)
	folder := strings.ToLower(cleanPath(s.Folder))
	if folder != "/" && lp != folder && !strings.HasPrefix(lp, folder+"/") {
		return false
	}
	if len(s.Include) > 0 && !matchAny(s.Include, lp) {
		return false
	}
	return !matchAny(s.Exclude, lp)
}

// cleanPath gives p one leading "/" and no trailing "/" ("" is the root).
func cleanPath(p string) string {
	p = strings.TrimRight(p, "/")
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	return p
}

// matchAny reports whether p (lower case) or one of its ancestor folders matches a pattern.
func matchAny(patterns []string, p string) bool {
	if len(patterns) == 0 || p == "/" {
		return false
	}
	for _, pat := range patterns {
		segs, anchored, ok := compilePattern(pat)
		if !ok {
			continue
		}
		for q := p; q != "" && q != "/"; q = q[:strings.LastIndexByte(q, '/')] {
			if matchPath(segs, anchored, q) {
				return true
			}
		}
	}
	return false
}

// compilePattern lower-cases a pattern and splits it into segments. anchored is false for a
// pattern that matches names at any depth.
func compilePattern(pat string) (segs []string, anchored, ok bool) {
	pat = strings.ToLower(strings.TrimRight(pat, "/"))
	if pat == "" {
		return nil, false, false
	}
	pat = strings.ReplaceAll(pat, "[!", "[^")
	if !strings.Contains(pat, "/") {
		return []string{pat}, false, true
	}
	for _, s := range strings.Split(strings.TrimPrefix(pat, "/"), "/") {
		if s == "" {
			return nil, false, false
		}
		if s == "**" && len(segs) > 0 && segs[len(segs)-1] == "**" {
			continue // "**/**" is "**"
		}
		segs = append(segs, s)
	}
	return segs, true, true
}

func matchPath(segs []string, anchored bool, p string) bool {
	if !anchored {
		ok, _ := path.Match(segs[0], p[strings.LastIndexByte(p, '/')+1:])
		return ok
	}
	return matchSegments(segs, strings.Split(strings.TrimPrefix(p, "/"), "/"))
}

func matchSegments(pats, segs []string) bool {
	for len(pats) > 0 {
		if pats[0] == "**" {
			rest := pats[1:]
			if len(rest) == 0 {
				return len(segs) > 0
			}
			for i := 0; i <= len(segs); i++ {
				if matchSegments(rest, segs[i:]) {
					return true
				}
			}
			return false
		}
		if len(segs) == 0 {
			return false
		}
		if ok, _ := path.Match(pats[0], segs[0]); !ok {
			return false
		}
		pats, segs = pats[1:], segs[1:]
	}
	return len(segs) == 0
}

// ValidPattern reports whether pat is a pattern Scope understands.
func ValidPattern(pat string) error {
	if strings.TrimRight(pat, "/") == "" {
		return errors.New("empty pattern")
	}
	segs, _, ok := compilePattern(pat)
	if !ok {
		return errors.New("empty path segment (\"//\")")
	}
	for _, s := range segs {
		if _, err := path.Match(s, ""); err != nil {
			return errors.New("malformed pattern (an unclosed \"[\" or a trailing \"\\\")")
		}
	}
	return nil
}

package delta

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/onedrive-agent/onedrive-agent/store"
)

// maxDepth bounds the walk up the parent chain; a longer chain is a cycle in
// the index and the path is treated as unknown.
const maxDepth = 4096

// maxCachedPaths bounds the folder path cache; it is emptied when full.
const maxCachedPaths = 8192

// paths computes item paths from the index (id, parent id, name), never from
// parentReference.path. The root's path is ""; its children are "/name", each
// name rendered by segment. A
// path is unknown (ok false) when an ancestor is missing from the index. The
// cache is only valid while the index does not change.
type paths struct {
	tx    Tx
	cache map[string]string // folder id → path
	chain []store.Item
}

func newPaths(tx Tx) *paths { return &paths{tx: tx, cache: make(map[string]string)} }

// of returns the path of an indexed item.
func (p *paths) of(it store.Item) (string, bool, error) {
	if it.Root {
		return "", true, nil
	}
	parent, ok, err := p.folder(it.ParentID)
	if err != nil || !ok {
		return "", false, err
	}
	return parent + "/" + segment(it.Name), true, nil
}

// folder returns the path of the folder with the given id.
func (p *paths) folder(id string) (string, bool, error) {
	if path, ok := p.cache[id]; ok {
		return path, true, nil
	}
	chain := p.chain[:0]
	base, known := "", false
	for cur := id; len(chain) < maxDepth; {
		if cur == "" {
			break
		}
		if path, ok := p.cache[cur]; ok {
			base, known = path, true
			break
		}
		it, ok, err := p.tx.Item(cur)
		if err != nil {
			return "", false, fmt.Errorf("read item %q: %w", cur, err)
		}
		if !ok {
			break
		}
		if it.Root {
			p.put(it.ID, "")
			base, known = "", true
			break
		}
		chain = append(chain, it)
		cur = it.ParentID
	}
	p.chain = chain[:0]
	if !known {
		return "", false, nil
	}
	path := base
	for i := len(chain) - 1; i >= 0; i-- {
		path = path + "/" + segment(chain[i].Name)
		p.put(chain[i].ID, path)
	}
	return path, true, nil
}

func (p *paths) put(id, path string) {
	if len(p.cache) >= maxCachedPaths {
		clear(p.cache)
	}
	p.cache[id] = path
}

// pathDepth is the number of segments of a path ("/a/b" → 2).
func pathDepth(path string) int { return strings.Count(path, "/") }

// segment renders an item name as one path segment that no reader can take for
// more or less than one segment: OneDrive allows none of these in a name, but a
// name is what Graph sends, and a forged one must not move an item to another
// path (out of or into the configured folder). '/', '\\', control characters
// (C0, DEL, C1) and invalid UTF-8 are written as %XX (UTF-8 bytes, upper-case
// hex); the names "." and ".." become
// "%2E" and "%2E%2E", and an empty name "%00", so that no path cleaning
// collapses them. Every other name, '%' included, is kept as it is, so the
// paths of real items read as their names.
func segment(name string) string {
	if !needsEscape(name) {
		return name
	}
	switch name {
	case "":
		return "%00"
	case ".":
		return "%2E"
	case "..":
		return "%2E%2E"
	}
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(name) + 8)
	for _, r := range name {
		if !escapedRune(r) {
			b.WriteRune(r)
			continue
		}
		var buf [utf8.UTFMax]byte
		for _, c := range buf[:utf8.EncodeRune(buf[:], r)] {
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String()
}

// needsEscape reports whether segment changes name.
func needsEscape(name string) bool {
	if name == "" || name == "." || name == ".." {
		return true
	}
	for _, r := range name {
		if escapedRune(r) {
			return true
		}
	}
	return false
}

// escapedRune reports whether r is written as %XX in a path segment.
func escapedRune(r rune) bool {
	return r == '/' || r == '\\' || r < 0x20 || (r >= 0x7f && r <= 0x9f) || r == utf8.RuneError
}

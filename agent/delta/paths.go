package delta

import (
	"fmt"
	"strings"

	"github.com/onedrive-agent/onedrive-agent/store"
)

// maxDepth bounds the walk up the parent chain; a longer chain is a cycle in
// the index and the path is treated as unknown.
const maxDepth = 4096

// maxCachedPaths bounds the folder path cache; it is emptied when full.
const maxCachedPaths = 8192

// paths computes item paths from the index (id, parent id, name), never from
// parentReference.path. The root's path is ""; its children are "/name". A
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
	return parent + "/" + it.Name, true, nil
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
		path = path + "/" + chain[i].Name
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

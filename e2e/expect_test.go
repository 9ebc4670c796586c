package e2e

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/onedrive-agent/onedrive-agent/connector/graphtest"
)

// Want is an expected event: what docs/receiver.md says a poll must
// report for one item, derived from two snapshots of the drive.
type Want struct {
	Type, ID, ItemType, Path, OldPath string
	Changes                           []string
}

func (w Want) String() string {
	s := fmt.Sprintf("%s %s %s %s", w.Type, w.ItemType, w.ID, w.Path)
	if w.OldPath != "" {
		s += " (from " + w.OldPath + ")"
	}
	if len(w.Changes) > 0 {
		s += " " + strings.Join(w.Changes, ",")
	}
	return s
}

// Expected returns the events a poll must report when the drive went from
// prev to cur, in the contract's order (the whole drive in scope):
//   - an id only in cur: CREATED; only in prev: DELETED at its prev path
//     (so created-and-deleted in between gives nothing);
//   - an id in both with a new eTag: UPDATED when its parent or name changed
//     (with oldPath), or, for a file, its content (size or hash) or else its
//     metadata. A folder is never UPDATED for its children or metadata, and
//     the items under a renamed or moved folder keep their eTag, so only the
//     folder is reported.
//
// Order: DELETED first, deepest path first; then UPDATED and CREATED by
// path depth, shallower first, UPDATED before CREATED at equal depth; ties
// by item id.
func Expected(prev, cur map[string]graphtest.Entry) []Want {
	var out []Want
	for id, p := range prev {
		if p.Root {
			continue
		}
		if _, ok := cur[id]; !ok {
			out = append(out, Want{Type: "DELETED", ID: id, ItemType: itemType(p), Path: p.Path})
		}
	}
	for id, c := range cur {
		if c.Root {
			continue
		}
		p, ok := prev[id]
		if !ok {
			out = append(out, Want{Type: "CREATED", ID: id, ItemType: itemType(c), Path: c.Path})
			continue
		}
		if p.ETag == c.ETag {
			continue
		}
		var ch []string
		if p.ParentID != c.ParentID {
			ch = append(ch, "parent")
		}
		if p.Name != c.Name {
			ch = append(ch, "name")
		}
		if !c.Folder {
			if p.Size != c.Size || p.QuickXorHash != c.QuickXorHash {
				ch = append(ch, "content")
			} else if len(ch) == 0 {
				ch = append(ch, "metadata")
			}
		}
		if len(ch) == 0 {
			continue
		}
		w := Want{Type: "UPDATED", ID: id, ItemType: itemType(c), Path: c.Path, Changes: ch}
		if p.ParentID != c.ParentID || p.Name != c.Name {
			w.OldPath = oldPathAsSeen(p, c, cur)
		}
		out = append(out, w)
	}
	sort.Slice(out, func(i, j int) bool { return wantLess(out[i], out[j]) })
	return out
}

// oldPathAsSeen is the old path as a receiver that applies the round's
// events in order knows it: when the old parent now sits shallower than the
// item, its move or rename (and its ancestors') came first, so the old path
// is the parent's new path plus the item's old name.
func oldPathAsSeen(p, c graphtest.Entry, cur map[string]graphtest.Entry) string {
	parent, ok := cur[p.ParentID]
	if !ok || strings.Count(parent.Path, "/") >= strings.Count(c.Path, "/") {
		return p.Path
	}
	if parent.Path == "/" {
		return "/" + p.Name
	}
	return parent.Path + "/" + p.Name
}

func itemType(e graphtest.Entry) string {
	if e.Folder {
		return "folder"
	}
	return "file"
}

func wantLess(a, b Want) bool {
	ka, kb := orderKey(a.Type, a.Path), orderKey(b.Type, b.Path)
	if ka != kb {
		return ka < kb
	}
	return a.ID < b.ID
}

// orderKey ranks an event inside a round (lower first).
func orderKey(typ, path string) int {
	depth := strings.Count(path, "/")
	switch typ {
	case "DELETED":
		return -depth
	case "UPDATED":
		return 2 * depth
	default:
		return 2*depth + 1
	}
}

// CompareEvents compares the events of one poll with the expected ones,
// field by field and in order; it returns the differences (at most 20).
func CompareEvents(got []Event, want []Want) []string {
	var out []string
	add := func(format string, args ...any) bool {
		out = append(out, fmt.Sprintf(format, args...))
		return len(out) < 20
	}
	n := max(len(got), len(want))
	for i := 0; i < n; i++ {
		switch {
		case i >= len(got):
			if !add("missing event #%d: %s", i, want[i]) {
				return out
			}
		case i >= len(want):
			if !add("unexpected event #%d: %s", i, got[i]) {
				return out
			}
		default:
			g, w := got[i], want[i]
			if g.EventType != w.Type || g.ObjectID != w.ID || g.ItemType != w.ItemType || g.Path != w.Path ||
				g.OldPath != w.OldPath || !slices.Equal(g.Changes, w.Changes) {
				if !add("event #%d: got %s, want %s", i, g, w) {
					return out
				}
			}
		}
	}
	return out
}

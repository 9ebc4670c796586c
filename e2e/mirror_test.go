package e2e

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/onedrive-agent/onedrive-agent/connector/graphtest"
)

// Mirror is what a receiver that keys by item id rebuilds from the events:
// id → path (and, for files, the eTag and hash of the last event), starting
// from the tree at the baseline. A folder UPDATED with an oldPath moves the
// paths of its whole subtree, as docs/receiver.md tells receivers to do.
type Mirror struct {
	items map[string]*mirrorItem
	// Anomalies are events that cannot follow from the events before them:
	// CREATED for an id already present, UPDATED or DELETED of an unknown id,
	// an item's eTag going backwards. Each one means a lost, repeated or
	// reordered event.
	Anomalies []string
	// StaleOldPaths counts folder moves whose oldPath is not the path the
	// events before it gave the folder (an ancestor moved earlier in the
	// same round): a receiver keyed by path could not apply them.
	StaleOldPaths int
}

type mirrorItem struct {
	path   string
	folder bool
	etag   string
	hash   string
	ver    int // the change counter of the eTag, -1 when unknown
}

// NewMirror starts from a snapshot of the drive (the root is left out: it
// is never reported).
func NewMirror(tree map[string]graphtest.Entry) *Mirror {
	m := &Mirror{items: map[string]*mirrorItem{}}
	for id, e := range tree {
		if e.Root {
			continue
		}
		m.items[id] = &mirrorItem{path: e.Path, folder: e.Folder, etag: e.ETag, hash: e.QuickXorHash, ver: etagVersion(e.ETag)}
	}
	return m
}

// etagVersion reads N from a graphtest eTag "{GUID},N" (-1 if not one).
func etagVersion(etag string) int {
	etag = strings.Trim(etag, `"`)
	k := strings.LastIndexByte(etag, ',')
	if k < 0 {
		return -1
	}
	n, err := strconv.Atoi(etag[k+1:])
	if err != nil {
		return -1
	}
	return n
}

func (m *Mirror) anomaly(format string, args ...any) {
	if len(m.Anomalies) < 50 {
		m.Anomalies = append(m.Anomalies, fmt.Sprintf(format, args...))
	}
}

// ApplyAll applies events in order.
func (m *Mirror) ApplyAll(events []Event) {
	for _, e := range events {
		m.Apply(e)
	}
}

// Apply applies one event.
func (m *Mirror) Apply(e Event) {
	cur, known := m.items[e.ObjectID]
	switch e.EventType {
	case "DELETED":
		if !known {
			m.anomaly("%s: item unknown", e)
			return
		}
		delete(m.items, e.ObjectID)
		return
	case "CREATED":
		if known {
			m.anomaly("%s: item already present at %s", e, cur.path)
		}
	case "UPDATED":
		if !known {
			m.anomaly("%s: item unknown", e)
		}
	}
	var ri rawItem
	_ = json.Unmarshal(e.Raw, &ri)
	it := &mirrorItem{path: e.Path, folder: e.ItemType == "folder", etag: ri.ETag, ver: etagVersion(ri.ETag)}
	if ri.File != nil {
		it.hash = ri.File.Hashes.QuickXorHash
	}
	if known && cur.ver >= 0 && it.ver >= 0 && it.ver <= cur.ver {
		m.anomaly("%s: eTag version %d after %d", e, it.ver, cur.ver)
	}
	if it.folder && known && cur.path != e.Path {
		// Keyed by id, the receiver knows the folder's path before this
		// event; it can differ from oldPath when an ancestor moved earlier
		// in the same round (oldPath is the path before the round).
		if e.OldPath != "" && e.OldPath != cur.path {
			m.StaleOldPaths++
		}
		prefix := cur.path + "/"
		for _, c := range m.items {
			if strings.HasPrefix(c.path, prefix) {
				c.path = e.Path + c.path[len(cur.path):]
			}
		}
	}
	m.items[e.ObjectID] = it
}

// Diff compares the mirror with the drive: every item whose presence,
// path, or (files) eTag and hash differ. Empty means nothing was lost.
func (m *Mirror) Diff(tree map[string]graphtest.Entry) []string {
	var out []string
	for id, e := range tree {
		if e.Root {
			continue
		}
		it, ok := m.items[id]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("missing %s %s", id, e.Path))
		case it.path != e.Path:
			out = append(out, fmt.Sprintf("%s at %s, the drive has %s", id, it.path, e.Path))
		case !e.Folder && (it.etag != e.ETag || it.hash != e.QuickXorHash):
			out = append(out, fmt.Sprintf("%s %s: eTag %s hash %s, the drive has %s %s", id, e.Path, it.etag, it.hash, e.ETag, e.QuickXorHash))
		}
	}
	for id, it := range m.items {
		if _, ok := tree[id]; !ok {
			out = append(out, fmt.Sprintf("%s %s still present, deleted on the drive", id, it.path))
		}
	}
	sort.Strings(out)
	return out
}

// Len is the number of items in the mirror.
func (m *Mirror) Len() int { return len(m.items) }

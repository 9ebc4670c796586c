package graphtest

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// none marks an absent node index (no parent, no sibling).
const none int32 = -1

// node is one drive item. Nodes are never removed: a deleted node keeps its
// index, parent and name so that delta can report it. Kept small so that a
// million items fit in about 150 MB.
type node struct {
	name       string
	parent     int32
	firstChild int32
	nextSib    int32
	prevSib    int32
	children   int32 // live children
	folder     bool
	deleted    bool
	cascade    bool // deleted because an ancestor folder was deleted
	size       int64
	hash       [20]byte
	ver        uint64 // version of the item's last change
	etag       uint32
	ctag       uint32
	created    int64 // unix milliseconds
	modified   int64
}

// change is one change-log record: item idx changed at version ver.
type change struct {
	ver uint64
	idx int32
	at  int64 // unix milliseconds
}

// tree is the drive: nodes, the change log and the version head. Not safe for
// concurrent use; the Server lock guards it.
//
// Delta rounds show a consistent snapshot: a round lists items as they were
// at its version, even when they change between its pages. For that a node's
// state is saved in hist before a change whenever a round may still show it
// (its version is at or below keep, the newest round's version).
type tree struct {
	nodes    []node
	log      []change
	hist     map[int32][]node // earlier states, oldest first
	keep     uint64
	head     uint64
	live     int
	personal bool
	idPrefix string // personal: "DRIVEID!"; business: "01" + 6 chars
}

func newTree(personal bool, prefix string, now int64) tree {
	t := tree{personal: personal, idPrefix: prefix, hist: make(map[int32][]node)}
	t.head = 1
	t.nodes = append(t.nodes, node{name: "root", parent: none, firstChild: none, nextSib: none,
		prevSib: none, folder: true, ver: 1, etag: 1, ctag: 1, created: now, modified: now})
	t.live = 1
	t.log = append(t.log, change{ver: 1, idx: 0, at: now})
	return t
}

// personalBase offsets personal ids so that the root is "DRIVEID!101".
const personalBase = 101

func (t *tree) id(i int32) string {
	if t.personal {
		return t.idPrefix + strconv.FormatInt(int64(i)+personalBase, 10)
	}
	return t.idPrefix + fmt.Sprintf("%08X", uint32(i))
}

// index resolves an item id to a node index; ok is false for unknown ids.
func (t *tree) index(id string) (int32, bool) {
	if len(id) <= len(t.idPrefix) || !strings.EqualFold(id[:len(t.idPrefix)], t.idPrefix) {
		return none, false
	}
	rest := id[len(t.idPrefix):]
	var n int64
	var err error
	if t.personal {
		n, err = strconv.ParseInt(rest, 10, 64)
		n -= personalBase
	} else {
		if len(rest) != 8 {
			return none, false
		}
		n, err = strconv.ParseInt(rest, 16, 64)
	}
	if err != nil || n < 0 || n >= int64(len(t.nodes)) {
		return none, false
	}
	return int32(n), true
}

// liveIndex resolves id to a live node or panics: a test asked for the impossible.
func (t *tree) liveIndex(op, id string) int32 {
	i, ok := t.index(id)
	if !ok {
		panic(fmt.Sprintf("graphtest: %s: unknown item id %q", op, id))
	}
	if t.nodes[i].deleted {
		panic(fmt.Sprintf("graphtest: %s: item %q is deleted", op, id))
	}
	return i
}

func (t *tree) liveFolder(op, id string) int32 {
	i := t.liveIndex(op, id)
	if !t.nodes[i].folder {
		panic(fmt.Sprintf("graphtest: %s: item %q is not a folder", op, id))
	}
	return i
}

func checkName(op, name string) string {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\\") {
		panic(fmt.Sprintf("graphtest: %s: invalid name %q", op, name))
	}
	return strings.ToValidUTF8(name, "\uFFFD")
}

// child finds a live child of parent by name, case-insensitively as OneDrive does.
func (t *tree) child(parent int32, name string) (int32, bool) {
	for c := t.nodes[parent].firstChild; c != none; c = t.nodes[c].nextSib {
		if strings.EqualFold(t.nodes[c].name, name) {
			return c, true
		}
	}
	return none, false
}

func (t *tree) checkFree(op string, parent int32, name string, self int32) {
	if c, ok := t.child(parent, name); ok && c != self {
		panic(fmt.Sprintf("graphtest: %s: %q already exists in folder %q", op, name, t.id(parent)))
	}
}

func (t *tree) link(i, parent int32) {
	n := &t.nodes[i]
	n.parent = parent
	n.prevSib = none
	n.nextSib = t.nodes[parent].firstChild
	if n.nextSib != none {
		t.nodes[n.nextSib].prevSib = i
	}
	t.nodes[parent].firstChild = i
	t.nodes[parent].children++
}

func (t *tree) unlink(i int32) {
	n := &t.nodes[i]
	p := n.parent
	if n.prevSib != none {
		t.nodes[n.prevSib].nextSib = n.nextSib
	} else {
		t.nodes[p].firstChild = n.nextSib
	}
	if n.nextSib != none {
		t.nodes[n.nextSib].prevSib = n.prevSib
	}
	n.prevSib, n.nextSib = none, none
	t.nodes[p].children--
}

// bubble adds delta to the size of every folder from i up to the root and, as
// a folder cTag changes with its descendants, bumps their cTags.
func (t *tree) bubble(i int32, delta int64) {
	for ; i != none; i = t.nodes[i].parent {
		t.nodes[i].size += delta
		t.nodes[i].ctag++
	}
}

// record notes that node i changed at version v.
func (t *tree) record(i int32, v uint64, now int64) {
	t.nodes[i].ver = v
	t.nodes[i].etag++
	t.log = append(t.log, change{ver: v, idx: i, at: now})
}

func (t *tree) add(parent int32, name string, folder bool, size int64, hash [20]byte, now int64) int32 {
	t.head++
	i := int32(len(t.nodes))
	t.nodes = append(t.nodes, node{name: name, firstChild: none, folder: folder, size: size,
		hash: hash, ctag: 1, created: now, modified: now})
	t.link(i, parent)
	t.live++
	t.record(i, t.head, now)
	t.bubble(parent, size)
	return i
}

func (t *tree) modify(i int32, size int64, hash [20]byte, now int64) {
	t.save(i)
	t.head++
	n := &t.nodes[i]
	delta := size - n.size
	n.size, n.hash, n.modified = size, hash, now
	n.ctag++
	t.record(i, t.head, now)
	t.bubble(n.parent, delta)
}

func (t *tree) touch(i int32, now int64) {
	t.save(i)
	t.head++
	t.nodes[i].modified = now
	t.record(i, t.head, now)
}

// relocate moves i under parent with the given name (either may be unchanged).
func (t *tree) relocate(i, parent int32, name string, now int64) {
	t.save(i)
	t.head++
	n := &t.nodes[i]
	if n.parent != parent {
		size := n.size
		t.bubble(n.parent, -size)
		t.unlink(i)
		t.link(i, parent)
		t.bubble(parent, size)
	}
	t.nodes[i].name = name
	t.nodes[i].modified = now
	t.record(i, t.head, now)
}

// remove deletes i and its whole subtree at one version.
func (t *tree) remove(i int32, now int64) {
	t.head++
	v := t.head
	n := &t.nodes[i]
	t.bubble(n.parent, -n.size)
	t.unlink(i)
	stack := []int32{i}
	for len(stack) > 0 {
		j := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for c := t.nodes[j].firstChild; c != none; c = t.nodes[c].nextSib {
			stack = append(stack, c)
		}
		t.save(j)
		t.nodes[j].deleted = true
		t.nodes[j].cascade = j != i
		t.nodes[j].modified = now
		t.live--
		t.record(j, v, now)
	}
}

// save keeps node i's current state if a round may still show it.
func (t *tree) save(i int32) {
	if t.nodes[i].ver <= t.keep {
		t.hist[i] = append(t.hist[i], t.nodes[i])
	}
}

// view returns node i as it was at version v: the live node if it has not
// changed since, else the saved state (the live one if none was kept).
func (t *tree) view(i int32, v uint64) *node {
	n := &t.nodes[i]
	if n.ver <= v {
		return n
	}
	h := t.hist[i]
	for k := len(h) - 1; k >= 0; k-- {
		if h[k].ver <= v {
			return &h[k]
		}
	}
	return n
}

// prune drops saved states that no round at version min or later can show:
// a state is shown at versions from its own up to the next state's.
func (t *tree) prune(min uint64) {
	for i, h := range t.hist {
		k := 0
		for k < len(h) && t.nextVer(i, h, k) <= min {
			k++
		}
		switch {
		case k == len(h):
			delete(t.hist, i)
		case k > 0:
			t.hist[i] = append(h[:0:0], h[k:]...)
		}
	}
}

func (t *tree) nextVer(i int32, h []node, k int) uint64 {
	if k+1 < len(h) {
		return h[k+1].ver
	}
	return t.nodes[i].ver
}

// isAncestor reports whether a is i or one of its ancestors.
func (t *tree) isAncestor(a, i int32) bool {
	for ; i != none; i = t.nodes[i].parent {
		if i == a {
			return true
		}
	}
	return false
}

func (t *tree) depth(i int32) int {
	d := 0
	for i = t.nodes[i].parent; i != none; i = t.nodes[i].parent {
		d++
	}
	return d
}

// path is the item's path from the root ("/" for the root), by names.
func (t *tree) path(i int32) string {
	if i == 0 {
		return "/"
	}
	var parts []string
	for ; i > 0; i = t.nodes[i].parent {
		parts = append(parts, t.nodes[i].name)
	}
	var b strings.Builder
	for k := len(parts) - 1; k >= 0; k-- {
		b.WriteByte('/')
		b.WriteString(parts[k])
	}
	return b.String()
}

// lookup resolves a path such as "/a/b" (case-insensitive) to a live node.
func (t *tree) lookup(p string) (int32, bool) {
	i := int32(0)
	for _, seg := range strings.Split(p, "/") {
		if seg == "" {
			continue
		}
		c, ok := t.child(i, seg)
		if !ok {
			return none, false
		}
		i = c
	}
	return i, true
}

// since returns the position in the log of the first change after version v.
func (t *tree) since(v uint64) int {
	lo, hi := 0, len(t.log)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if t.log[m].ver <= v {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// versionAt is the version of the drive as it was at time at.
func (t *tree) versionAt(at time.Time) uint64 {
	ms := at.UnixMilli()
	lo, hi := 0, len(t.log)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if t.log[m].at <= ms {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo == len(t.log) {
		return t.head
	}
	return t.log[lo].ver - 1
}

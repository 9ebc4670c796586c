package graphtest

import (
	"fmt"
	"math/rand/v2"
	"strconv"
)

// RandomChange applies one random change to the drive, drawn from rng, and
// describes it ("created /Docs/f12.txt", "deleted /Old", ...). Changes are
// weighted towards file creation and modification, with renames, moves,
// metadata-only touches and deletions (of files and whole folders) mixed in.
// The demo and soak tests use it to simulate a user at work.
func (s *Server) RandomChange(rng *rand.Rand) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := &s.tree
	now := s.nowMilli()
	pick := func(want func(int32) bool) (int32, bool) {
		for try := 0; try < 64; try++ {
			i := int32(rng.IntN(len(t.nodes)))
			if !t.nodes[i].deleted && want(i) {
				return i, true
			}
		}
		return none, false
	}
	anyItem := func(i int32) bool { return i != 0 }
	folder := func(i int32) bool { return t.nodes[i].folder }
	file := func(i int32) bool { return !t.nodes[i].folder }
	name := func(prefix, ext string) string {
		return prefix + strconv.FormatUint(t.head+1, 10) + "-" + strconv.Itoa(rng.IntN(1000)) + ext
	}
	op := rng.IntN(100)
	switch {
	case op < 10 || t.live < 3:
		p, _ := pick(folder)
		if p == none {
			p = 0
		}
		n := name("Folder ", "")
		i := t.add(p, n, true, 0, [20]byte{}, now)
		return "created folder " + t.path(i)
	case op < 40:
		p, _ := pick(folder)
		if p == none {
			p = 0
		}
		content := []byte(fmt.Sprintf("content %d %d", t.head, rng.Int64()))
		i := t.add(p, name("file-", ".txt"), false, int64(len(content)), quickXorHash(content), now)
		return "created " + t.path(i)
	case op < 65:
		if i, ok := pick(file); ok {
			content := []byte(fmt.Sprintf("modified %d %d", t.head, rng.Int64()))
			t.modify(i, int64(len(content)), quickXorHash(content), now)
			return "modified " + t.path(i)
		}
	case op < 72:
		if i, ok := pick(anyItem); ok {
			t.touch(i, now)
			return "touched " + t.path(i)
		}
	case op < 82:
		if i, ok := pick(anyItem); ok {
			old := t.path(i)
			t.relocate(i, t.nodes[i].parent, name("renamed-", ""), now)
			return "renamed " + old + " to " + t.path(i)
		}
	case op < 92:
		i, ok1 := pick(anyItem)
		p, ok2 := pick(folder)
		if ok1 && ok2 && !t.isAncestor(i, p) && t.nodes[i].parent != p {
			old := t.path(i)
			if _, taken := t.child(p, t.nodes[i].name); !taken {
				t.relocate(i, p, t.nodes[i].name, now)
				return "moved " + old + " to " + t.path(i)
			}
		}
	default:
		if i, ok := pick(anyItem); ok && (!t.nodes[i].folder || t.nodes[i].children < 50) {
			old := t.path(i)
			t.remove(i, now)
			return "deleted " + old
		}
	}
	t.touch(0, now)
	return "touched /"
}

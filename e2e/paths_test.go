package e2e

import (
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/onedrive-agent/onedrive-agent/connector/graphtest"
)

// PathMirror is a receiver that keys by path (docs/receiver.md: "A
// receiver that keys by path rewrites the prefix"): a set of paths, where a
// folder's UPDATED with an oldPath moves every path under oldPath.
type PathMirror struct {
	paths map[string]bool
	// Unknown lists events whose path (DELETED) or oldPath (UPDATED) the
	// receiver does not have at that point.
	Unknown []string
}

// NewPathMirror starts from a set of paths (the root "/" left out).
func NewPathMirror(paths map[string]string) *PathMirror {
	m := &PathMirror{paths: map[string]bool{}}
	for p := range paths {
		if p != "/" {
			m.paths[p] = true
		}
	}
	return m
}

// Apply applies one event.
func (m *PathMirror) Apply(e Event) {
	switch {
	case e.EventType == "DELETED":
		if !m.paths[e.Path] {
			m.Unknown = append(m.Unknown, e.String())
		}
		delete(m.paths, e.Path)
	case e.OldPath != "":
		if !m.paths[e.OldPath] {
			m.Unknown = append(m.Unknown, e.String())
			m.paths[e.Path] = true
			return
		}
		delete(m.paths, e.OldPath)
		m.paths[e.Path] = true
		prefix := e.OldPath + "/"
		for p := range m.paths {
			if strings.HasPrefix(p, prefix) {
				delete(m.paths, p)
				m.paths[e.Path+p[len(e.OldPath):]] = true
			}
		}
	default:
		m.paths[e.Path] = true
	}
}

// Paths returns the sorted paths.
func (m *PathMirror) Paths() []string {
	out := make([]string, 0, len(m.paths))
	for p := range m.paths {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// TestNestedRenames_PathKeyedReceiver renames a folder and a folder inside
// it between two polls. The events come shallower first; the inner
// folder's oldPath must be the path the receiver knows after applying the
// outer rename (/A2/B, not /A/B), so a receiver keyed by path follows by
// rewriting prefixes, as the contract says.
func TestNestedRenames_PathKeyedReceiver(t *testing.T) {
	e := NewEnv(t, Setup{})
	g := e.Graph
	a := g.CreateFolder(g.Root(), "A")
	b := g.CreateFolder(a, "B")
	g.CreateFile(b, "f.txt", []byte("f"))
	e.StartBaselined()
	g.Rename(a, "A2")
	g.Rename(b, "B2")
	if res := e.PollOK("e2e"); res.Events != 2 {
		t.Fatalf("%d events, want 2 (the two folders)", res.Events)
	}
	e.WaitDrained(30 * time.Second)
	s := e.Verify(0) // keyed by id, a receiver follows
	m := NewPathMirror(pathsOf(e.Base))
	for _, ev := range s.Events {
		m.Apply(ev)
	}
	want := slices.Sorted(func(yield func(string) bool) {
		for p := range g.Paths() {
			if p != "/" && !yield(p) {
				return
			}
		}
	})
	if got := m.Paths(); len(m.Unknown) > 0 || !slices.Equal(got, want) {
		t.Fatalf("a receiver keyed by path cannot follow nested renames in one round: "+
			"events %v; oldPaths it does not have: %v; it ends with %v, the drive has %v", s.Events, m.Unknown, got, want)
	}
}

func pathsOf(tree map[string]graphtest.Entry) map[string]string {
	out := map[string]string{}
	for id, e := range tree {
		out[e.Path] = id
	}
	return out
}

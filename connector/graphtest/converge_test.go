package graphtest

import (
	"math/rand/v2"
	"testing"
)

// mirror is a minimal delta client: id -> (parent, name), last occurrence
// wins, a deleted folder takes its subtree along.
type mirror struct {
	items map[string][2]string
	gone  map[string]bool
}

func newMirror() *mirror { return &mirror{items: map[string][2]string{}, gone: map[string]bool{}} }

// apply applies one complete round and returns the ids whose parent the
// client has never seen: a consistent round has none.
func (m *mirror) apply(items []map[string]any) []string {
	for _, it := range items {
		id := it["id"].(string)
		if it["deleted"] != nil {
			delete(m.items, id)
			m.gone[id] = true
			continue
		}
		m.items[id] = [2]string{parentID(it), it["name"].(string)}
	}
	var unknown []string
	for changed := true; changed; { // drop the subtrees of deleted folders
		changed = false
		for id, e := range m.items {
			if _, ok := m.items[e[0]]; e[0] != "" && !ok {
				if !m.gone[e[0]] {
					unknown = append(unknown, id)
				}
				delete(m.items, id)
				m.gone[id] = true
				changed = true
			}
		}
	}
	return unknown
}

// TestServer_Converges changes the drive while a client pages through delta
// rounds under every misbehaviour knob; once the changes stop, one more round
// must leave the client with exactly the server's tree.
func TestServer_Converges(t *testing.T) {
	for _, o := range []Options{
		{PageSize: 5},
		{PageSize: 3, Order: ChildFirst, DuplicateEvery: 4, EmptyPageEvery: 2, DeletePageSize: 7, LinkStyle: FunctionLinks},
		{PageSize: 7, Order: Shuffled, Seed: 3, ExcludeAncestors: true, DeletedDescendants: true, Personal: true},
	} {
		s := NewServer(o)
		s.Populate(300, 5)
		tok := s.IssueToken()
		m := newMirror()
		items, link, _ := deltaRound(t, s.DeltaURL(), tok)
		m.apply(items)

		// Change the drive between pages, mid-round, while a goroutine
		// changes it concurrently too.
		done := make(chan struct{})
		go func() {
			defer close(done)
			rng := rand.New(rand.NewPCG(3, 4))
			for k := 0; k < 300; k++ {
				s.RandomChange(rng)
			}
		}()
		rng := rand.New(rand.NewPCG(1, 2))
		var round []map[string]any
		for u, changes := link, 0; changes < 1200; changes += 3 {
			p := fetchPage(t, u, tok)
			round = append(round, p.Value...)
			if p.Delta != "" {
				if bad := m.apply(round); len(bad) > 0 {
					t.Fatalf("%+v: a round listed items under folders the client never saw: %v", o, bad)
				}
				round, link, u = nil, p.Delta, p.Delta
			} else {
				u = p.Next
			}
			for k := 0; k < 3; k++ {
				s.RandomChange(rng)
			}
		}
		<-done
		// The round in progress is dropped: the client restarts from its link.
		items, _, _ = deltaRound(t, link, tok)
		m.apply(items)

		want := s.Tree()
		if len(m.items) != len(want) {
			t.Errorf("%+v: client has %d items, server %d", o, len(m.items), len(want))
		}
		for id, e := range want {
			if got, ok := m.items[id]; !ok || got != [2]string{e.ParentID, e.Name} {
				t.Errorf("%+v: item %s (%s): client has %v, server (%s, %s)", o, id, e.Path, got, e.ParentID, e.Name)
				break
			}
		}
		s.Close()
	}
}

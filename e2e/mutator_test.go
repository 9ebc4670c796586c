package e2e

import (
	"fmt"
	"math/rand/v2"
	"sort"

	"github.com/onedrive-agent/onedrive-agent/connector/graphtest"
)

// Mutator is a user at work on the fake drive: graphtest's RandomChange
// (creates, edits, metadata touches, renames, moves, deletes of files and
// folders) mixed with what it does not do: a move and rename in one change,
// an item created and deleted between two polls, a rename and its undo, the
// deletion of a folder with a large subtree.
type Mutator struct {
	g   *graphtest.Server
	rng *rand.Rand
	n   int
	// Changes counts the changes made.
	Changes int
}

// NewMutator returns a mutator drawing from seed.
func NewMutator(g *graphtest.Server, seed uint64) *Mutator {
	return &Mutator{g: g, rng: rand.New(rand.NewPCG(seed, 0x5eed))}
}

// Batch makes k changes. snap is a recent snapshot of the drive to pick
// items from; it may be stale (a pick that is no longer possible is skipped).
func (m *Mutator) Batch(k int, snap map[string]graphtest.Entry) {
	files, folders := Split(snap)
	for i := 0; i < k; i++ {
		m.Step(files, folders)
	}
}

// Split sorts a snapshot's items into files and folders, by id (map order
// is random: sorted, a seed gives the same run).
func Split(snap map[string]graphtest.Entry) (files, folders []graphtest.Entry) {
	for _, e := range snap {
		if e.Folder {
			folders = append(folders, e)
		} else {
			files = append(files, e)
		}
	}
	sort.Slice(files, func(i, j int) bool { return files[i].ID < files[j].ID })
	sort.Slice(folders, func(i, j int) bool { return folders[i].ID < folders[j].ID })
	return files, folders
}

// Step makes one change.
func (m *Mutator) Step(files, folders []graphtest.Entry) {
	m.Changes++
	m.n++
	if len(folders) == 0 || m.rng.IntN(100) < 85 {
		m.g.RandomChange(m.rng)
		return
	}
	pick := func(es []graphtest.Entry) graphtest.Entry { return es[m.rng.IntN(len(es))] }
	defer func() {
		// graphtest panics on impossible requests (a stale pick: deleted
		// item, name taken, folder into itself); nothing changed then.
		if recover() != nil {
			m.Changes--
		}
	}()
	switch op := m.rng.IntN(5); {
	case op == 0 && len(files)+len(folders) > 1:
		it := pick(append(files[:len(files):len(files)], folders...))
		if !it.Root {
			m.g.MoveRename(it.ID, pick(folders).ID, fmt.Sprintf("mr-%d-%s", m.n, it.Name))
		}
	case op == 1:
		id := m.g.CreateFile(pick(folders).ID, fmt.Sprintf("ephemeral-%d.tmp", m.n), []byte("gone soon"))
		m.g.Delete(id)
		m.Changes++
	case op == 2 && len(files) > 0:
		f := pick(files)
		m.g.Rename(f.ID, fmt.Sprintf("undo-%d", m.n))
		m.g.Rename(f.ID, f.Name)
		m.Changes++
	case op == 3:
		d := pick(folders)
		if !d.Root {
			m.g.Rename(d.ID, fmt.Sprintf("renamed-dir-%d", m.n))
		}
	default:
		d := pick(folders)
		if !d.Root && m.rng.IntN(4) == 0 {
			m.g.Delete(d.ID) // whatever its size
		} else {
			m.g.Touch(d.ID)
		}
	}
}

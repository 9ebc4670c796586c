package delta

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/onedrive-agent/onedrive-agent/connector"
	"github.com/onedrive-agent/onedrive-agent/store"
)

var (
	t0   = time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	t1   = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	seen = time.Date(2026, 11, 26, 10, 20, 0, 0, time.UTC)
)

// gi builds a delta item. opts: "dir", "root", "del", "etag=X", "ctag=X",
// "size=N", "hash=X", "noname".
func gi(id, parent, name string, opts ...string) connector.Item {
	it := connector.Item{ID: id, ParentID: parent, Name: name, ETag: "1", Size: 10, Hash: "h-" + id, File: true, Modified: t0, DriveID: "drv"}
	for _, o := range opts {
		k, v, _ := strings.Cut(o, "=")
		switch k {
		case "dir":
			it.Folder, it.File, it.Hash, it.Size = true, false, "", 0
		case "root":
			it.Root, it.Folder, it.File, it.Hash, it.Size, it.ParentID = true, true, false, "", 0, ""
		case "del":
			it.Deleted = true
		case "etag":
			it.ETag, it.Modified = v, t1
		case "ctag":
			it.CTag = v
		case "size":
			fmt.Sscan(v, &it.Size)
		case "hash":
			it.Hash = v
		case "noname":
			it.Name = ""
		default:
			panic("gi: unknown option " + o)
		}
	}
	raw := map[string]any{"id": it.ID, "eTag": it.ETag}
	if it.Name != "" {
		raw["name"] = it.Name
	}
	if it.Deleted {
		raw["deleted"] = map[string]string{"state": "deleted"}
	}
	it.Raw, _ = json.Marshal(raw)
	return it
}

// del is a deleted item as OneDrive for Business sends it (no name).
func del(id string, opts ...string) connector.Item {
	return gi(id, "", "", append([]string{"del", "etag=9"}, opts...)...)
}

// baseTree is the index most tests start from:
//
//	/A/a.txt  /A/B/b.txt  /C/c.txt  /Out/o.txt  /Out/D/d.txt
func baseTree() []connector.Item {
	return []connector.Item{
		gi("R", "", "root", "root"),
		gi("A", "R", "A", "dir"),
		gi("a1", "A", "a.txt"),
		gi("B", "A", "B", "dir"),
		gi("b1", "B", "b.txt"),
		gi("C", "R", "C", "dir"),
		gi("c1", "C", "c.txt"),
		gi("O", "R", "Out", "dir"),
		gi("o1", "O", "o.txt"),
		gi("D", "O", "D", "dir"),
		gi("d1", "D", "d.txt"),
	}
}

func indexItem(it connector.Item) store.Item {
	s := stagedFromGraph(&it, false)
	return s.item()
}

// seedDB returns a fake DB holding tree as index and cursor as cursor.
func seedDB(t testing.TB, tree []connector.Item, cursor string) *fakeDB {
	t.Helper()
	db := newFakeDB()
	err := db.Update(func(tx Tx) error {
		for _, it := range tree {
			if err := tx.PutItem(indexItem(it)); err != nil {
				return err
			}
		}
		return tx.SetCursor(cursor)
	})
	if err != nil {
		t.Fatal(err)
	}
	db.updates = 0
	return db
}

// feed serves rounds of pages: round i starts at link "delta-i" and its
// last page carries "delta-(i+1)". A page link is "delta-i/p-j".
type feed struct {
	rounds   [][][]connector.Item
	requests []string
	// fail, when it returns an error for a link, makes the fetch fail.
	fail func(link string) error
}

func (f *feed) fetch(ctx context.Context, link string) (connector.Page, error) {
	f.requests = append(f.requests, link)
	if f.fail != nil {
		if err := f.fail(link); err != nil {
			return connector.Page{}, err
		}
	}
	var r, p int
	if _, err := fmt.Sscanf(link, "delta-%d/p-%d", &r, &p); err != nil {
		if _, err := fmt.Sscanf(link, "delta-%d", &r); err != nil {
			return connector.Page{}, fmt.Errorf("feed: unknown link %q", link)
		}
	}
	if r >= len(f.rounds) {
		return connector.Page{DeltaLink: link}, nil // nothing new
	}
	pages := f.rounds[r]
	if len(pages) == 0 {
		return connector.Page{DeltaLink: fmt.Sprintf("delta-%d", r+1)}, nil
	}
	pg := connector.Page{Items: slices.Clone(pages[p])}
	if p+1 < len(pages) {
		pg.NextLink = fmt.Sprintf("delta-%d/p-%d", r, p+1)
	} else {
		pg.DeltaLink = fmt.Sprintf("delta-%d", r+1)
	}
	return pg, nil
}

// paginate splits items into pages of n.
func paginate(items []connector.Item, n int) [][]connector.Item {
	var pages [][]connector.Item
	for len(items) > n {
		pages = append(pages, items[:n])
		items = items[n:]
	}
	return append(pages, items)
}

// variant reshapes the items of a round the way Graph may: reversed
// (children first), shuffled, with duplicates and empty pages.
type variant struct {
	name    string
	reorder func([]connector.Item) []connector.Item
	dups    bool
	perPage int
	empty   bool
	limits  Limits
}

var variants = []variant{
	{name: "as-is", perPage: 1000},
	{name: "child-first", reorder: reverse, perPage: 3},
	{name: "shuffled", reorder: shuffle(7), perPage: 2, empty: true},
	{name: "duplicates", dups: true, perPage: 2, empty: true},
	{name: "tiny-chunks", reorder: shuffle(3), dups: true, perPage: 1, empty: true,
		limits: Limits{BufferItems: 2, ChunkUnits: 1, EmitBatch: 1}},
}

func reverse(items []connector.Item) []connector.Item {
	out := slices.Clone(items)
	slices.Reverse(out)
	return out
}

func shuffle(seed uint64) func([]connector.Item) []connector.Item {
	return func(items []connector.Item) []connector.Item {
		out := slices.Clone(items)
		rand.New(rand.NewPCG(seed, seed)).Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
		return out
	}
}

func (v variant) shape(items []connector.Item, ordered bool) [][]connector.Item {
	if v.reorder != nil && !ordered {
		items = v.reorder(items)
	}
	if v.dups {
		// An earlier copy of every item, in a stale state: the last
		// occurrence must win.
		var out []connector.Item
		for _, it := range items {
			stale := it
			stale.Name = "stale-" + it.Name
			stale.ETag = "stale"
			stale.Deleted = !it.Deleted && !it.Root
			out = append(out, stale)
		}
		items = append(out, items...)
	}
	pages := paginate(items, v.perPage)
	if v.empty {
		var out [][]connector.Item
		for i, p := range pages {
			if i%2 == 0 {
				out = append(out, nil)
			}
			out = append(out, p)
		}
		pages = out
	}
	return pages
}

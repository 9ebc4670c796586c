package delta

import (
	"context"
	"path"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/onedrive-agent/onedrive-agent/connector"
)

// notUnder is a scope that excludes everything under the given folder.
func notUnder(prefix string) func(string) bool {
	return func(p string) bool { return p != prefix && !strings.HasPrefix(p, prefix+"/") }
}

// pdfOnly emulates include ["*.pdf"], exclude ["**/~$*"].
func pdfOnly(p string) bool {
	name := path.Base(p)
	return strings.HasSuffix(name, ".pdf") && !strings.HasPrefix(name, "~$")
}

type eventRow struct {
	name    string
	tree    []connector.Item // index before the round; nil = baseTree
	items   []connector.Item // the round
	ordered bool             // the order of items matters (same id twice)
	scope   func(string) bool
	want    []string
}

// eventRows has a row for every rule of docs/receiver.md, "What becomes an event".
var eventRows = []eventRow{
	{
		name:  "create file",
		items: []connector.Item{gi("R", "", "root", "root"), gi("A", "R", "A", "dir"), gi("n1", "A", "n.txt", "etag=2")},
		want:  []string{"CREATED n1 /A/n.txt"},
	},
	{
		name: "create folder with children",
		items: []connector.Item{
			gi("N", "A", "N", "dir", "etag=2"), gi("n1", "N", "n1.txt", "etag=2"), gi("n2", "N", "n2.txt", "etag=2"),
			gi("M", "N", "M", "dir", "etag=2"), gi("m1", "M", "m.txt", "etag=2"),
		},
		want: []string{"CREATED N /A/N", "CREATED M /A/N/M", "CREATED n1 /A/N/n1.txt", "CREATED n2 /A/N/n2.txt", "CREATED m1 /A/N/M/m.txt"},
	},
	{
		name: "child-first arrival",
		items: []connector.Item{
			gi("m1", "M", "m.txt", "etag=2"), gi("M", "N", "M", "dir", "etag=2"), gi("N", "A", "N", "dir", "etag=2"),
		},
		ordered: true,
		want:    []string{"CREATED N /A/N", "CREATED M /A/N/M", "CREATED m1 /A/N/M/m.txt"},
	},
	{
		name: "duplicates: last occurrence wins",
		items: []connector.Item{
			gi("n1", "A", "first.txt", "etag=2"), gi("a1", "A", "a.txt", "etag=2", "size=5"),
			gi("n1", "A", "second.txt", "etag=3"), gi("a1", "A", "a.txt", "etag=3", "size=10"),
		},
		ordered: true,
		want:    []string{"UPDATED a1 /A/a.txt [metadata]", "CREATED n1 /A/second.txt"},
	},
	{
		name:  "modify content",
		items: []connector.Item{gi("a1", "A", "a.txt", "etag=2", "size=20", "hash=h2")},
		want:  []string{"UPDATED a1 /A/a.txt [content]"},
	},
	{
		name:  "modify content, same size, new hash",
		items: []connector.Item{gi("a1", "A", "a.txt", "etag=2", "hash=h2")},
		want:  []string{"UPDATED a1 /A/a.txt [content]"},
	},
	{
		name:  "rename",
		items: []connector.Item{gi("a1", "A", "a2.txt", "etag=2")},
		want:  []string{"UPDATED a1 /A/a2.txt <- /A/a.txt [name]"},
	},
	{
		name:  "move",
		items: []connector.Item{gi("a1", "C", "a.txt", "etag=2")},
		want:  []string{"UPDATED a1 /C/a.txt <- /A/a.txt [parent]"},
	},
	{
		name:  "move and rename with new content",
		items: []connector.Item{gi("a1", "C", "z.txt", "etag=2", "size=11")},
		want:  []string{"UPDATED a1 /C/z.txt <- /A/a.txt [parent,name,content]"},
	},
	{
		name:  "metadata only",
		items: []connector.Item{gi("a1", "A", "a.txt", "etag=2")},
		want:  []string{"UPDATED a1 /A/a.txt [metadata]"},
	},
	{
		name:  "folder rename: only the folder",
		items: []connector.Item{gi("R", "", "root", "root"), gi("A", "R", "A", "dir"), gi("B", "A", "B2", "dir", "etag=2")},
		want:  []string{"UPDATED B /A/B2 <- /A/B [name]"},
	},
	{
		name:  "folder move: only the folder",
		items: []connector.Item{gi("B", "C", "B", "dir", "etag=2")},
		want:  []string{"UPDATED B /C/B <- /A/B [parent]"},
	},
	{
		name: "folder renamed and a child changed in the same round",
		items: []connector.Item{
			gi("B", "A", "B2", "dir", "etag=2"), gi("b1", "B", "b.txt", "etag=2", "size=3"),
		},
		want: []string{"UPDATED B /A/B2 <- /A/B [name]", "UPDATED b1 /A/B2/b.txt [content]"},
	},
	{
		name: "folder with changed child: no folder event",
		items: []connector.Item{
			gi("R", "", "root", "root", "etag=2"), gi("A", "R", "A", "dir", "etag=2"), gi("B", "A", "B", "dir", "etag=2"),
			gi("b1", "B", "b.txt", "etag=2", "size=3"),
		},
		want: []string{"UPDATED b1 /A/B/b.txt [content]"},
	},
	{
		name:  "delete file",
		items: []connector.Item{del("a1")},
		want:  []string{"DELETED a1 /A/a.txt"},
	},
	{
		name:  "delete folder: cascade without descendants sent",
		items: []connector.Item{del("A")},
		want:  []string{"DELETED b1 /A/B/b.txt", "DELETED B /A/B", "DELETED a1 /A/a.txt", "DELETED A /A"},
	},
	{
		name:  "delete folder: descendants sent too",
		items: []connector.Item{del("b1"), del("A"), del("B"), del("a1")},
		want:  []string{"DELETED b1 /A/B/b.txt", "DELETED B /A/B", "DELETED a1 /A/a.txt", "DELETED A /A"},
	},
	{
		name:  "delete folder: some descendants sent",
		items: []connector.Item{del("B"), del("A")},
		want:  []string{"DELETED b1 /A/B/b.txt", "DELETED B /A/B", "DELETED a1 /A/a.txt", "DELETED A /A"},
	},
	{
		name:  "delete folder after moving a child out",
		items: []connector.Item{del("A"), gi("a1", "C", "a.txt", "etag=2")},
		want: []string{"DELETED b1 /A/B/b.txt", "DELETED B /A/B", "DELETED A /A",
			"UPDATED a1 /C/a.txt <- /A/a.txt [parent]"},
	},
	{
		name:  "move into a folder deleted in the same round",
		items: []connector.Item{gi("c1", "B", "c.txt", "etag=2"), del("A")},
		want: []string{"DELETED b1 /A/B/b.txt", "DELETED B /A/B", "DELETED a1 /A/a.txt", "DELETED c1 /C/c.txt",
			"DELETED A /A"},
	},
	{
		name:  "create and delete between polls: nothing",
		items: []connector.Item{del("zz"), gi("R", "", "root", "root")},
		want:  nil,
	},
	{
		name:    "create then delete in the same round: nothing",
		items:   []connector.Item{gi("n1", "A", "n.txt", "etag=2"), del("n1")},
		ordered: true,
		want:    nil,
	},
	{
		name:    "created folder with a child, both deleted in the same round",
		items:   []connector.Item{gi("N", "A", "N", "dir", "etag=2"), gi("n1", "N", "n.txt", "etag=2"), del("N")},
		ordered: true,
		want:    nil,
	},
	{
		name:  "move into scope: the folder brings its descendants",
		items: []connector.Item{gi("D", "A", "D", "dir", "etag=2")},
		scope: notUnder("/Out"),
		want:  []string{"CREATED D /A/D", "CREATED d1 /A/D/d.txt"},
	},
	{
		name:  "move out of scope: DELETED for the folder and its descendants",
		items: []connector.Item{gi("B", "O", "B", "dir", "etag=2")},
		scope: notUnder("/Out"),
		want:  []string{"DELETED b1 /A/B/b.txt", "DELETED B /A/B"},
	},
	{
		name:  "file moved out of scope",
		items: []connector.Item{gi("a1", "O", "a.txt", "etag=2")},
		scope: notUnder("/Out"),
		want:  []string{"DELETED a1 /A/a.txt"},
	},
	{
		name:  "file moved into scope",
		items: []connector.Item{gi("o1", "A", "o.txt", "etag=2")},
		scope: notUnder("/Out"),
		want:  []string{"CREATED o1 /A/o.txt"},
	},
	{
		name:  "changes out of scope: nothing",
		items: []connector.Item{gi("o1", "O", "o2.txt", "etag=2"), del("d1"), gi("n1", "D", "n.txt", "etag=2")},
		scope: notUnder("/Out"),
		want:  nil,
	},
	{
		name: "include and exclude globs",
		items: []connector.Item{
			gi("p1", "A", "x.pdf", "etag=2"), gi("p2", "A", "~$x.pdf", "etag=2"), gi("p3", "B", "y.txt", "etag=2"),
			gi("a1", "A", "a.pdf", "etag=2"),
		},
		scope: pdfOnly,
		want:  []string{"CREATED a1 /A/a.pdf", "CREATED p1 /A/x.pdf"},
	},
	{
		name:  "rename out of an include glob",
		tree:  append(baseTree(), gi("p1", "A", "x.pdf")),
		items: []connector.Item{gi("p1", "A", "x.txt", "etag=2")},
		scope: pdfOnly,
		want:  []string{"DELETED p1 /A/x.pdf"},
	},
	{
		name:  "folder rename changes the scope of descendants only",
		tree:  append(baseTree(), gi("p1", "B", "x.pdf")),
		items: []connector.Item{gi("B", "A", "tmp", "dir", "etag=2")},
		scope: func(p string) bool { return pdfOnly(p) && !strings.Contains(p, "/tmp/") },
		want:  []string{"DELETED p1 /A/B/x.pdf"},
	},
	{
		name:    "repeated item",
		items:   []connector.Item{gi("a1", "A", "a.txt", "etag=2"), gi("a1", "A", "a.txt", "etag=2"), gi("a1", "A", "a.txt", "etag=2")},
		ordered: true,
		want:    []string{"UPDATED a1 /A/a.txt [metadata]"},
	},
	{
		name:  "unchanged eTag: nothing",
		items: []connector.Item{gi("a1", "A", "a.txt"), gi("B", "A", "B", "dir"), gi("c1", "C", "c.txt")},
		want:  nil,
	},
	{
		name:  "ancestor noise: nothing",
		items: []connector.Item{gi("R", "", "root", "root"), gi("A", "R", "A", "dir"), gi("B", "A", "B", "dir")},
		want:  nil,
	},
	{
		name:  "folder eTag change without rename: nothing",
		items: []connector.Item{gi("A", "R", "A", "dir", "etag=2"), gi("C", "R", "C", "dir", "etag=2", "ctag=x")},
		want:  nil,
	},
	{
		name:    "root never reported",
		items:   []connector.Item{gi("R", "", "root", "root", "etag=2"), del("R")},
		ordered: true,
		want:    nil,
	},
	{
		name: "order of events in a round",
		items: []connector.Item{
			gi("n1", "R", "top.txt", "etag=2"), // CREATED depth 1
			gi("c1", "C", "c2.txt", "etag=2"),  // UPDATED depth 2
			gi("N", "C", "N", "dir", "etag=2"), // CREATED depth 2
			gi("n2", "N", "n.txt", "etag=2"),   // CREATED depth 3
			del("b1"),                          // DELETED depth 3
			del("a1"),                          // DELETED depth 2
			gi("d1", "R", "d.txt", "etag=2"),   // UPDATED depth 1
			gi("B", "R", "B", "dir", "etag=2"), // UPDATED depth 1 (moved up)
		},
		want: []string{
			"DELETED b1 /A/B/b.txt", "DELETED a1 /A/a.txt",
			"UPDATED B /B <- /A/B [parent]", "UPDATED d1 /d.txt <- /Out/D/d.txt [parent]", "CREATED n1 /top.txt",
			"UPDATED c1 /C/c2.txt <- /C/c.txt [name]", "CREATED N /C/N",
			"CREATED n2 /C/N/n.txt",
		},
	},
}

// runRound runs one incremental round of items on tree in the fake store.
func runRound(t *testing.T, tree []connector.Item, pages [][]connector.Item, scope func(string) bool, lim Limits) ([]Event, *fakeDB) {
	t.Helper()
	db := seedDB(t, tree, "delta-0")
	f := &feed{rounds: [][][]connector.Item{pages}}
	checked := func(p string) bool {
		if !strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") {
			t.Errorf("InScope called with %q", p)
		}
		return scope == nil || scope(p)
	}
	r := &Round{Fetch: f.fetch, Emit: fakeEmit, InScope: checked, Now: func() time.Time { return seen }, Limits: lim}
	res, err := r.Run(context.Background(), db, "fresh")
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !res.Done || res.Paused {
		t.Fatalf("Run result %+v: want done", res)
	}
	if db.s.cursor != "delta-1" {
		t.Fatalf("cursor %q, want delta-1", db.s.cursor)
	}
	if db.s.round != nil || len(db.s.staged) != 0 || len(db.s.pending) != 0 {
		t.Fatalf("round left behind: state %v, %d staged, %d pending", db.s.round != nil, len(db.s.staged), len(db.s.pending))
	}
	if res.Events != len(db.s.emitted) {
		t.Errorf("Result.Events = %d, emitted %d", res.Events, len(db.s.emitted))
	}
	return db.s.emitted, db
}

func TestRound_Events(t *testing.T) {
	for _, row := range eventRows {
		for _, v := range variants {
			t.Run(row.name+"/"+v.name, func(t *testing.T) {
				tree := row.tree
				if tree == nil {
					tree = baseTree()
				}
				events, db := runRound(t, tree, v.shape(slices.Clone(row.items), row.ordered), row.scope, v.limits)
				got := describeAll(events)
				if !slices.Equal(got, row.want) {
					t.Errorf("events:\n got %q\nwant %q", got, row.want)
				}
				checkIndexTree(t, db)
			})
		}
	}
}

// checkIndexTree asserts that every indexed item hangs under the root.
func checkIndexTree(t *testing.T, db *fakeDB) {
	t.Helper()
	for id, it := range db.s.items {
		if it.Root {
			continue
		}
		if _, ok := db.s.items[it.ParentID]; !ok {
			t.Errorf("index: item %q has no parent %q", id, it.ParentID)
		}
	}
}

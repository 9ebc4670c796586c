package delta_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/onedrive-agent/onedrive-agent/agent/delta"
	"github.com/onedrive-agent/onedrive-agent/connector"
	"github.com/onedrive-agent/onedrive-agent/connector/graphtest"
	"github.com/onedrive-agent/onedrive-agent/store"
)

// Integration: pages come over HTTP from the fake Graph server, the round
// runs against the real store.

var _ delta.Tx = (*store.Tx)(nil)

const instance = "test"

// httpFetch is a minimal fetcher: GET, decode, 410 → *connector.ResyncError.
func httpFetch(client *http.Client) delta.FetchFunc {
	return func(ctx context.Context, link string) (connector.Page, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, link, nil)
		if err != nil {
			return connector.Page{}, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return connector.Page{}, err
		}
		defer resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusOK:
			return connector.DecodePage(resp.Body)
		case http.StatusGone:
			return connector.Page{}, &connector.ResyncError{Status: resp.StatusCode, Location: resp.Header.Get("Location")}
		default:
			return connector.Page{}, fmt.Errorf("GET delta: HTTP %d", resp.StatusCode)
		}
	}
}

// queueEmit records events as queued messages, one message per slice.
func queueEmit(tx delta.Tx, events []delta.Event) error {
	stx := tx.(*store.Tx)
	seq, err := stx.NextSeq()
	if err != nil {
		return err
	}
	body, err := json.Marshal(events)
	if err != nil {
		return err
	}
	return stx.Enqueue(store.Message{ID: fmt.Sprint(seq), Events: len(events), Body: body})
}

// drain takes every queued event out of the store, in order.
func drain(t *testing.T, db *store.DB) []delta.Event {
	t.Helper()
	var out []delta.Event
	for {
		msgs, err := db.Peek(instance, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) == 0 {
			return out
		}
		var keys []uint64
		for _, m := range msgs {
			var evs []delta.Event
			if err := json.Unmarshal(m.Body, &evs); err != nil {
				t.Fatal(err)
			}
			out = append(out, evs...)
			keys = append(keys, m.Key)
		}
		if err := db.Ack(instance, keys...); err != nil {
			t.Fatal(err)
		}
	}
}

type env struct {
	s     *graphtest.Server
	db    *store.DB
	ddb   delta.DB
	round *delta.Round
	ids   map[string]string // label → item id
}

// openStore opens a store (without syncs) in a temporary folder with the test instance in it,
// closed when the test ends.
func openStore(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "agent.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.EnsureInstance(instance); err != nil {
		t.Fatal(err)
	}
	return db
}

func newEnv(t *testing.T, opts graphtest.Options, initial delta.InitialMode, scope func(string) bool) *env {
	t.Helper()
	opts.AllowAnonymous = true
	s := graphtest.NewServer(opts)
	t.Cleanup(s.Close)
	db := openStore(t)
	e := &env{s: s, db: db, ddb: delta.StoreDB(db, instance), ids: map[string]string{}}
	e.round = &delta.Round{
		Fetch: httpFetch(s.Client()), Emit: queueEmit, InScope: scope, Initial: initial,
		Limits: delta.Limits{BufferItems: 5, ChunkUnits: 7, EmitBatch: 3},
	}
	// The base tree: /A/a.txt /A/B/b.txt /C/c.txt /Out/o.txt /Out/D/d.txt
	e.ids["root"] = s.Root()
	e.ids["A"] = s.CreateFolder(s.Root(), "A")
	e.ids["a"] = s.CreateFile(e.ids["A"], "a.txt", []byte("a"))
	e.ids["B"] = s.CreateFolder(e.ids["A"], "B")
	e.ids["b"] = s.CreateFile(e.ids["B"], "b.txt", []byte("b"))
	e.ids["C"] = s.CreateFolder(s.Root(), "C")
	e.ids["c"] = s.CreateFile(e.ids["C"], "c.txt", []byte("c"))
	e.ids["O"] = s.CreateFolder(s.Root(), "Out")
	e.ids["o"] = s.CreateFile(e.ids["O"], "o.txt", []byte("o"))
	e.ids["D"] = s.CreateFolder(e.ids["O"], "D")
	e.ids["d"] = s.CreateFile(e.ids["D"], "d.txt", []byte("d"))
	return e
}

// poll runs one round to completion and returns its events.
func (e *env) poll(t *testing.T) []delta.Event {
	t.Helper()
	res, err := e.round.Run(context.Background(), e.ddb, e.s.DeltaURL())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !res.Done {
		t.Fatalf("Run: %+v", res)
	}
	return drain(t, e.db)
}

func (e *env) describe(evs []delta.Event) []string {
	label := map[string]string{}
	for l, id := range e.ids {
		label[id] = l
	}
	out := make([]string, len(evs))
	for i, ev := range evs {
		s := ev.Type + " " + label[ev.ItemID] + " " + ev.Path
		if ev.OldPath != "" {
			s += " <- " + ev.OldPath
		}
		if len(ev.Changes) > 0 {
			s += " [" + strings.Join(ev.Changes, ",") + "]"
		}
		out[i] = s
	}
	return out
}

// checkOrder asserts the order of a round's events: DELETED first, deepest
// first; then by depth, UPDATED before CREATED; ties by item id.
func checkOrder(t *testing.T, evs []delta.Event) {
	t.Helper()
	key := func(ev delta.Event) (int, int, string) {
		d := strings.Count(ev.Path, "/")
		switch ev.Type {
		case delta.Deleted:
			return 0, -d, ev.ItemID
		case delta.Updated:
			return 1, 2 * d, ev.ItemID
		default:
			return 1, 2*d + 1, ev.ItemID
		}
	}
	less := func(a, b delta.Event) bool {
		a1, a2, a3 := key(a)
		b1, b2, b3 := key(b)
		if a1 != b1 {
			return a1 < b1
		}
		if a2 != b2 {
			return a2 < b2
		}
		return a3 < b3
	}
	if !sort.SliceIsSorted(evs, func(i, j int) bool { return less(evs[i], evs[j]) }) {
		t.Errorf("events out of order: %v", evs)
	}
}

func notUnder(prefix string) func(string) bool {
	return func(p string) bool { return p != prefix && !strings.HasPrefix(p, prefix+"/") }
}

func pdfOnly(p string) bool {
	name := path.Base(p)
	return strings.HasSuffix(name, ".pdf") && !strings.HasPrefix(name, "~$")
}

type graphRow struct {
	name   string
	scope  func(string) bool
	change func(e *env)
	want   []string // in any order; the order rule is checked separately
}

var graphRows = []graphRow{
	{name: "create file", change: func(e *env) { e.ids["n"] = e.s.CreateFile(e.ids["A"], "n.txt", []byte("n")) },
		want: []string{"CREATED n /A/n.txt"}},
	{name: "create folder with children", change: func(e *env) {
		e.ids["N"] = e.s.CreateFolder(e.ids["A"], "N")
		e.ids["n1"] = e.s.CreateFile(e.ids["N"], "n1.txt", nil)
		e.ids["M"] = e.s.CreateFolder(e.ids["N"], "M")
		e.ids["m"] = e.s.CreateFile(e.ids["M"], "m.txt", []byte("m"))
	}, want: []string{"CREATED N /A/N", "CREATED n1 /A/N/n1.txt", "CREATED M /A/N/M", "CREATED m /A/N/M/m.txt"}},
	{name: "modify content", change: func(e *env) { e.s.Modify(e.ids["a"], []byte("new")) },
		want: []string{"UPDATED a /A/a.txt [content]"}},
	{name: "modify twice and touch", change: func(e *env) {
		e.s.Modify(e.ids["a"], []byte("new"))
		e.s.Modify(e.ids["a"], []byte("newer"))
		e.s.Touch(e.ids["a"])
	}, want: []string{"UPDATED a /A/a.txt [content]"}},
	{name: "rename", change: func(e *env) { e.s.Rename(e.ids["a"], "a2.txt") },
		want: []string{"UPDATED a /A/a2.txt <- /A/a.txt [name]"}},
	{name: "move", change: func(e *env) { e.s.Move(e.ids["a"], e.ids["C"]) },
		want: []string{"UPDATED a /C/a.txt <- /A/a.txt [parent]"}},
	{name: "move and rename", change: func(e *env) { e.s.MoveRename(e.ids["a"], e.ids["C"], "z.txt") },
		want: []string{"UPDATED a /C/z.txt <- /A/a.txt [parent,name]"}},
	{name: "metadata only", change: func(e *env) { e.s.Touch(e.ids["a"]) },
		want: []string{"UPDATED a /A/a.txt [metadata]"}},
	{name: "folder rename", change: func(e *env) { e.s.Rename(e.ids["B"], "B2") },
		want: []string{"UPDATED B /A/B2 <- /A/B [name]"}},
	{name: "folder move", change: func(e *env) { e.s.Move(e.ids["B"], e.ids["C"]) },
		want: []string{"UPDATED B /C/B <- /A/B [parent]"}},
	{name: "changed child, no folder event", change: func(e *env) { e.s.Modify(e.ids["b"], []byte("bb")) },
		want: []string{"UPDATED b /A/B/b.txt [content]"}},
	{name: "delete file", change: func(e *env) { e.s.Delete(e.ids["a"]) },
		want: []string{"DELETED a /A/a.txt"}},
	{name: "delete folder", change: func(e *env) { e.s.Delete(e.ids["A"]) },
		want: []string{"DELETED b /A/B/b.txt", "DELETED B /A/B", "DELETED a /A/a.txt", "DELETED A /A"}},
	{name: "move a file out, then delete the folder", change: func(e *env) {
		e.s.Move(e.ids["a"], e.ids["C"])
		e.s.Delete(e.ids["A"])
	}, want: []string{"DELETED b /A/B/b.txt", "DELETED B /A/B", "DELETED A /A", "UPDATED a /C/a.txt <- /A/a.txt [parent]"}},
	{name: "create and delete between polls", change: func(e *env) {
		n := e.s.CreateFolder(e.ids["A"], "tmp")
		e.s.CreateFile(n, "x", nil)
		e.s.Delete(n)
	}, want: nil},
	{name: "move into scope", scope: notUnder("/Out"), change: func(e *env) { e.s.Move(e.ids["D"], e.ids["A"]) },
		want: []string{"CREATED D /A/D", "CREATED d /A/D/d.txt"}},
	{name: "move out of scope", scope: notUnder("/Out"), change: func(e *env) { e.s.Move(e.ids["B"], e.ids["O"]) },
		want: []string{"DELETED b /A/B/b.txt", "DELETED B /A/B"}},
	{name: "changes out of scope", scope: notUnder("/Out"), change: func(e *env) {
		e.s.Modify(e.ids["o"], []byte("oo"))
		e.s.Delete(e.ids["D"])
	}, want: nil},
	{name: "include and exclude globs", scope: pdfOnly, change: func(e *env) {
		e.ids["x"] = e.s.CreateFile(e.ids["A"], "x.pdf", nil)
		e.ids["~x"] = e.s.CreateFile(e.ids["A"], "~$x.pdf", nil)
		e.s.Rename(e.ids["a"], "a.pdf")
		e.s.Modify(e.ids["c"], []byte("not a pdf"))
	}, want: []string{"CREATED x /A/x.pdf", "CREATED a /A/a.pdf"}},
	{name: "nothing changed", change: func(e *env) {}, want: nil},
	{name: "order of a busy round", change: func(e *env) {
		e.ids["t"] = e.s.CreateFile(e.s.Root(), "top.txt", nil)
		e.s.Rename(e.ids["c"], "c2.txt")
		e.ids["N"] = e.s.CreateFolder(e.ids["C"], "N")
		e.ids["n"] = e.s.CreateFile(e.ids["N"], "n.txt", nil)
		e.s.Delete(e.ids["b"])
		e.s.Delete(e.ids["a"])
		e.s.Move(e.ids["d"], e.s.Root())
		e.s.Move(e.ids["B"], e.s.Root())
	}, want: []string{"DELETED b /A/B/b.txt", "DELETED a /A/a.txt", "UPDATED B /B <- /A/B [parent]",
		"UPDATED d /d.txt <- /Out/D/d.txt [parent]", "CREATED t /top.txt", "UPDATED c /C/c2.txt <- /C/c.txt [name]",
		"CREATED N /C/N", "CREATED n /C/N/n.txt"}},
}

var orders = []struct {
	name  string
	order graphtest.Order
}{{"parent-first", graphtest.ParentFirst}, {"child-first", graphtest.ChildFirst}, {"shuffled", graphtest.Shuffled}}

func TestRound_Graph(t *testing.T) {
	for _, row := range graphRows {
		for _, o := range orders {
			for _, descendants := range []bool{false, true} {
				name := fmt.Sprintf("%s/%s/descendants=%v", row.name, o.name, descendants)
				t.Run(name, func(t *testing.T) {
					e := newEnv(t, graphtest.Options{
						Order: o.order, Seed: 7, DuplicateEvery: 2, EmptyPageEvery: 2, PageSize: 3,
						DeletedDescendants: descendants,
					}, delta.Baseline, row.scope)
					if evs := e.poll(t); len(evs) != 0 {
						t.Fatalf("baseline reported %d events", len(evs))
					}
					row.change(e)
					evs := e.poll(t)
					got := e.describe(evs)
					if !sameSet(got, row.want) {
						t.Errorf("events:\n got %q\nwant %q", got, row.want)
					}
					checkOrder(t, evs)
					checkMirror(t, e)
					if evs := e.poll(t); len(evs) != 0 {
						t.Errorf("the next round replays %q", e.describe(evs))
					}
				})
			}
		}
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// checkMirror asserts the index equals the server's drive.
func checkMirror(t *testing.T, e *env) {
	t.Helper()
	tree := e.s.Tree()
	err := e.ddb.View(func(tx delta.Tx) error {
		n, err := tx.ItemCount()
		if err != nil {
			return err
		}
		if n != len(tree) {
			t.Errorf("index has %d items, drive %d", n, len(tree))
		}
		return tx.ForEachItem("", func(it store.Item) error {
			want, ok := tree[it.ID]
			if !ok {
				t.Errorf("index has %q (%s), the drive does not", it.ID, it.Name)
				return nil
			}
			if it.ParentID != want.ParentID || it.Name != want.Name || it.ETag != want.ETag {
				t.Errorf("index %q: parent %q name %q etag %q; drive %q %q %q", it.ID, it.ParentID, it.Name, it.ETag, want.ParentID, want.Name, want.ETag)
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestRound_GraphBackfill(t *testing.T) {
	for _, o := range orders {
		t.Run(o.name, func(t *testing.T) {
			e := newEnv(t, graphtest.Options{Order: o.order, DuplicateEvery: 3, EmptyPageEvery: 1, PageSize: 2}, delta.Backfill, nil)
			evs := e.poll(t)
			want := []string{"CREATED A /A", "CREATED C /C", "CREATED O /Out", "CREATED a /A/a.txt", "CREATED B /A/B",
				"CREATED c /C/c.txt", "CREATED o /Out/o.txt", "CREATED D /Out/D", "CREATED b /A/B/b.txt", "CREATED d /Out/D/d.txt"}
			if got := e.describe(evs); !sameSet(got, want) {
				t.Errorf("events %q", got)
			}
			checkOrder(t, evs)
			for _, ev := range evs {
				var raw struct{ ID string }
				if err := json.Unmarshal(ev.Raw, &raw); err != nil || raw.ID != ev.ItemID {
					t.Errorf("raw of %s: %s", ev.ItemID, ev.Raw)
				}
			}
		})
	}
}

func TestRound_GraphResync(t *testing.T) {
	for _, midRound := range []bool{false, true} {
		t.Run(fmt.Sprintf("midRound=%v", midRound), func(t *testing.T) {
			e := newEnv(t, graphtest.Options{PageSize: 2, Order: graphtest.Shuffled, DuplicateEvery: 2}, delta.Baseline, nil)
			e.poll(t)
			e.s.Delete(e.ids["B"])
			e.s.Modify(e.ids["c"], []byte("cc"))
			e.ids["n"] = e.s.CreateFile(e.ids["O"], "n.txt", nil)
			for i := range 6 {
				e.s.CreateFile(e.ids["C"], fmt.Sprintf("f%d", i), nil) // more pages
				e.s.Delete(e.s.CreateFile(e.ids["C"], fmt.Sprintf("g%d", i), nil))
			}
			if midRound {
				e.s.InjectFault(graphtest.ClassGraph, 1, graphtest.Fault{Status: http.StatusGone, NextLinkOnly: true})
			} else {
				e.s.ExpireTokens()
			}
			res, err := e.round.Run(context.Background(), e.ddb, e.s.DeltaURL())
			if err != nil || !res.Done || !res.Resynced {
				t.Fatalf("%+v %v", res, err)
			}
			got := e.describe(drain(t, e.db))
			want := []string{"DELETED b /A/B/b.txt", "DELETED B /A/B", "UPDATED c /C/c.txt [content]", "CREATED n /Out/n.txt"}
			for i := range 6 {
				want = append(want, fmt.Sprintf("CREATED  /C/f%d", i))
			}
			if !sameSet(got, want) {
				t.Errorf("events:\n got %q\nwant %q", got, want)
			}
			checkMirror(t, e)
		})
	}
}

func TestRound_GraphLinkLoop(t *testing.T) {
	e := newEnv(t, graphtest.Options{PageSize: 2}, delta.Baseline, nil)
	e.poll(t)
	var cursor string
	e.ddb.View(func(tx delta.Tx) error { cursor, _ = tx.Cursor(); return nil })
	for i := range 5 {
		e.s.CreateFile(e.ids["C"], fmt.Sprintf("f%d", i), nil)
	}
	e.s.InjectFault(graphtest.ClassGraph, 3, graphtest.Fault{Loop: true, NextLinkOnly: true})
	_, err := e.round.Run(context.Background(), e.ddb, e.s.DeltaURL())
	if !errors.Is(err, delta.ErrLinkLoop) {
		t.Fatalf("err %v, want ErrLinkLoop", err)
	}
	var after string
	e.ddb.View(func(tx delta.Tx) error { after, _ = tx.Cursor(); return nil })
	if after != cursor || len(drain(t, e.db)) != 0 {
		t.Fatalf("cursor moved or events emitted after a loop")
	}
	e.s.ClearFaults()
	if got := e.poll(t); len(got) != 5 {
		t.Errorf("after the loop cleared: %d events, want 5", len(got))
	}
}

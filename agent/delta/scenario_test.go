package delta

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/onedrive-agent/onedrive-agent/connector"
	"github.com/onedrive-agent/onedrive-agent/store"
)

// linkFeed serves pages by link. chain registers a sequence of pages.
type linkFeed struct {
	pages    map[string]connector.Page
	fail     map[string]error
	requests int
}

func newLinkFeed() *linkFeed {
	return &linkFeed{pages: map[string]connector.Page{}, fail: map[string]error{}}
}

// chain registers items as pages of n starting at link start; the last page
// carries deltaLink end.
func (f *linkFeed) chain(start, end string, items []connector.Item, n int) {
	pages := paginate(items, n)
	link := start
	for i, p := range pages {
		pg := connector.Page{Items: p}
		if i+1 < len(pages) {
			pg.NextLink = fmt.Sprintf("%s/p-%d", start, i+1)
		} else {
			pg.DeltaLink = end
		}
		f.pages[link] = pg
		link = pg.NextLink
	}
}

func (f *linkFeed) fetch(ctx context.Context, link string) (connector.Page, error) {
	f.requests++
	if err := f.fail[link]; err != nil {
		return connector.Page{}, err
	}
	pg, ok := f.pages[link]
	if !ok {
		return connector.Page{}, fmt.Errorf("linkFeed: unknown link %q", link)
	}
	pg.Items = slices.Clone(pg.Items)
	return pg, nil
}

// scenarioTree is a drive of 10 folders F0..F9, each with 3 subfolders of 5
// files: 191 items with the root.
func scenarioTree() []connector.Item {
	items := []connector.Item{gi("R", "", "root", "root")}
	for i := range 10 {
		f := fmt.Sprintf("F%d", i)
		items = append(items, gi(f, "R", f, "dir"))
		for j := range 3 {
			s := fmt.Sprintf("%s-S%d", f, j)
			items = append(items, gi(s, f, fmt.Sprintf("S%d", j), "dir"))
			for k := range 5 {
				items = append(items, gi(fmt.Sprintf("%s-%d", s, k), s, fmt.Sprintf("file%d.txt", k)))
			}
		}
	}
	return items
}

// scenarioChanges is a busy incremental round over scenarioTree.
func scenarioChanges() []connector.Item {
	items := []connector.Item{
		gi("R", "", "root", "root"), // ancestor noise
		del("F0"),                   // cascade of 18 items
		gi("F1", "R", "F1x", "dir", "etag=2"),
		gi("F9-S0", "F2", "S0", "dir", "etag=2"), // into scope: brings 5 files
		gi("F3-S0", "F9", "S9", "dir", "etag=2"), // out of scope: 6 DELETED
		gi("F4", "R", "F4", "dir"), gi("F4-S1", "F4", "S1", "dir"),
		del("F5-S0-0"), del("F5-S0-1"), del("F5-S0-2"), del("F5-S0-3"), del("F5-S0-4"),
		gi("F1-S1-0", "F1-S2", "moved.txt", "etag=2"),
	}
	for k := range 10 {
		items = append(items, gi(fmt.Sprintf("F8-S%d-%d", k%3, k%5), fmt.Sprintf("F8-S%d", k%3), fmt.Sprintf("file%d.txt", k%5), "etag=2", "size=99"))
	}
	for k := range 20 {
		items = append(items, gi(fmt.Sprintf("new-%02d", k), "F4-S1", fmt.Sprintf("new%02d.txt", k), "etag=2"))
	}
	return items
}

func fromIndex(it store.Item) connector.Item {
	return connector.Item{
		ID: it.ID, ParentID: it.ParentID, Name: it.Name, ETag: it.ETag, CTag: it.CTag, Size: it.Size,
		Hash: it.Hash, Folder: it.Folder, File: !it.Folder && !it.Root, Root: it.Root, Modified: it.Modified,
		Raw: []byte(fmt.Sprintf(`{"id":%q}`, it.ID)),
	}
}

// scenario is a feed of three rounds: a backfill of scenarioTree, a busy
// incremental round, and a round broken by a 410 after three pages, followed
// by a full enumeration that differs from the index in a few items.
func scenario(t *testing.T) *linkFeed {
	t.Helper()
	f := newLinkFeed()
	f.chain("fresh", "delta-1", scenarioTree(), 17)
	f.chain("delta-1", "delta-2", scenarioChanges(), 9)
	// Round 3: changes that the 410 throws away.
	f.chain("delta-2", "delta-3", []connector.Item{
		gi("F7-S1-0", "F7-S1", "lost.txt", "etag=5"), gi("x1", "F7", "x1", "etag=5"), gi("x2", "F7", "x2", "etag=5"),
		gi("x3", "F7", "x3", "etag=5"), gi("x4", "F7", "x4", "etag=5"), gi("x5", "F7", "x5", "etag=5"),
		gi("x6", "F7", "x6", "etag=5"), gi("x7", "F7", "x7", "etag=5"),
	}, 2)
	f.fail["delta-2/p-3"] = &connector.ResyncError{Status: 410, Location: "resync"}
	// The full enumeration: the drive after round 2, minus F6, with one
	// changed file and one new file.
	db := seedDB(t, scenarioTree(), "delta-1")
	r := &Round{Fetch: f.fetch, Emit: fakeEmit}
	if _, err := r.Run(context.Background(), db, "fresh"); err != nil {
		t.Fatal(err)
	}
	var full []connector.Item
	for _, id := range slices.Sorted(maps.Keys(db.s.items)) {
		it := db.s.items[id]
		if id == "F6" || strings.HasPrefix(id, "F6-") {
			continue
		}
		g := fromIndex(it)
		if id == "F7-S0-0" {
			g.ETag, g.Size = "7", 1234
		}
		full = append(full, g)
	}
	full = append(full, gi("F8-new", "F8", "fresh.txt", "etag=7"))
	f.chain("resync", "delta-R", reverse(full), 23)
	f.requests = 0
	return f
}

// drive runs rounds until n rounds are committed, restarting after crashes
// and draining the queue when a round pauses. It returns the events recorded
// in the store, per round.
func drive(t *testing.T, db *fakeDB, r *Round, n int) [][]Event {
	t.Helper()
	var rounds [][]Event
	for guard := 0; len(rounds) < n; guard++ {
		if guard > 10000 {
			t.Fatal("rounds do not finish")
		}
		res, err := r.Run(context.Background(), db, "fresh")
		if errors.Is(err, errCrash) {
			db.restart()
			continue
		}
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		if res.Paused {
			err := db.Update(func(tx Tx) error { tx.(*fakeTx).s.queued = 0; return nil })
			if errors.Is(err, errCrash) {
				db.restart()
			}
			continue
		}
		if res.Done {
			seenBefore := 0
			for _, r := range rounds {
				seenBefore += len(r)
			}
			rounds = append(rounds, db.s.emitted[seenBefore:])
		}
	}
	return rounds
}

func scenarioRound(f *linkFeed, lim Limits, maxQueue int64) *Round {
	return &Round{
		Fetch: f.fetch, Emit: fakeEmit, Initial: Backfill, MaxQueue: maxQueue,
		InScope: notUnder("/F9"), Now: func() time.Time { return seen }, Limits: lim,
	}
}

// scenarioWant is the expected events of the three scenario rounds.
func scenarioWant() [][]string {
	var r1 []string
	// Backfill: by depth, then id; /F9 is out of scope.
	for depth := 1; depth <= 3; depth++ {
		var ids []string
		paths := map[string]string{}
		for _, it := range scenarioTree() {
			p := scenarioPath(it.ID)
			if it.Root || strings.Count(p, "/") != depth || strings.HasPrefix(p, "/F9") {
				continue
			}
			ids = append(ids, it.ID)
			paths[it.ID] = p
		}
		slices.Sort(ids)
		for _, id := range ids {
			r1 = append(r1, "CREATED "+id+" "+paths[id])
		}
	}
	var r2 []string
	for _, s := range []string{"F0-S0", "F0-S1", "F0-S2", "F3-S0", "F5-S0"} {
		for k := range 5 {
			r2 = append(r2, fmt.Sprintf("DELETED %s-%d %s", s, k, scenarioPath(fmt.Sprintf("%s-%d", s, k))))
		}
	}
	r2 = append(r2, "DELETED F0-S0 /F0/S0", "DELETED F0-S1 /F0/S1", "DELETED F0-S2 /F0/S2", "DELETED F3-S0 /F3/S0",
		"DELETED F0 /F0", "UPDATED F1 /F1x <- /F1 [name]", "CREATED F9-S0 /F2/S0",
		"UPDATED F1-S1-0 /F1x/S2/moved.txt <- /F1x/S1/file0.txt [parent,name]")
	for _, id := range []string{"F8-S0-0", "F8-S0-1", "F8-S0-3", "F8-S0-4", "F8-S1-1", "F8-S1-2", "F8-S1-4", "F8-S2-0", "F8-S2-2", "F8-S2-3"} {
		r2 = append(r2, "UPDATED "+id+" "+scenarioPath(id)+" [content]")
	}
	for k := range 5 {
		r2 = append(r2, fmt.Sprintf("CREATED F9-S0-%d /F2/S0/file%d.txt", k, k))
	}
	for k := range 20 {
		r2 = append(r2, fmt.Sprintf("CREATED new-%02d /F4/S1/new%02d.txt", k, k))
	}
	var r3 []string
	for j := range 3 {
		for k := range 5 {
			r3 = append(r3, fmt.Sprintf("DELETED F6-S%d-%d /F6/S%d/file%d.txt", j, k, j, k))
		}
	}
	r3 = append(r3, "DELETED F6-S0 /F6/S0", "DELETED F6-S1 /F6/S1", "DELETED F6-S2 /F6/S2", "DELETED F6 /F6",
		"CREATED F8-new /F8/fresh.txt", "UPDATED F7-S0-0 /F7/S0/file0.txt [content]")
	return [][]string{r1, r2, r3}
}

// scenarioPath is the path of a scenarioTree id.
func scenarioPath(id string) string {
	parts := strings.Split(id, "-")
	p := "/" + parts[0]
	if len(parts) > 1 {
		p += "/" + parts[1]
	}
	if len(parts) > 2 {
		p += "/file" + parts[2] + ".txt"
	}
	return p
}

func TestRound_ScenarioEvents(t *testing.T) {
	for _, lim := range []Limits{{}, {BufferItems: 20, ChunkUnits: 25, EmitBatch: 7}, {BufferItems: 1, ChunkUnits: 1, EmitBatch: 1}} {
		t.Run(fmt.Sprintf("%+v", lim), func(t *testing.T) {
			f := scenario(t)
			db := newFakeDB()
			rounds := drive(t, db, scenarioRound(f, lim, 0), 3)
			for i, want := range scenarioWant() {
				if got := describeAll(rounds[i]); !slices.Equal(got, want) {
					t.Errorf("round %d:\n got %d %q\nwant %d %q", i+1, len(got), got, len(want), want)
				}
			}
			if db.s.cursor != "delta-R" {
				t.Errorf("cursor %q, want delta-R", db.s.cursor)
			}
			checkIndexTree(t, db)
		})
	}
}

// TestRound_CrashResume makes the store "crash" before the commit of every
// transaction in turn, restarts, and checks the committed events equal the
// crash-free run: nothing lost, nothing twice. The fine-grained limits split
// cascades and walks over many transactions; they are tried at every 29th
// transaction unless DELTA_CRASH_ALL is set (about 30 s).
func TestRound_CrashResume(t *testing.T) {
	f := scenario(t)
	for _, c := range []struct {
		lim  Limits
		step int
	}{
		{Limits{BufferItems: 20, ChunkUnits: 25, EmitBatch: 7}, 1},
		{Limits{BufferItems: 7, ChunkUnits: 3, EmitBatch: 2}, 29},
	} {
		t.Run(fmt.Sprintf("%+v", c.lim), func(t *testing.T) {
			ref := newFakeDB()
			want := flat(drive(t, ref, scenarioRound(f, c.lim, 40), 3))
			total := ref.updates
			if total < 30 {
				t.Fatalf("only %d transactions: the limits do not split the rounds", total)
			}
			step := c.step
			if os.Getenv("DELTA_CRASH_ALL") != "" {
				step = 1
			} else if testing.Short() {
				step *= 7
			}
			for k := 1; k <= total; k += step {
				db := newFakeDB()
				db.crashAt = k
				got := flat(drive(t, db, scenarioRound(f, c.lim, 40), 3))
				if !slices.Equal(got, want) {
					t.Fatalf("crash before commit %d of %d: %d events, want %d\nfirst difference at %d", k, total, len(got), len(want), firstDiff(got, want))
				}
				if db.s.cursor != "delta-R" || db.s.round != nil {
					t.Fatalf("crash at %d: cursor %q, round left %v", k, db.s.cursor, db.s.round != nil)
				}
			}
		})
	}
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func flat(rounds [][]Event) []string {
	var out []string
	for _, r := range rounds {
		out = append(out, describeAll(r)...)
	}
	return out
}

package delta

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/onedrive-agent/onedrive-agent/connector"
)

func newRound(f func(context.Context, string) (connector.Page, error), lim Limits) *Round {
	return &Round{Fetch: f, Emit: fakeEmit, Now: func() time.Time { return seen }, Limits: lim}
}

func TestRound_Run_SmallRoundInOneTransaction(t *testing.T) {
	db := seedDB(t, baseTree(), "delta-0")
	f := &feed{rounds: [][][]connector.Item{{{gi("a1", "A", "a.txt", "etag=2", "size=3")}, {}, {del("B")}}}}
	res, err := newRound(f.fetch, Limits{}).Run(context.Background(), db, "fresh")
	if err != nil {
		t.Fatal(err)
	}
	if db.updates != 1 {
		t.Errorf("%d transactions, want 1", db.updates)
	}
	want := Result{Events: 3, Items: 2, Pages: 3, Requests: 3, Done: true}
	if res != want {
		t.Errorf("result %+v, want %+v", res, want)
	}
	if got := describeAll(db.s.emitted); !slices.Equal(got, []string{"DELETED b1 /A/B/b.txt", "DELETED B /A/B", "UPDATED a1 /A/a.txt [content]"}) {
		t.Errorf("events %q", got)
	}
	// An unchanged drive whose link comes back the same: one request, no
	// transaction, no event.
	res, err = newRound(f.fetch, Limits{}).Run(context.Background(), db, "fresh")
	if err != nil || res.Requests != 1 || res.Events != 0 || !res.Done || db.updates != 1 {
		t.Errorf("idle round: %+v, %v, %d transactions", res, err, db.updates)
	}
	// No change but a new link: one transaction, which stores it.
	f.rounds = append(f.rounds, [][]connector.Item{})
	res, err = newRound(f.fetch, Limits{}).Run(context.Background(), db, "fresh")
	if err != nil || res.Requests != 1 || res.Events != 0 || !res.Done || db.updates != 2 {
		t.Errorf("empty round with a new link: %+v, %v, %d transactions", res, err, db.updates)
	}
	if c, _ := (&fakeTx{s: db.s}).Cursor(); c != "delta-2" {
		t.Errorf("cursor after the empty round = %q, want delta-2", c)
	}
}

// bigTree is a root with n files spread over folders of 50.
func bigTree(n int) []connector.Item {
	items := []connector.Item{gi("R", "", "root", "root")}
	for i := range n {
		if i%50 == 0 {
			items = append(items, gi(fmt.Sprintf("d%05d", i/50), "R", fmt.Sprintf("dir%d", i/50), "dir"))
		}
		items = append(items, gi(fmt.Sprintf("f%05d", i), fmt.Sprintf("d%05d", i/50), fmt.Sprintf("f%d.txt", i)))
	}
	return items
}

func TestRound_Run_BigRoundIsStagedAndChunked(t *testing.T) {
	tree := bigTree(3000)
	run := func(lim Limits) (*fakeDB, []string) {
		f := newLinkFeed()
		f.chain("fresh", "delta-1", reverse(tree), 200)
		db := newFakeDB()
		r := newRound(f.fetch, lim)
		r.Initial = Backfill
		res, err := r.Run(context.Background(), db, "fresh")
		if err != nil || !res.Done {
			t.Fatalf("Run: %+v %v", res, err)
		}
		if res.Events != 3060 || res.Items != len(tree) || res.Pages != 16 {
			t.Errorf("result %+v", res)
		}
		return db, describeAll(db.s.emitted)
	}
	one, want := run(Limits{BufferItems: 1 << 20, ChunkUnits: 1 << 30, EmitBatch: 1 << 20})
	if one.updates != 1 {
		t.Fatalf("unbounded limits: %d transactions", one.updates)
	}
	lim := Limits{BufferItems: 500, ChunkUnits: 400, EmitBatch: 100}
	db, got := run(lim)
	if !slices.Equal(got, want) {
		t.Fatalf("chunked round differs from the one-transaction round")
	}
	// 3,061 items staged in 7 flushes, then 4 phases of ~3,061 units in
	// chunks of 400.
	if db.updates < 25 {
		t.Errorf("%d transactions: not chunked", db.updates)
	}
	if limit := 3*lim.ChunkUnits + lim.BufferItems + 200 + 10; db.maxWrites > limit {
		t.Errorf("a transaction made %d writes, more than %d", db.maxWrites, limit)
	}
	if len(db.s.items) != len(tree) || db.s.cursor != "delta-1" {
		t.Errorf("index %d items, cursor %q", len(db.s.items), db.s.cursor)
	}
}

func TestRound_Run_BaselineIsSilent(t *testing.T) {
	tree := bigTree(300)
	f := newLinkFeed()
	f.chain("fresh", "delta-1", shuffle(1)(tree), 50)
	db := newFakeDB()
	res, err := newRound(f.fetch, Limits{BufferItems: 100, ChunkUnits: 50}).Run(context.Background(), db, "fresh")
	if err != nil || !res.Done || res.Events != 0 || len(db.s.emitted) != 0 {
		t.Fatalf("baseline: %+v %v, %d events", res, err, len(db.s.emitted))
	}
	if len(db.s.items) != len(tree) || db.s.cursor != "delta-1" {
		t.Fatalf("index %d items, cursor %q", len(db.s.items), db.s.cursor)
	}
	// Baseline rounds do not keep raw items in the staged records.
	f2 := newLinkFeed()
	f2.chain("fresh", "delta-1", tree, 50)
	db2 := newFakeDB()
	rawSeen := false
	r := newRound(f2.fetch, Limits{BufferItems: 100})
	r.Fetch = func(ctx context.Context, link string) (connector.Page, error) {
		_ = db2.View(func(tx Tx) error {
			return tx.ForEachStaged("", func(id string, rec []byte) error {
				s, _ := decodeStaged(id, rec)
				rawSeen = rawSeen || s.Raw != nil
				return nil
			})
		})
		return f2.fetch(ctx, link)
	}
	if _, err := r.Run(context.Background(), db2, "fresh"); err != nil {
		t.Fatal(err)
	}
	if rawSeen || db2.s.maxStage == 0 {
		t.Errorf("staged raw %v, max staged %d", rawSeen, db2.s.maxStage)
	}
	checkIndexTree(t, db)
}

func TestRound_Run_Backpressure(t *testing.T) {
	tree := bigTree(100)
	f := newLinkFeed()
	f.chain("fresh", "delta-1", tree, 30)
	db := newFakeDB()
	r := newRound(f.fetch, Limits{EmitBatch: 8})
	r.Initial, r.MaxQueue = Backfill, 20
	var all []string
	res, err := r.Run(context.Background(), db, "fresh")
	if err != nil || !res.Paused || res.Done {
		t.Fatalf("first run: %+v %v", res, err)
	}
	if res.Events != 24 || db.s.cursor != "" {
		t.Errorf("first run: %d events, cursor %q; want 24 events and no cursor", res.Events, db.s.cursor)
	}
	// Still full: no progress, no request.
	reqs := f.requests
	res, err = r.Run(context.Background(), db, "fresh")
	if err != nil || !res.Paused || res.Events != 0 || f.requests != reqs {
		t.Fatalf("full queue: %+v %v, %d requests", res, err, f.requests-reqs)
	}
	for i := 0; ; i++ {
		all = describeAll(db.s.emitted)
		db.s.queued = 0 // delivered
		res, err = r.Run(context.Background(), db, "fresh")
		if err != nil {
			t.Fatal(err)
		}
		if res.Done {
			break
		}
		if i > 10 {
			t.Fatal("never done")
		}
	}
	all = describeAll(db.s.emitted)
	if len(all) != 102 || db.s.cursor != "delta-1" || f.requests != reqs {
		t.Errorf("%d events, cursor %q, %d more requests", len(all), db.s.cursor, f.requests-reqs)
	}
	// Ordered like an unpaused run.
	f2 := newLinkFeed()
	f2.chain("fresh", "delta-1", tree, 30)
	db2 := newFakeDB()
	r2 := newRound(f2.fetch, Limits{})
	r2.Initial = Backfill
	if _, err := r2.Run(context.Background(), db2, "fresh"); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(all, describeAll(db2.s.emitted)) {
		t.Error("paused round emitted other events or another order")
	}
	// A new round does not start while the queue is full.
	db.s.queued = 20
	res, err = r.Run(context.Background(), db, "fresh")
	if err != nil || !res.Paused || res.Requests != 0 {
		t.Errorf("new round with a full queue: %+v %v", res, err)
	}
}

func TestRound_Run_GoneOnDeltaLink(t *testing.T) {
	for _, loc := range []string{"", "resync"} {
		t.Run("location="+loc, func(t *testing.T) {
			db := seedDB(t, baseTree(), "delta-0")
			f := newLinkFeed()
			f.fail["delta-0"] = &connector.ResyncError{Status: 410, Location: loc}
			full := baseTree()
			full = slices.DeleteFunc(full, func(it connector.Item) bool { return it.ID == "c1" || it.ID == "b1" })
			full = append(full, gi("n1", "C", "n.txt", "etag=2"))
			full[2] = gi("a1", "A", "a.txt", "etag=2", "size=4")
			start := loc
			if start == "" {
				start = "fresh"
			}
			f.chain(start, "delta-R", reverse(full), 3)
			res, err := newRound(f.fetch, Limits{}).Run(context.Background(), db, "fresh")
			if err != nil || !res.Done || !res.Resynced {
				t.Fatalf("%+v %v", res, err)
			}
			want := []string{"DELETED b1 /A/B/b.txt", "DELETED c1 /C/c.txt", "UPDATED a1 /A/a.txt [content]", "CREATED n1 /C/n.txt"}
			if got := describeAll(db.s.emitted); !slices.Equal(got, want) {
				t.Errorf("events %q, want %q", got, want)
			}
			if db.s.cursor != "delta-R" {
				t.Errorf("cursor %q", db.s.cursor)
			}
			ev := db.s.emitted[0]
			if ev.Date != seen || string(ev.Raw) != `{"id":"b1","name":"b.txt","parentReference":{"id":"B","driveId":"drv"},"deleted":{"state":"deleted"}}` {
				t.Errorf("swept delete: date %v raw %s", ev.Date, ev.Raw)
			}
		})
	}
}

func TestRound_Run_LinkLoop(t *testing.T) {
	for _, lim := range []Limits{{}, {BufferItems: 1}, {MaxPages: 4}} {
		t.Run(fmt.Sprintf("%+v", lim), func(t *testing.T) {
			db := seedDB(t, baseTree(), "delta-0")
			f := newLinkFeed()
			f.pages["delta-0"] = connector.Page{Items: []connector.Item{del("a1")}, NextLink: "p1"}
			f.pages["p1"] = connector.Page{Items: []connector.Item{del("c1")}, NextLink: "p2"}
			if lim.MaxPages > 0 {
				for i := 2; i < 10; i++ {
					f.pages[fmt.Sprintf("p%d", i)] = connector.Page{NextLink: fmt.Sprintf("p%d", i+1)}
				}
			} else {
				f.pages["p2"] = connector.Page{Items: []connector.Item{del("b1")}, NextLink: "p1"}
			}
			_, err := newRound(f.fetch, lim).Run(context.Background(), db, "fresh")
			if !errors.Is(err, ErrLinkLoop) {
				t.Fatalf("err %v, want ErrLinkLoop", err)
			}
			if db.s.cursor != "delta-0" || db.s.round != nil || len(db.s.staged) != 0 || len(db.s.emitted) != 0 || len(db.s.items) != 11 {
				t.Errorf("after a loop: cursor %q, round %v, %d staged, %d events, %d items",
					db.s.cursor, db.s.round != nil, len(db.s.staged), len(db.s.emitted), len(db.s.items))
			}
		})
	}
}

func TestRound_Run_MalformedPageKeepsCursor(t *testing.T) {
	for _, bad := range []connector.Page{
		{Items: []connector.Item{gi("", "A", "noid.txt")}, NextLink: "p2"},
		{Items: []connector.Item{gi("c1", "C", "c.txt", "etag=2")}},
	} {
		db := seedDB(t, baseTree(), "delta-0")
		f := newLinkFeed()
		f.pages["delta-0"] = connector.Page{Items: []connector.Item{del("a1")}, NextLink: "p1"}
		f.pages["p1"] = bad
		f.pages["p2"] = connector.Page{DeltaLink: "delta-1"}
		for _, lim := range []Limits{{}, {BufferItems: 1}} {
			_, err := newRound(f.fetch, lim).Run(context.Background(), db, "fresh")
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("err %v, want ErrMalformed", err)
			}
			if db.s.cursor != "delta-0" || len(db.s.emitted) != 0 || len(db.s.items) != 11 {
				t.Fatalf("malformed page applied: cursor %q, %d events", db.s.cursor, len(db.s.emitted))
			}
		}
		// Graph sends a good page again: the round resumes from p1.
		f.pages["p1"] = connector.Page{Items: []connector.Item{del("c1")}, NextLink: "p2"}
		f.requests = 0
		res, err := newRound(f.fetch, Limits{}).Run(context.Background(), db, "fresh")
		if err != nil || !res.Done || res.Requests != 2 {
			t.Fatalf("resume: %+v %v", res, err)
		}
		if got := describeAll(db.s.emitted); !slices.Equal(got, []string{"DELETED a1 /A/a.txt", "DELETED c1 /C/c.txt"}) {
			t.Errorf("events %q", got)
		}
	}
}

func TestRound_Run_ResumesFetchAfterError(t *testing.T) {
	db := seedDB(t, baseTree(), "delta-0")
	f := newLinkFeed()
	f.chain("delta-0", "delta-1", []connector.Item{del("a1"), del("c1"), del("o1"), del("d1")}, 1)
	f.fail["delta-0/p-2"] = errors.New("connection reset")
	_, err := newRound(f.fetch, Limits{BufferItems: 1}).Run(context.Background(), db, "fresh")
	if err == nil || db.s.round == nil || len(db.s.staged) != 2 {
		t.Fatalf("err %v, staged %d", err, len(db.s.staged))
	}
	delete(f.fail, "delta-0/p-2")
	f.requests = 0
	res, err := newRound(f.fetch, Limits{BufferItems: 1}).Run(context.Background(), db, "fresh")
	if err != nil || !res.Done || res.Requests != 2 || len(db.s.emitted) != 4 {
		t.Fatalf("resume: %+v %v, %d events", res, err, len(db.s.emitted))
	}
}

func TestResync(t *testing.T) {
	db := seedDB(t, baseTree(), "delta-0")
	f := newLinkFeed()
	full := slices.DeleteFunc(baseTree(), func(it connector.Item) bool { return it.ID == "o1" })
	f.chain("fresh", "delta-R", full, 4)
	if err := Resync(db); err != nil {
		t.Fatal(err)
	}
	res, err := newRound(f.fetch, Limits{}).Run(context.Background(), db, "fresh")
	if err != nil || !res.Done || !res.Resynced {
		t.Fatalf("%+v %v", res, err)
	}
	if got := describeAll(db.s.emitted); !slices.Equal(got, []string{"DELETED o1 /Out/o.txt"}) {
		t.Errorf("events %q", got)
	}
	if db.s.cursor != "delta-R" || db.s.round != nil {
		t.Errorf("cursor %q, round %v", db.s.cursor, db.s.round != nil)
	}
}

func TestResync_DuringRound(t *testing.T) {
	// A resync asked while a round is fetching restarts it as a resync.
	db := seedDB(t, baseTree(), "delta-0")
	f := newLinkFeed()
	f.chain("delta-0", "delta-1", []connector.Item{del("a1"), del("c1"), del("o1")}, 1)
	f.chain("fresh", "delta-R", baseTree(), 100)
	r := newRound(nil, Limits{BufferItems: 1})
	asked := false
	r.Fetch = func(ctx context.Context, link string) (connector.Page, error) {
		if link == "delta-0/p-2" && !asked {
			asked = true
			if err := Resync(db); err != nil {
				return connector.Page{}, err
			}
		}
		return f.fetch(ctx, link)
	}
	res, err := r.Run(context.Background(), db, "fresh")
	if err != nil || !res.Done || !res.Resynced || db.s.cursor != "delta-R" || len(db.s.emitted) != 0 {
		t.Fatalf("%+v %v cursor %q events %q", res, err, db.s.cursor, describeAll(db.s.emitted))
	}
	// A resync asked while a round is applied waits for it.
	db = seedDB(t, baseTree(), "delta-0")
	f.chain("delta-0", "delta-1", []connector.Item{del("a1"), del("c1"), del("o1")}, 100)
	r = newRound(f.fetch, Limits{ChunkUnits: 1})
	hook := &hookDB{fakeDB: db, after: func() {
		if err := Resync(db); err != nil {
			t.Fatal(err)
		}
	}}
	res, err = r.Run(context.Background(), hook, "fresh")
	if err != nil || !res.Done || db.s.cursor != "delta-1" || len(db.s.emitted) != 3 {
		t.Fatalf("%+v %v", res, err)
	}
	st, _ := decodeRound(db.s.round)
	if st == nil || !st.Resync || st.Phase != phaseFetch {
		t.Fatalf("no resync queued after the round: %+v", st)
	}
	res, err = r.Run(context.Background(), db, "fresh")
	if err != nil || !res.Done || !res.Resynced || db.s.cursor != "delta-R" {
		t.Fatalf("queued resync: %+v %v", res, err)
	}
	// The resync finds a1, c1, o1 again.
	if got := describeAll(db.s.emitted[3:]); !slices.Equal(got, []string{"CREATED a1 /A/a.txt", "CREATED c1 /C/c.txt", "CREATED o1 /Out/o.txt"}) {
		t.Errorf("resync events %q", got)
	}
}

func TestRound_Run_RawAndDates(t *testing.T) {
	db := seedDB(t, baseTree(), "delta-0")
	graphDel := del("a1")
	created := gi("n1", "C", "n.txt", "etag=2")
	f := &feed{rounds: [][][]connector.Item{{{graphDel, created, del("B"), gi("D", "A", "D", "dir", "etag=2")}}}}
	r := newRound(f.fetch, Limits{})
	r.InScope = notUnder("/Out")
	if _, err := r.Run(context.Background(), db, "fresh"); err != nil {
		t.Fatal(err)
	}
	byID := map[string]Event{}
	for _, ev := range db.s.emitted {
		byID[ev.ItemID] = ev
	}
	check := func(id, raw string, date time.Time) {
		t.Helper()
		ev, ok := byID[id]
		if !ok {
			t.Errorf("no event for %s", id)
			return
		}
		if string(ev.Raw) != raw || !ev.Date.Equal(date) {
			t.Errorf("%s: raw %s date %v; want %s %v", id, ev.Raw, ev.Date, raw, date)
		}
	}
	check("a1", string(graphDel.Raw), seen)
	check("n1", string(created.Raw), t1)
	check("b1", `{"id":"b1","name":"b.txt","parentReference":{"id":"B","driveId":"drv"},"deleted":{"state":"deleted"}}`, seen)
	check("d1", `{"id":"d1","name":"d.txt","eTag":"1","size":10,"lastModifiedDateTime":"2026-11-01T10:00:00Z","parentReference":{"id":"D","driveId":"drv"},"file":{}}`, t0)
	if ev := byID["b1"]; ev.Name != "b.txt" || ev.ParentID != "B" || ev.Folder {
		t.Errorf("cascaded delete %+v", ev)
	}
	if ev := byID["B"]; ev.Name != "B" || !ev.Folder || ev.ParentID != "A" {
		t.Errorf("graph delete without name %+v", ev)
	}
	for _, ev := range db.s.emitted {
		if !json.Valid(ev.Raw) {
			t.Errorf("%s: invalid raw %s", ev.ItemID, ev.Raw)
		}
	}
}

// hookDB calls after once, after the first transaction that committed.
type hookDB struct {
	*fakeDB
	after func()
}

func (h *hookDB) Update(fn func(Tx) error) error {
	err := h.fakeDB.Update(fn)
	if err == nil && h.after != nil {
		after := h.after
		h.after = nil
		after()
	}
	return err
}

func TestRound_Run_ResyncLocationFails(t *testing.T) {
	db := seedDB(t, baseTree(), "delta-0")
	f := newLinkFeed()
	f.fail["delta-0"] = &connector.ResyncError{Status: 410, Location: "broken"}
	f.fail["broken"] = errors.New("HTTP 500")
	f.chain("fresh", "delta-R", baseTree(), 5)
	r := newRound(f.fetch, Limits{})
	if _, err := r.Run(context.Background(), db, "fresh"); err == nil {
		t.Fatal("no error from a failing Location")
	}
	res, err := r.Run(context.Background(), db, "fresh")
	if err != nil || !res.Done || db.s.cursor != "delta-R" || len(db.s.emitted) != 0 {
		t.Fatalf("fallback to the fresh link: %+v %v cursor %q", res, err, db.s.cursor)
	}
}

package delta

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onedrive-agent/onedrive-agent/connector"
)

// pageNo is the number of a linkFeed page from its link: "fresh" is 1,
// "fresh/p-1" is 2.
func pageNo(link string) int {
	_, n, ok := strings.Cut(link, "/p-")
	if !ok {
		return 1
	}
	i, _ := strconv.Atoi(n)
	return i + 1
}

// TestRound_FetchAhead: the next page is requested while the page before is
// staged, never more than FetchAhead pages past the last page staged; with
// FetchAhead < 0 only once the page before is staged. The events do not
// change.
func TestRound_FetchAhead(t *testing.T) {
	tree := bigTree(60)
	for _, tc := range []struct {
		ahead int
		want  int // most pages requested past the last one staged
	}{
		{-1, 1},
		{1, 2},
		{3, 4},
	} {
		t.Run(fmt.Sprint(tc.ahead), func(t *testing.T) {
			f := newLinkFeed()
			f.chain("fresh", "delta-1", tree, 5)
			var mu sync.Mutex
			staged, most := 0, 0
			requested := make(chan int, 100)
			last := 0 // the last page requested that staging saw
			r := newRound(nil, Limits{BufferItems: 5, FetchAhead: tc.ahead})
			r.Initial = Backfill
			r.Fetch = func(ctx context.Context, link string) (connector.Page, error) {
				n := pageNo(link)
				mu.Lock()
				most = max(most, n-staged)
				mu.Unlock()
				requested <- n
				return f.fetch(ctx, link)
			}
			db := newFakeDB()
			hook := &stagingDB{fakeDB: db, staging: func() {
				// Give the fetcher time to run ahead as far as it may.
				if tc.ahead >= 0 {
					deadline := time.After(2 * time.Second)
					for want := min(staged+1+tc.ahead, len(f.pages)); last < want; {
						select {
						case last = <-requested:
						case <-deadline:
							return
						}
					}
				}
			}, staged: func() {
				mu.Lock()
				staged++
				mu.Unlock()
			}}
			res, err := r.Run(context.Background(), hook, "fresh")
			if err != nil || !res.Done || len(db.s.emitted) != len(tree)-1 {
				t.Fatalf("%+v %v, %d events", res, err, len(db.s.emitted))
			}
			if most != tc.want {
				t.Errorf("requested up to %d pages past the last one staged, want %d", most, tc.want)
			}
		})
	}
}

// stagingDB calls staging inside each transaction that stages a buffer of
// pages (during the fetch phase) and staged after it commits.
type stagingDB struct {
	*fakeDB
	staging, staged func()
}

func (s *stagingDB) Update(fn func(Tx) error) error {
	var fetching bool
	_ = s.fakeDB.View(func(tx Tx) error {
		st, err := loadRound(tx)
		fetching = err == nil && (st == nil || st.Phase == phaseFetch)
		return nil
	})
	err := s.fakeDB.Update(func(tx Tx) error {
		if fetching {
			s.staging()
		}
		return fn(tx)
	})
	if err == nil && fetching {
		s.staged()
	}
	return err
}

// TestRound_FetchAheadStops: a round that ends on an error, a loop or a
// cancelled context leaves no fetch running.
func TestRound_FetchAheadStops(t *testing.T) {
	tree := bigTree(60)
	for _, tc := range []struct {
		name string
		set  func(f *linkFeed)
		want error
	}{
		{"error", func(f *linkFeed) { f.fail["fresh/p-3"] = errors.New("HTTP 500") }, nil},
		{"loop", func(f *linkFeed) {
			p := f.pages["fresh/p-4"]
			p.NextLink = "fresh/p-2"
			f.pages["fresh/p-4"] = p
		}, ErrLinkLoop},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newLinkFeed()
			f.chain("fresh", "delta-1", tree, 5)
			tc.set(f)
			var running sync.WaitGroup
			r := newRound(nil, Limits{BufferItems: 5, FetchAhead: 3})
			r.Fetch = func(ctx context.Context, link string) (connector.Page, error) {
				running.Add(1)
				defer running.Done()
				return f.fetch(ctx, link)
			}
			_, err := r.Run(context.Background(), newFakeDB(), "fresh")
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Fatalf("Run = %v, want an error (%v)", err, tc.want)
			}
			done := make(chan struct{})
			go func() { running.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(time.Second):
				t.Fatal("a fetch is still running after Run returned")
			}
		})
	}
}

// TestRound_EmitChunk: no transaction hands more than EmitChunk events to
// Emit, whatever ChunkUnits allows; the scenario's events are the same, and
// a crash before any commit still gives each event once.
func TestRound_EmitChunk(t *testing.T) {
	f := scenario(t)
	want := flat(drive(t, newFakeDB(), scenarioRound(f, Limits{ChunkUnits: 1000}, 0), 3))
	lim := Limits{ChunkUnits: 1000, EmitChunk: 30, EmitBatch: 8}
	most, emits := 0, 0
	var last *fakeTx
	r := scenarioRound(f, lim, 0)
	r.Emit = func(tx Tx, evs []Event) error {
		if ft := tx.(*fakeTx); ft != last {
			last, emits = ft, 0 // a new transaction
		}
		emits += len(evs)
		most = max(most, emits)
		return fakeEmit(tx, evs)
	}
	ref := newFakeDB()
	got := flat(drive(t, ref, r, 3))
	if !slices.Equal(got, want) {
		t.Fatalf("%d events with EmitChunk 30, want %d; first difference at %d", len(got), len(want), firstDiff(got, want))
	}
	if most > lim.EmitChunk || most < lim.EmitChunk-lim.EmitBatch {
		t.Errorf("up to %d events emitted in one transaction, want at most %d (and chunks filled)", most, lim.EmitChunk)
	}
	for k := 1; k <= ref.updates; k += 3 {
		db := newFakeDB()
		db.crashAt = k
		if got := flat(drive(t, db, scenarioRound(f, lim, 0), 3)); !slices.Equal(got, want) {
			t.Fatalf("crash before commit %d of %d: %d events, want %d; first difference at %d", k, ref.updates, len(got), len(want), firstDiff(got, want))
		}
	}
}

// TestRound_BeforeStaged: an incremental round records the before-states
// while staging and never runs the before phase; a round staged without
// them (its state without the flag, as an earlier version left it) runs it,
// and the events are the same.
func TestRound_BeforeStaged(t *testing.T) {
	changes := []connector.Item{gi("a1", "A", "a2.txt", "etag=9"), gi("n1", "C", "n.txt"), del("o1"), gi("C", "R", "C2", "dir")}
	var want []string
	for _, tc := range []struct {
		name       string
		unflag     bool // resume a round whose state lacks BeforeStaged
		wantBefore bool
	}{
		{"incremental", false, false},
		{"staged without before-states", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := seedDB(t, baseTree(), "delta-0")
			f := newLinkFeed()
			f.chain("delta-0", "delta-1", changes, 1)
			if tc.unflag {
				f.fail["delta-0/p-2"] = errors.New("HTTP 500")
				if _, err := newRound(f.fetch, Limits{BufferItems: 1}).Run(context.Background(), db, "fresh"); err == nil {
					t.Fatal("the first run did not stop at page 2")
				}
				delete(f.fail, "delta-0/p-2")
				err := db.Update(func(tx Tx) error {
					st, err := loadRound(tx)
					if err != nil || st == nil || !st.BeforeStaged {
						return fmt.Errorf("round state %+v, %v: want one with BeforeStaged", st, err)
					}
					st.BeforeStaged = false
					return saveRound(tx, st)
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			phases := map[phase]bool{}
			hook := &phaseDB{fakeDB: db, seen: phases}
			res, err := newRound(f.fetch, Limits{BufferItems: 1, ChunkUnits: 1}).Run(context.Background(), hook, "fresh")
			if err != nil || !res.Done {
				t.Fatalf("%+v %v", res, err)
			}
			if phases[phaseBefore] != tc.wantBefore || !phases[phaseIndex] {
				t.Errorf("phases %v: before phase run %v, want %v", phases, phases[phaseBefore], tc.wantBefore)
			}
			got := describeAll(db.s.emitted)
			if want == nil {
				want = got
			}
			if len(got) == 0 || !slices.Equal(got, want) {
				t.Errorf("events %q, want %q", got, want)
			}
		})
	}
}

// phaseDB records the phase of the round after each commit.
type phaseDB struct {
	*fakeDB
	seen map[phase]bool
}

func (p *phaseDB) Update(fn func(Tx) error) error {
	return p.fakeDB.Update(func(tx Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		st, err := loadRound(tx)
		if err == nil && st != nil {
			p.seen[st.Phase] = true
		}
		return err
	})
}

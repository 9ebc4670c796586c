package delta

import (
	"bytes"
	"errors"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/onedrive-agent/onedrive-agent/store"
)

// fakeState is the content of the fake store for one instance.
type fakeState struct {
	items    map[string]store.Item
	kids     map[string]map[string]bool // parent id → child ids
	cursor   string
	round    []byte
	staged   map[string][]byte
	pending  map[string][]byte
	emitted  []Event // events recorded by the test Emit, committed with the transaction
	queued   int64
	keysS    []string // sorted staged keys cache; nil = stale
	keysP    []string // sorted pending keys cache; nil = stale
	keysI    []string // sorted item ids cache; nil = stale
	maxStage int      // most staged records seen at once
}

func newFakeState() *fakeState {
	return &fakeState{
		items:   map[string]store.Item{},
		kids:    map[string]map[string]bool{},
		staged:  map[string][]byte{},
		pending: map[string][]byte{},
	}
}

func (s *fakeState) clone() *fakeState {
	c := *s
	c.items = maps.Clone(s.items)
	c.kids = make(map[string]map[string]bool, len(s.kids))
	for k, v := range s.kids {
		c.kids[k] = maps.Clone(v)
	}
	c.staged = maps.Clone(s.staged)
	c.pending = maps.Clone(s.pending)
	c.emitted = slices.Clone(s.emitted)
	c.round = bytes.Clone(s.round)
	return &c
}

// fakeTx implements Tx on a fakeState.
type fakeTx struct {
	s        *fakeState
	writable bool
	writes   int
}

var errReadOnly = errors.New("fake: write in a read-only transaction")

func (t *fakeTx) w() error {
	if !t.writable {
		return errReadOnly
	}
	t.writes++
	return nil
}

func (t *fakeTx) Item(id string) (store.Item, bool, error) {
	it, ok := t.s.items[id]
	return it, ok, nil
}

func (t *fakeTx) HasItem(id string) (bool, error) {
	_, ok := t.s.items[id]
	return ok, nil
}

func (t *fakeTx) PutItem(it store.Item) error {
	if err := t.w(); err != nil {
		return err
	}
	if old, ok := t.s.items[it.ID]; ok {
		delete(t.s.kids[old.ParentID], it.ID)
	} else {
		t.s.keysI = nil
	}
	t.s.items[it.ID] = it
	if t.s.kids[it.ParentID] == nil {
		t.s.kids[it.ParentID] = map[string]bool{}
	}
	t.s.kids[it.ParentID][it.ID] = true
	return nil
}

func (t *fakeTx) DeleteItem(id string) error {
	if err := t.w(); err != nil {
		return err
	}
	if old, ok := t.s.items[id]; ok {
		delete(t.s.kids[old.ParentID], id)
		delete(t.s.items, id)
		t.s.keysI = nil
	}
	return nil
}

func stop(err error) error {
	if errors.Is(err, store.Stop) {
		return nil
	}
	return err
}

func (t *fakeTx) Children(parentID string, fn func(store.Item) error) error {
	ids := slices.Sorted(maps.Keys(t.s.kids[parentID]))
	for _, id := range ids {
		it, ok := t.s.items[id]
		if !ok || it.ParentID != parentID {
			continue
		}
		if err := fn(it); err != nil {
			return stop(err)
		}
	}
	return nil
}

func (t *fakeTx) ChildIDs(parentID string, fn func(id string) error) error {
	for _, id := range slices.Sorted(maps.Keys(t.s.kids[parentID])) {
		if it, ok := t.s.items[id]; !ok || it.ParentID != parentID {
			continue
		}
		if err := fn(id); err != nil {
			return stop(err)
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V, cache *[]string) []string {
	if *cache == nil {
		*cache = slices.Sorted(maps.Keys(m))
	}
	return *cache
}

func (t *fakeTx) ForEachItem(after string, fn func(store.Item) error) error {
	keys := sortedKeys(t.s.items, &t.s.keysI)
	for i := sort.SearchStrings(keys, after); i < len(keys); i++ {
		it, ok := t.s.items[keys[i]]
		if !ok || keys[i] <= after {
			continue
		}
		if err := fn(it); err != nil {
			return stop(err)
		}
	}
	return nil
}

func (t *fakeTx) ItemCount() (int, error) { return len(t.s.items), nil }

func (t *fakeTx) ClearIndex() error {
	if err := t.w(); err != nil {
		return err
	}
	t.s.items, t.s.kids, t.s.keysI = map[string]store.Item{}, map[string]map[string]bool{}, nil
	return nil
}

func (t *fakeTx) Cursor() (string, error) { return t.s.cursor, nil }

func (t *fakeTx) SetCursor(link string) error {
	if err := t.w(); err != nil {
		return err
	}
	t.s.cursor = link
	return nil
}

func (t *fakeTx) RoundState() ([]byte, error) { return bytes.Clone(t.s.round), nil }

func (t *fakeTx) SetRoundState(b []byte) error {
	if err := t.w(); err != nil {
		return err
	}
	if len(b) == 0 {
		t.s.round = nil
		return nil
	}
	t.s.round = bytes.Clone(b)
	return nil
}

func (t *fakeTx) PutStaged(id string, rec []byte) error {
	if err := t.w(); err != nil {
		return err
	}
	if id == "" {
		return errors.New("fake: empty staged id")
	}
	if _, ok := t.s.staged[id]; !ok {
		t.s.keysS = nil
	}
	t.s.staged[id] = bytes.Clone(rec)
	t.s.maxStage = max(t.s.maxStage, len(t.s.staged))
	return nil
}

func (t *fakeTx) Staged(id string) ([]byte, bool, error) {
	v, ok := t.s.staged[id]
	return bytes.Clone(v), ok, nil
}

func (t *fakeTx) HasStaged(id string) (bool, error) {
	_, ok := t.s.staged[id]
	return ok, nil
}

func (t *fakeTx) ForEachStaged(after string, fn func(id string, rec []byte) error) error {
	keys := sortedKeys(t.s.staged, &t.s.keysS)
	for i := sort.SearchStrings(keys, after); i < len(keys); i++ {
		v, ok := t.s.staged[keys[i]]
		if !ok || keys[i] <= after {
			continue
		}
		if err := fn(keys[i], bytes.Clone(v)); err != nil {
			return stop(err)
		}
	}
	return nil
}

func (t *fakeTx) StagedCount() (int, error) { return len(t.s.staged), nil }

func (t *fakeTx) ClearStaged() error {
	if err := t.w(); err != nil {
		return err
	}
	t.s.staged, t.s.keysS = map[string][]byte{}, nil
	return nil
}

func (t *fakeTx) PutPending(key, rec []byte) error {
	if err := t.w(); err != nil {
		return err
	}
	if _, ok := t.s.pending[string(key)]; !ok {
		t.s.keysP = nil
	}
	t.s.pending[string(key)] = bytes.Clone(rec)
	return nil
}

func (t *fakeTx) ForEachPending(after []byte, fn func(key, rec []byte) error) error {
	keys := sortedKeys(t.s.pending, &t.s.keysP)
	a := string(after)
	for i := sort.SearchStrings(keys, a); i < len(keys); i++ {
		v, ok := t.s.pending[keys[i]]
		if !ok || keys[i] <= a {
			continue
		}
		if err := fn([]byte(keys[i]), bytes.Clone(v)); err != nil {
			return stop(err)
		}
	}
	return nil
}

func (t *fakeTx) DeletePending(key []byte) error {
	if err := t.w(); err != nil {
		return err
	}
	delete(t.s.pending, string(key))
	return nil
}

func (t *fakeTx) ClearPending() error {
	if err := t.w(); err != nil {
		return err
	}
	t.s.pending, t.s.keysP = map[string][]byte{}, nil
	return nil
}

func (t *fakeTx) QueuedEvents() (int64, error) { return t.s.queued, nil }

// errCrash is what the fake DB returns once it "crashed".
var errCrash = errors.New("fake: crashed")

// fakeDB runs transactions on a copy of the state and keeps the copy only
// when fn succeeds. With crashAt > 0, Update number crashAt runs fn and then
// throws its work away, and every later Update fails too, as if the process
// had died right before that commit; restart() brings it back.
type fakeDB struct {
	// mu serializes transactions, as a store does: a round's page
	// fetcher runs beside them, and test fetch hooks may call Resync.
	mu        sync.Mutex
	s         *fakeState
	updates   int
	maxWrites int // most writes in one transaction
	views     int
	crashAt   int
	crashed   bool
}

func newFakeDB() *fakeDB { return &fakeDB{s: newFakeState()} }

func (d *fakeDB) Update(fn func(Tx) error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.crashed {
		return errCrash
	}
	d.updates++
	c := d.s.clone()
	tx := &fakeTx{s: c, writable: true}
	err := fn(tx)
	d.maxWrites = max(d.maxWrites, tx.writes)
	if err != nil {
		return err
	}
	if d.crashAt > 0 && d.updates >= d.crashAt {
		d.crashed = true
		return errCrash
	}
	d.s = c
	return nil
}

func (d *fakeDB) View(fn func(Tx) error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.crashed {
		return errCrash
	}
	d.views++
	return fn(&fakeTx{s: d.s})
}

func (d *fakeDB) restart() { d.crashed, d.crashAt = false, 0 }

// fakeEmit records events in the fake transaction.
func fakeEmit(tx Tx, events []Event) error {
	ft := tx.(*fakeTx)
	ft.s.emitted = append(ft.s.emitted, events...)
	ft.s.queued += int64(len(events))
	return nil
}

// describe renders an event for comparisons.
func describe(ev Event) string {
	var b strings.Builder
	b.WriteString(ev.Type + " " + ev.ItemID + " " + ev.Path)
	if ev.OldPath != "" {
		b.WriteString(" <- " + ev.OldPath)
	}
	if len(ev.Changes) > 0 {
		b.WriteString(" [" + strings.Join(ev.Changes, ",") + "]")
	}
	return b.String()
}

func describeAll(events []Event) []string {
	out := make([]string, len(events))
	for i, ev := range events {
		out[i] = describe(ev)
	}
	return out
}

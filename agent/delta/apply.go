package delta

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/onedrive-agent/onedrive-agent/store"
)

// batchMax is the most records read into memory at once inside a phase.
const batchMax = 1000

// applier advances a fully staged round inside one transaction, spending at
// most budget units of work, and records its progress in the round state.
type applier struct {
	r      *Round
	lim    Limits
	tx     Tx
	st     *roundState
	res    *Result
	budget int
	paths  *paths // over the index as it is in the current phase
	// workMaybe is false once the work queue of the current phase was
	// found empty and nothing was queued since.
	workMaybe bool
	emitted   int // events handed to Emit in this transaction
}

func (r *Round) applier(tx Tx, st *roundState, lim Limits, res *Result) *applier {
	return &applier{r: r, lim: lim, tx: tx, st: st, res: res, budget: lim.ChunkUnits, paths: newPaths(tx), workMaybe: true}
}

// run returns done when the round was committed and paused when the queue is
// full; otherwise the budget is spent and the progress saved.
func (a *applier) run() (done, paused bool, err error) {
	for a.budget > 0 {
		var finished bool
		switch a.st.Phase {
		case phaseSweep:
			finished, err = a.sweep()
		case phaseBefore:
			finished, err = a.before()
		case phaseIndex:
			finished, err = a.index()
		case phaseEvents:
			finished, err = a.events()
		case phaseEmit:
			finished, paused, err = a.emit()
		default:
			err = fmt.Errorf("round in phase %s cannot be applied", a.st.Phase)
		}
		if err != nil {
			return false, false, err
		}
		if paused {
			return false, true, saveRound(a.tx, a.st)
		}
		if !finished {
			continue
		}
		if a.st.Phase == phaseEmit {
			return true, false, a.commit()
		}
		a.st.Phase = a.st.nextPhase()
		a.st.Pos = ""
		a.paths = newPaths(a.tx) // the index changes between phases
		a.workMaybe = true
	}
	return false, false, saveRound(a.tx, a.st)
}

// commit stores the new cursor and forgets the round.
func (a *applier) commit() error {
	tx, st := a.tx, a.st
	if err := tx.SetCursor(st.Delta); err != nil {
		return fmt.Errorf("save cursor: %w", err)
	}
	if err := clearRound(tx); err != nil {
		return err
	}
	a.r.log().Debug("delta round applied", "mode", st.Mode.String(), "pages", st.Pages, "items", st.Items, "events", st.Emitted)
	if st.ResyncNext {
		return saveRound(tx, &roundState{ID: newRoundID(), Phase: phaseFetch, Resync: true})
	}
	if err := tx.SetRoundState(nil); err != nil {
		return fmt.Errorf("clear round state: %w", err)
	}
	return nil
}

func (a *applier) limit() int { return min(a.budget, batchMax) }

// sweep (resync) stages a synthetic delete for every indexed item the
// enumeration did not return.
func (a *applier) sweep() (bool, error) {
	n := a.limit()
	items := make([]store.Item, 0, n)
	err := a.tx.ForEachItem(a.st.Pos, func(it store.Item) error {
		items = append(items, it)
		if len(items) >= n {
			return store.Stop
		}
		return nil
	})
	if err != nil && !errors.Is(err, store.Stop) {
		return false, fmt.Errorf("read index: %w", err)
	}
	for _, it := range items {
		a.budget--
		a.st.Pos = it.ID
		if it.Root {
			continue
		}
		_, ok, err := a.tx.Staged(it.ID)
		if err != nil {
			return false, fmt.Errorf("read staged item %q: %w", it.ID, err)
		}
		if ok {
			continue
		}
		s := stagedFromIndex(it)
		if err := a.tx.PutStaged(it.ID, encodeStaged(&s)); err != nil {
			return false, fmt.Errorf("stage delete of %q: %w", it.ID, err)
		}
	}
	return len(items) < n, nil
}

type stagedKV struct {
	id  string
	rec []byte
}

// nextStaged reads up to n staged records after the phase position.
func (a *applier) nextStaged(n int) ([]stagedKV, error) {
	out := make([]stagedKV, 0, n)
	err := a.tx.ForEachStaged(a.st.Pos, func(id string, rec []byte) error {
		out = append(out, stagedKV{id, rec})
		if len(out) >= n {
			return store.Stop
		}
		return nil
	})
	if err != nil && !errors.Is(err, store.Stop) {
		return nil, fmt.Errorf("read staged items: %w", err)
	}
	return out, nil
}

// before records, for every staged item the index knows, its state before the
// round, with its path and scope. Items the index does not know keep the
// zero before-state ("did not exist").
func (a *applier) before() (bool, error) {
	n := a.limit()
	recs, err := a.nextStaged(n)
	if err != nil {
		return false, err
	}
	for _, kv := range recs {
		a.budget--
		a.st.Pos = kv.id
		_, ok, err := a.tx.Item(kv.id)
		if err != nil {
			return false, fmt.Errorf("read item %q: %w", kv.id, err)
		}
		if !ok {
			continue
		}
		s, err := decodeStaged(kv.id, kv.rec)
		if err != nil {
			return false, err
		}
		if err := a.r.setBefore(a.tx, a.paths, &s); err != nil {
			return false, err
		}
		if err := a.tx.PutStaged(kv.id, encodeStaged(&s)); err != nil {
			return false, fmt.Errorf("stage item %q: %w", kv.id, err)
		}
	}
	return len(recs) < n, nil
}

// setBefore records in s the item's state in the index, with its path and
// scope, when the index knows it; otherwise s keeps the zero before-state
// ("did not exist").
func (r *Round) setBefore(tx Tx, ps *paths, s *staged) error {
	it, ok, err := tx.Item(s.ID)
	if err != nil {
		return fmt.Errorf("read item %q: %w", s.ID, err)
	}
	if !ok {
		return nil
	}
	path, pok, err := ps.of(it)
	if err != nil {
		return err
	}
	s.HasBefore = true
	s.B = beforeOf(it, path, pok, pok && !it.Root && r.inScope(path))
	return nil
}

// pushWork queues a cascade or a walk over a folder's children.
func (a *applier) pushWork(kind byte, w *work) error {
	a.st.Seq++
	if err := a.tx.PutPending(workKey(kind, a.st.Seq), encodeWork(w)); err != nil {
		return fmt.Errorf("queue work on folder %q: %w", w.Folder, err)
	}
	a.workMaybe = true
	return nil
}

// nextWork returns the oldest queued work item of a kind.
func (a *applier) nextWork(kind byte) ([]byte, work, bool, error) {
	if !a.workMaybe {
		return nil, work{}, false, nil
	}
	var key, val []byte
	err := a.tx.ForEachPending([]byte{kind - 1, 0xff}, func(k, v []byte) error {
		if len(k) > 0 && k[0] == kind {
			key, val = bytes.Clone(k), v
		}
		return store.Stop
	})
	if err != nil && !errors.Is(err, store.Stop) {
		return nil, work{}, false, fmt.Errorf("read work queue: %w", err)
	}
	if key == nil {
		a.workMaybe = false
		return nil, work{}, false, nil
	}
	w, err := decodeWork(val)
	return key, w, err == nil, err
}

// children reads up to n children of a folder, skipping the first skip.
func (a *applier) children(folder string, skip uint64, n int) ([]store.Item, error) {
	return readChildren(a.tx.Children, folder, skip, n)
}

// childIDs reads up to n ids of the children of a folder, skipping the
// first skip.
func (a *applier) childIDs(folder string, skip uint64, n int) ([]string, error) {
	return readChildren(a.tx.ChildIDs, folder, skip, n)
}

// readChildren collects up to n of what walk yields for the children of a folder, skipping
// the first skip, and stops the walk once it has them.
func readChildren[T any](walk func(string, func(T) error) error, folder string, skip uint64, n int) ([]T, error) {
	out := make([]T, 0, min(n, 64))
	var seen uint64
	err := walk(folder, func(v T) error {
		seen++
		if seen <= skip {
			return nil
		}
		out = append(out, v)
		if len(out) >= n {
			return store.Stop
		}
		return nil
	})
	if err != nil && !errors.Is(err, store.Stop) {
		return nil, fmt.Errorf("read children of %q: %w", folder, err)
	}
	return out, nil
}

// stagedRecord reads the current staged record of an item.
func (a *applier) stagedRecord(id string) (staged, bool, error) {
	rec, ok, err := a.tx.Staged(id)
	if err != nil {
		return staged{}, false, fmt.Errorf("read staged item %q: %w", id, err)
	}
	if !ok {
		return staged{}, false, nil
	}
	s, err := decodeStaged(id, rec)
	return s, err == nil, err
}

package delta

import (
	"errors"
	"fmt"
)

// index applies the staged records to the index in id order. A deleted
// folder queues a cascade that removes its indexed descendants; the cascade
// queue is drained before the next staged record. The result does not depend
// on the order the records are applied in:
//   - an item whose new parent is gone in this round (staged as deleted)
//     is an orphan and is deleted with its subtree;
//   - a cascade meets every item still indexed under the folder: a staged item
//     whose new parent is elsewhere is moved there at once, any other one is
//     deleted (its staged record becomes an inferred delete), so a cascade
//     always empties the folder.
func (a *applier) index() (bool, error) {
	for a.budget > 0 {
		key, w, ok, err := a.nextWork(keyCascade)
		if err != nil {
			return false, err
		}
		if ok {
			if err := a.cascade(key, &w); err != nil {
				return false, err
			}
			continue
		}
		// Read staged records in batches (one cursor per batch, not per
		// record), but leave the batch as soon as a record queued a
		// cascade: cascades run before the next record.
		recs, err := a.nextStaged(min(a.budget, 512))
		if err != nil {
			return false, err
		}
		if len(recs) == 0 {
			return true, nil
		}
		for _, r := range recs {
			a.budget--
			a.st.Pos = r.id
			s, err := decodeStaged(r.id, r.rec)
			if err != nil {
				return false, err
			}
			if err := a.applyStaged(&s); err != nil {
				return false, err
			}
			if a.workMaybe || a.budget <= 0 {
				break
			}
		}
	}
	return false, nil
}

// applyStaged applies one staged record to the index.
func (a *applier) applyStaged(s *staged) error {
	if s.Root {
		if s.Deleted {
			return nil // the root is never deleted
		}
		return a.put(s)
	}
	if s.Deleted {
		cur, ok, err := a.tx.Item(s.ID)
		if err != nil {
			return fmt.Errorf("read item %q: %w", s.ID, err)
		}
		if ok && cur.Root {
			return nil // the root is never deleted
		}
		return a.remove(s.ID, s.B.Path, s.B.PathOK)
	}
	return a.applyAlive(s)
}

// applyAlive puts an item, unless its new parent is gone in this round. A
// parentless item that is not the root does not belong to the drive's tree
// (Graph sends such stray items, even of other drives, see the tests): an
// indexed one leaves the index with its subtree, an unknown one is not
// indexed.
func (a *applier) applyAlive(s *staged) error {
	if s.ParentID == "" && !s.Root {
		ok, err := a.tx.HasItem(s.ID)
		if err != nil {
			return fmt.Errorf("read item %q: %w", s.ID, err)
		}
		if !ok {
			return nil
		}
		return a.orphan(s)
	}
	if s.ParentID != "" {
		ok, err := a.tx.HasItem(s.ParentID)
		if err != nil {
			return fmt.Errorf("read item %q: %w", s.ParentID, err)
		}
		if !ok {
			p, pok, err := a.stagedRecord(s.ParentID)
			if err != nil {
				return err
			}
			if pok && p.Deleted {
				return a.orphan(s)
			}
		}
	}
	return a.put(s)
}

func (a *applier) put(s *staged) error {
	it := s.item()
	if s.HasBefore && s.B.Existed && !s.Root {
		// What Graph left out this time keeps the value the index knew, so
		// a later page that carries it again compares with the real old one.
		if it.Size < 0 {
			it.Size = s.B.Size
		}
		if it.CTag == "" {
			it.CTag = s.B.CTag
		}
		if it.Hash == "" && !it.Folder {
			it.Hash = s.B.Hash
		}
	}
	if err := a.tx.PutItem(it); err != nil {
		return fmt.Errorf("index item %q: %w", s.ID, err)
	}
	return nil
}

// orphan turns a staged item into an inferred delete.
func (a *applier) orphan(s *staged) error {
	s.Deleted, s.Inferred, s.Raw = true, true, nil
	if err := a.tx.PutStaged(s.ID, encodeStaged(s)); err != nil {
		return fmt.Errorf("stage delete of %q: %w", s.ID, err)
	}
	return a.remove(s.ID, s.B.Path, s.B.PathOK)
}

// remove deletes an item from the index and queues a cascade when anything is
// indexed under it (also when it is not indexed itself: items put under it
// earlier in this round must go).
func (a *applier) remove(id, oldPath string, oldOK bool) error {
	if err := a.tx.DeleteItem(id); err != nil {
		return fmt.Errorf("delete item %q from the index: %w", id, err)
	}
	kids, err := a.children(id, 0, 1)
	if err != nil {
		return err
	}
	if len(kids) == 0 {
		return nil
	}
	return a.pushWork(keyCascade, &work{Folder: id, OldPath: oldPath, OldOK: oldOK})
}

// cascade deletes a chunk of the indexed children of a deleted folder.
func (a *applier) cascade(key []byte, w *work) error {
	n := a.limit()
	kids, err := a.children(w.Folder, 0, n)
	if err != nil {
		return err
	}
	for _, c := range kids {
		a.budget--
		s, ok, err := a.stagedRecord(c.ID)
		if err != nil {
			return err
		}
		switch {
		case ok && !s.Deleted && s.ParentID != w.Folder:
			// Moved out of the folder in this round: apply the move now.
			err = a.applyAlive(&s)
		case ok:
			// Deleted, or still under the deleted folder: it goes too.
			if !s.Deleted {
				err = a.orphan(&s)
			} else {
				err = a.remove(c.ID, s.B.Path, s.B.PathOK)
			}
		default:
			old := w.OldPath + "/" + segment(c.Name)
			s = stagedFromIndex(c)
			s.HasBefore = true
			s.B = beforeOf(c, old, w.OldOK, w.OldOK && a.r.inScope(old))
			if err = a.tx.PutStaged(c.ID, encodeStaged(&s)); err != nil {
				return fmt.Errorf("stage delete of %q: %w", c.ID, err)
			}
			err = a.remove(c.ID, old, w.OldOK)
		}
		if err != nil {
			return err
		}
	}
	if len(kids) < n {
		if err := a.tx.DeletePending(key); err != nil {
			return fmt.Errorf("dequeue cascade of %q: %w", w.Folder, err)
		}
		return nil
	}
	// A full chunk: make sure it emptied what it read, or the cascade
	// would never end.
	it, ok, err := a.tx.Item(kids[0].ID)
	if err != nil {
		return fmt.Errorf("read item %q: %w", kids[0].ID, err)
	}
	if ok && it.ParentID == w.Folder {
		return errors.New("cascade of folder " + w.Folder + " makes no progress")
	}
	return nil
}

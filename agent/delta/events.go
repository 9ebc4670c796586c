package delta

import (
	"fmt"
	"time"

	"github.com/onedrive-agent/onedrive-agent/store"
)

// events compares every staged record's before-state with the new index and
// records the resulting events in the pending bucket under their order key.
// A folder whose path changed queues a walk over its subtree: descendants
// that did not come in the round are reported when the move took them into
// or out of scope (and only then).
func (a *applier) events() (bool, error) {
	for a.budget > 0 {
		key, w, ok, err := a.nextWork(keyWalk)
		if err != nil {
			return false, err
		}
		if ok {
			if err := a.walk(key, &w); err != nil {
				return false, err
			}
			continue
		}
		recs, err := a.nextStaged(min(a.budget, 64))
		if err != nil {
			return false, err
		}
		if len(recs) == 0 {
			return true, nil
		}
		for _, kv := range recs {
			a.budget--
			a.st.Pos = kv.id
			s, err := decodeStaged(kv.id, kv.rec)
			if err != nil {
				return false, err
			}
			if err := a.eventsFor(&s); err != nil {
				return false, err
			}
			if a.workMaybe || a.budget <= 0 {
				break // drain the walk queue first
			}
		}
	}
	return false, nil
}

// eventsFor records the events of one staged item.
func (a *applier) eventsFor(s *staged) error {
	if s.Root || s.B.Root {
		return nil
	}
	b := &s.B
	cur, inIdx, err := a.tx.Item(s.ID)
	if err != nil {
		return fmt.Errorf("read item %q: %w", s.ID, err)
	}
	if !inIdx {
		if b.Existed && b.InScope {
			return a.record(a.deleted(s.ID, b, s.Raw, s.Deleted && !s.Inferred))
		}
		return nil
	}
	if cur.Root {
		return nil
	}
	newPath, newOK, err := a.paths.of(cur)
	if err != nil {
		return err
	}
	newIn := newOK && a.r.inScope(newPath)
	switch {
	case newIn && (!b.Existed || !b.InScope):
		if err := a.record(a.created(cur, newPath, s.Raw)); err != nil {
			return err
		}
	case newIn:
		if f := changes(b, &cur); f != 0 {
			ev := a.created(cur, newPath, s.Raw)
			ev.Type = Updated
			ev.Changes = changeList(f)
			if f&(cParent|cName) != 0 && b.PathOK {
				ev.OldPath = a.oldPathAsSeen(b, newPath)
			}
			if err := a.record(ev); err != nil {
				return err
			}
		}
	case b.InScope:
		if err := a.record(a.deleted(s.ID, b, nil, false)); err != nil {
			return err
		}
	}
	if !cur.Folder || (!b.PathOK && !newOK) {
		return nil
	}
	moved := b.PathOK != newOK || b.Path != newPath
	if b.Existed && !moved {
		return nil
	}
	if !b.Existed && a.st.Mode != modeIncremental && a.st.Mode != modeReconcile {
		return nil // a first enumeration: nothing unstaged is indexed
	}
	return a.pushWork(keyWalk, &work{Folder: cur.ID, OldPath: b.Path, OldOK: b.PathOK, NewPath: newPath, NewOK: newOK})
}

// changes compares an item before and after the round; 0 means no event.
// Folders only report name and parent changes.
func changes(b *before, cur *store.Item) uint64 {
	if b.ETag != "" && b.ETag == cur.ETag {
		return 0
	}
	var f uint64
	if b.ParentID != cur.ParentID {
		f |= cParent
	}
	if b.Name != cur.Name {
		f |= cName
	}
	if cur.Folder {
		return f
	}
	// cTag, size and hashes are compared only when known on both sides:
	// Graph may drop any of them (see the tests).
	if (b.CTag != "" && cur.CTag != "" && b.CTag != cur.CTag) ||
		(b.Size >= 0 && cur.Size >= 0 && b.Size != cur.Size) ||
		(b.Hash != "" && cur.Hash != "" && b.Hash != cur.Hash) {
		f |= cContent
	}
	if f == 0 && b.ETag != cur.ETag {
		f |= cMetadata
	}
	return f
}

// walk visits a chunk of the children of a moved folder. Children with a
// staged record of their own (all of them, for a folder new in the round)
// are skipped by id, without reading their index entries.
func (a *applier) walk(key []byte, w *work) error {
	n := a.limit()
	ids, err := a.childIDs(w.Folder, w.Offset, n)
	if err != nil {
		return err
	}
	for _, id := range ids {
		a.budget--
		staged, err := a.tx.HasStaged(id)
		if err != nil {
			return fmt.Errorf("read staged item %q: %w", id, err)
		}
		if staged {
			continue // it has its own record, and walks its own subtree
		}
		c, ok, err := a.tx.Item(id)
		if err != nil {
			return fmt.Errorf("read item %q: %w", id, err)
		}
		if !ok {
			continue
		}
		oldPath, newPath := w.OldPath+"/"+segment(c.Name), w.NewPath+"/"+segment(c.Name)
		oldIn := w.OldOK && a.r.inScope(oldPath)
		newIn := w.NewOK && a.r.inScope(newPath)
		switch {
		case oldIn && !newIn:
			b := beforeOf(c, oldPath, true, true)
			err = a.record(a.deleted(c.ID, &b, nil, false))
		case newIn && !oldIn:
			err = a.record(a.created(c, newPath, nil))
		}
		if err != nil {
			return err
		}
		if c.Folder {
			err := a.pushWork(keyWalk, &work{Folder: c.ID, OldPath: oldPath, OldOK: w.OldOK, NewPath: newPath, NewOK: w.NewOK})
			if err != nil {
				return err
			}
		}
	}
	if len(ids) < n {
		if err := a.tx.DeletePending(key); err != nil {
			return fmt.Errorf("dequeue walk of %q: %w", w.Folder, err)
		}
		return nil
	}
	w.Offset += uint64(len(ids))
	if err := a.tx.PutPending(key, encodeWork(w)); err != nil {
		return fmt.Errorf("save walk of %q: %w", w.Folder, err)
	}
	return nil
}

// created builds a CREATED event for an indexed item; raw is the item's
// staged record's raw item (the pending event then keeps no copy of it), nil
// when Graph did not send the item in this round.
func (a *applier) created(it store.Item, path string, raw []byte) *Event {
	rawStaged := raw != nil
	if raw == nil {
		raw = a.synthRaw(&it)
	}
	date := it.Modified
	if !knownTime(date) {
		date = a.st.Seen
	}
	return &Event{
		Type:      Created,
		ItemID:    it.ID,
		ParentID:  it.ParentID,
		Name:      it.Name,
		Folder:    it.Folder,
		Path:      path,
		Date:      date,
		Raw:       raw,
		rawStaged: rawStaged,
	}
}

// knownTime reports whether a lastModifiedDateTime is a real time: Graph may
// leave it out, or send "0001-01-01T00:00:00-08:00" (see the tests).
func knownTime(t time.Time) bool { return t.Year() >= 1980 }

// deleted builds a DELETED event from an item's last known state; raw is the
// item's staged record's raw item, used when graphSent (a minimal item
// otherwise).
func (a *applier) deleted(id string, b *before, raw []byte, graphSent bool) *Event {
	rawStaged := graphSent && raw != nil
	if !rawStaged {
		raw = minimalDeleted(id, b.Name, b.ParentID, a.st.DriveID)
	}
	return &Event{
		Type:      Deleted,
		ItemID:    id,
		ParentID:  b.ParentID,
		Name:      b.Name,
		Folder:    b.Folder,
		Path:      b.Path,
		Date:      a.st.Seen,
		Raw:       raw,
		rawStaged: rawStaged,
	}
}

func (a *applier) record(ev *Event) error {
	if err := a.tx.PutPending(eventKey(ev), encodeEvent(ev)); err != nil {
		return fmt.Errorf("record %s event of %q: %w", ev.Type, ev.ItemID, err)
	}
	a.st.Events++
	return nil
}

// oldPathAsSeen is the path a receiver that keys by path knows a moved or
// renamed item by when its event arrives. Events come shallower first, so
// the receiver has already applied the moves and renames of every folder
// shallower than the item's new place, rewriting the prefixes under them:
// when the item's old parent now sits higher than the item, the old path is
// the parent's new path plus the item's old name (after /A was renamed to
// /A2, the folder once at /A/B is at /A2/B). Otherwise the parent's own
// event, if any, comes later and the path from before the round holds.
func (a *applier) oldPathAsSeen(b *before, newPath string) string {
	parent, ok, err := a.paths.folder(b.ParentID)
	if err != nil || !ok || pathDepth(parent) >= pathDepth(newPath) {
		return b.Path
	}
	if parent == "/" {
		return "/" + segment(b.Name)
	}
	return parent + "/" + segment(b.Name)
}

package delta

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/onedrive-agent/onedrive-agent/connector"
	"github.com/onedrive-agent/onedrive-agent/store"
)

// Format versions of the records this package keeps in the store.
const (
	fmtStaged = 1
	fmtRound  = 1
	fmtEvent  = 1
	fmtWork   = 1
)

// staged is the record kept per item id while a round is applied: the item's
// state after the round (as Graph last sent it, or a synthetic delete) and,
// once the "before" phase has run, its state in the index before the round.
type staged struct {
	ID                               string // the key; not part of the value
	Name, ParentID, ETag, CTag, Hash string
	Size                             int64
	Modified                         time.Time
	Folder, Root, Deleted            bool
	// Inferred: Graph did not send this item in this state (a cascade, a
	// sweep, an orphan); its events carry a minimal raw item.
	Inferred  bool
	Raw       []byte // the Graph item; nil when inferred or in baseline rounds
	HasBefore bool
	B         before
}

// before is an item's state in the index before the round.
type before struct {
	Existed, Folder, Root            bool
	PathOK, InScope                  bool // PathOK: Path could be computed from the index
	ParentID, Name, ETag, CTag, Hash string
	Size                             int64
	Modified                         time.Time
	Path                             string
}

const (
	sFolder = 1 << iota
	sRoot
	sDeleted
	sInferred
	sHasBefore
	sBExisted
	sBFolder
	sBRoot
	sBPathOK
	sBInScope
)

func flag(f *uint64, bit uint64, on bool) {
	if on {
		*f |= bit
	}
}

func encodeStaged(s *staged) []byte {
	n := 40 + len(s.Name) + len(s.ParentID) + len(s.ETag) + len(s.CTag) + len(s.Hash) + len(s.Raw)
	if s.HasBefore {
		n += 40 + len(s.B.ParentID) + len(s.B.Name) + len(s.B.ETag) + len(s.B.CTag) + len(s.B.Hash) + len(s.B.Path)
	}
	e := enc{b: make([]byte, 0, n)}
	e.byte(fmtStaged)
	var f uint64
	flag(&f, sFolder, s.Folder)
	flag(&f, sRoot, s.Root)
	flag(&f, sDeleted, s.Deleted)
	flag(&f, sInferred, s.Inferred)
	flag(&f, sHasBefore, s.HasBefore)
	flag(&f, sBExisted, s.B.Existed)
	flag(&f, sBFolder, s.B.Folder)
	flag(&f, sBRoot, s.B.Root)
	flag(&f, sBPathOK, s.B.PathOK)
	flag(&f, sBInScope, s.B.InScope)
	e.uint(f)
	e.str(s.Name)
	e.str(s.ParentID)
	e.str(s.ETag)
	e.str(s.CTag)
	e.str(s.Hash)
	e.int(s.Size)
	e.time(s.Modified)
	e.bytes(s.Raw)
	if s.HasBefore {
		e.str(s.B.ParentID)
		e.str(s.B.Name)
		e.str(s.B.ETag)
		e.str(s.B.CTag)
		e.str(s.B.Hash)
		e.int(s.B.Size)
		e.time(s.B.Modified)
		e.str(s.B.Path)
	}
	return e.b
}

func decodeStaged(id string, b []byte) (staged, error) {
	d := dec{b: b}
	d.version(fmtStaged)
	f := d.uint()
	s := staged{
		ID:        id,
		Folder:    f&sFolder != 0,
		Root:      f&sRoot != 0,
		Deleted:   f&sDeleted != 0,
		Inferred:  f&sInferred != 0,
		HasBefore: f&sHasBefore != 0,
	}
	s.Name = d.str()
	s.ParentID = d.str()
	s.ETag = d.str()
	s.CTag = d.str()
	s.Hash = d.str()
	s.Size = d.int()
	s.Modified = d.time()
	s.Raw = d.bytes()
	if s.HasBefore {
		s.B = before{
			Existed: f&sBExisted != 0,
			Folder:  f&sBFolder != 0,
			Root:    f&sBRoot != 0,
			PathOK:  f&sBPathOK != 0,
			InScope: f&sBInScope != 0,
		}
		s.B.ParentID = d.str()
		s.B.Name = d.str()
		s.B.ETag = d.str()
		s.B.CTag = d.str()
		s.B.Hash = d.str()
		s.B.Size = d.int()
		s.B.Modified = d.time()
		s.B.Path = d.str()
	}
	if err := d.done(); err != nil {
		return staged{}, fmt.Errorf("decode staged record of item %q: %w", id, err)
	}
	return s, nil
}

// stagedFromGraph converts a delta item; raw is dropped when keepRaw is false.
func stagedFromGraph(it *connector.Item, keepRaw bool) staged {
	s := staged{
		ID:       it.ID,
		Name:     it.Name,
		ParentID: it.ParentID,
		ETag:     it.ETag,
		CTag:     it.CTag,
		Hash:     it.Hash,
		Size:     it.Size,
		Modified: it.Modified,
		Folder:   it.Folder,
		Root:     it.Root,
		Deleted:  it.Deleted,
	}
	if keepRaw {
		s.Raw = it.Raw
	}
	return s
}

// stagedFromIndex is a synthetic delete of an indexed item.
func stagedFromIndex(it store.Item) staged {
	return staged{
		ID:       it.ID,
		Name:     it.Name,
		ParentID: it.ParentID,
		Folder:   it.Folder,
		Root:     it.Root,
		Deleted:  true,
		Inferred: true,
	}
}

// item is the index entry the staged state puts.
func (s *staged) item() store.Item {
	return store.Item{
		ID:       s.ID,
		ParentID: s.ParentID,
		Name:     s.Name,
		ETag:     s.ETag,
		CTag:     s.CTag,
		Size:     s.Size,
		Hash:     s.Hash,
		Folder:   s.Folder,
		Root:     s.Root,
		Modified: s.Modified,
	}
}

// beforeOf records an indexed item's state with its path.
func beforeOf(it store.Item, path string, pathOK, inScope bool) before {
	return before{
		Existed:  true,
		Folder:   it.Folder,
		Root:     it.Root,
		PathOK:   pathOK,
		InScope:  inScope && pathOK && !it.Root,
		ParentID: it.ParentID,
		Name:     it.Name,
		ETag:     it.ETag,
		CTag:     it.CTag,
		Hash:     it.Hash,
		Size:     it.Size,
		Modified: it.Modified,
		Path:     path,
	}
}

// Pending keys. Events sort before work items; work items are drained before
// the emit phase begins.
const (
	keyDeleted = 0x10 // + inverted depth + 0 + id: deepest first
	keyOther   = 0x20 // + depth + (0 updated | 1 created) + id
	keyCascade = 0xf0 // + seq: folders whose indexed descendants are deleted
	keyWalk    = 0xf1 // + seq: moved folders whose descendants may change scope
)

// eventKey realises the order of events inside a round: DELETED first,
// deepest path first; then UPDATED and CREATED by path depth, shallower first,
// UPDATED before CREATED at equal depth; ties by item id.
func eventKey(ev *Event) []byte {
	depth := pathDepth(ev.Path)
	if depth > 0xffff {
		depth = 0xffff
	}
	k := make([]byte, 4, 4+len(ev.ItemID))
	switch ev.Type {
	case Deleted:
		k[0] = keyDeleted
		binary.BigEndian.PutUint16(k[1:], uint16(0xffff-depth))
	case Updated:
		k[0] = keyOther
		binary.BigEndian.PutUint16(k[1:], uint16(depth))
	default:
		k[0] = keyOther
		binary.BigEndian.PutUint16(k[1:], uint16(depth))
		k[3] = 1
	}
	return append(k, ev.ItemID...)
}

func workKey(kind byte, seq uint64) []byte {
	k := make([]byte, 9)
	k[0] = kind
	binary.BigEndian.PutUint64(k[1:], seq)
	return k
}

const (
	cParent = 1 << iota
	cName
	cContent
	cMetadata
)

var changeNames = [...]string{ChangeParent, ChangeName, ChangeContent, ChangeMetadata}

func changeBits(changes []string) uint64 {
	var f uint64
	for _, c := range changes {
		for i, n := range changeNames {
			if c == n {
				f |= 1 << i
			}
		}
	}
	return f
}

func changeList(f uint64) []string {
	if f == 0 {
		return nil
	}
	out := make([]string, 0, 4)
	for i, n := range changeNames {
		if f&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return out
}

var eventTypes = [...]string{Created, Updated, Deleted}

func encodeEvent(ev *Event) []byte {
	e := enc{b: make([]byte, 0, 48+len(ev.ItemID)+len(ev.ParentID)+len(ev.Name)+len(ev.Path)+len(ev.OldPath)+len(ev.Raw))}
	e.byte(fmtEvent)
	var t byte
	for i, n := range eventTypes {
		if ev.Type == n {
			t = byte(i)
		}
	}
	e.byte(t)
	var folder byte
	if ev.Folder {
		folder = 1
	}
	e.byte(folder)
	e.str(ev.ItemID)
	e.str(ev.ParentID)
	e.str(ev.Name)
	e.str(ev.Path)
	e.str(ev.OldPath)
	e.uint(changeBits(ev.Changes))
	e.time(ev.Date)
	e.bytes(ev.Raw)
	return e.b
}

func decodeEvent(b []byte) (Event, error) {
	d := dec{b: b}
	d.version(fmtEvent)
	t := d.byte()
	if int(t) >= len(eventTypes) {
		d.fail()
		t = 0
	}
	ev := Event{Type: eventTypes[t], Folder: d.byte() == 1}
	ev.ItemID = d.str()
	ev.ParentID = d.str()
	ev.Name = d.str()
	ev.Path = d.str()
	ev.OldPath = d.str()
	ev.Changes = changeList(d.uint())
	ev.Date = d.time()
	ev.Raw = d.bytes()
	if err := d.done(); err != nil {
		return Event{}, fmt.Errorf("decode pending event: %w", err)
	}
	return ev, nil
}

// work is a queued unit of a cascade (index phase) or a walk (events phase)
// over the indexed children of a folder.
type work struct {
	Folder  string // folder id
	OldPath string // the folder's path before the round
	OldOK   bool   // OldPath is known
	NewPath string // walk only: the folder's path after the round
	NewOK   bool   // walk only: NewPath is known
	Offset  uint64 // walk only: children already visited
}

func encodeWork(w *work) []byte {
	e := enc{b: make([]byte, 0, 16+len(w.Folder)+len(w.OldPath)+len(w.NewPath))}
	e.byte(fmtWork)
	var ok byte
	if w.OldOK {
		ok |= 1
	}
	if w.NewOK {
		ok |= 2
	}
	e.byte(ok)
	e.str(w.Folder)
	e.str(w.OldPath)
	e.str(w.NewPath)
	e.uint(w.Offset)
	return e.b
}

func decodeWork(b []byte) (work, error) {
	d := dec{b: b}
	d.version(fmtWork)
	ok := d.byte()
	w := work{OldOK: ok&1 != 0, NewOK: ok&2 != 0}
	w.Folder = d.str()
	w.OldPath = d.str()
	w.NewPath = d.str()
	w.Offset = d.uint()
	if err := d.done(); err != nil {
		return work{}, fmt.Errorf("decode work item: %w", err)
	}
	return w, nil
}

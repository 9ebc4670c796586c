package delta

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/onedrive-agent/onedrive-agent/store/record"

	"github.com/onedrive-agent/onedrive-agent/connector"
	"github.com/onedrive-agent/onedrive-agent/store"
)

// Format versions of the records this package keeps in the store.
const (
	fmtStaged = 1
	fmtRound  = 1
	// fmtRoundEmitted marks a round state in the emit phase whose Pos is the
	// last pending key emitted. Versions that deleted each emitted event
	// read Pos as empty there and would emit those events again: they stop
	// at this format instead.
	fmtRoundEmitted = 2
	fmtEvent        = 2 // 1: without the raw-in-staged flag
	fmtWork         = 1
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
	e := record.NewEncoder(n)
	e.Byte(fmtStaged)
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
	e.Uint(f)
	e.Str(s.Name)
	e.Str(s.ParentID)
	e.Str(s.ETag)
	e.Str(s.CTag)
	e.Str(s.Hash)
	e.Int(s.Size)
	e.Time(s.Modified)
	e.Bytes(s.Raw)
	if s.HasBefore {
		e.Str(s.B.ParentID)
		e.Str(s.B.Name)
		e.Str(s.B.ETag)
		e.Str(s.B.CTag)
		e.Str(s.B.Hash)
		e.Int(s.B.Size)
		e.Time(s.B.Modified)
		e.Str(s.B.Path)
	}
	return e.Data()
}

// shared returns a field of a record without copying it (nil when empty):
// the records decoded here are the transaction's copies, owned by the caller
// and never changed, so the field may share their memory.
func shared(p []byte) []byte {
	if len(p) == 0 {
		return nil
	}
	return p
}

// decodeStaged decodes a staged record; Raw shares b's memory.
func decodeStaged(id string, b []byte) (staged, error) {
	d := record.NewDecoder(b)
	d.Version(fmtStaged)
	f := d.Uint()
	s := staged{
		ID:        id,
		Folder:    f&sFolder != 0,
		Root:      f&sRoot != 0,
		Deleted:   f&sDeleted != 0,
		Inferred:  f&sInferred != 0,
		HasBefore: f&sHasBefore != 0,
	}
	d.Strs(&s.Name, &s.ParentID, &s.ETag, &s.CTag, &s.Hash)
	s.Size = d.Int()
	s.Modified = d.Time()
	s.Raw = shared(d.Raw())
	if s.HasBefore {
		s.B = before{
			Existed: f&sBExisted != 0,
			Folder:  f&sBFolder != 0,
			Root:    f&sBRoot != 0,
			PathOK:  f&sBPathOK != 0,
			InScope: f&sBInScope != 0,
		}
		d.Strs(&s.B.ParentID, &s.B.Name, &s.B.ETag, &s.B.CTag, &s.B.Hash)
		s.B.Size = d.Int()
		s.B.Modified = d.Time()
		s.B.Path = d.Str()
	}
	if err := d.Done(); err != nil {
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

// encodeEvent writes a pending event. An event whose raw item is its staged
// record's keeps no copy of it: emit reads it from the staged record, which
// lives until the round's last transaction.
func encodeEvent(ev *Event) []byte {
	raw := ev.Raw
	if ev.rawStaged {
		raw = nil
	}
	e := record.NewEncoder(48 + len(ev.ItemID) + len(ev.ParentID) + len(ev.Name) + len(ev.Path) + len(ev.OldPath) + len(raw))
	e.Byte(fmtEvent)
	var t byte
	for i, n := range eventTypes {
		if ev.Type == n {
			t = byte(i)
		}
	}
	e.Byte(t)
	var folder byte
	if ev.Folder {
		folder = 1
	}
	e.Byte(folder)
	e.Str(ev.ItemID)
	e.Str(ev.ParentID)
	e.Str(ev.Name)
	e.Str(ev.Path)
	e.Str(ev.OldPath)
	e.Uint(changeBits(ev.Changes))
	e.Time(ev.Date)
	e.Bool(ev.rawStaged)
	e.Bytes(raw)
	return e.Data()
}

// decodeEvent reads a pending event; Raw shares b's memory. When
// rawStaged is set on it, Raw is to be read from the item's staged record
// (stagedRaw).
func decodeEvent(b []byte) (Event, error) {
	d := record.NewDecoder(b)
	v := d.Byte()
	if d.Err() == nil && v != fmtEvent && v != 1 {
		d.Fail(fmt.Errorf("unknown record format %d (want %d)", v, fmtEvent))
	}
	t := d.Byte()
	if int(t) >= len(eventTypes) {
		d.Fail(errBadField)
		t = 0
	}
	ev := Event{Type: eventTypes[t], Folder: d.Byte() == 1}
	d.Strs(&ev.ItemID, &ev.ParentID, &ev.Name, &ev.Path, &ev.OldPath)
	ev.Changes = changeList(d.Uint())
	ev.Date = d.Time()
	if v == fmtEvent {
		ev.rawStaged = d.Bool()
	}
	ev.Raw = shared(d.Raw())
	if err := d.Done(); err != nil {
		return Event{}, fmt.Errorf("decode pending event: %w", err)
	}
	return ev, nil
}

// stagedRaw returns the raw item of a staged record, without decoding the
// rest of it; the result shares rec's memory.
func stagedRaw(id string, rec []byte) ([]byte, error) {
	d := record.NewDecoder(rec)
	d.Version(fmtStaged)
	d.Uint() // flags
	for range 5 {
		d.Raw() // name, parent id, eTag, cTag, hash
	}
	d.Int()  // size
	d.Time() // modified
	raw := d.Raw()
	if err := d.Err(); err != nil {
		return nil, fmt.Errorf("decode staged record of item %q: %w", id, err)
	}
	return raw, nil
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
	e := record.NewEncoder(16 + len(w.Folder) + len(w.OldPath) + len(w.NewPath))
	e.Byte(fmtWork)
	var ok byte
	if w.OldOK {
		ok |= 1
	}
	if w.NewOK {
		ok |= 2
	}
	e.Byte(ok)
	e.Str(w.Folder)
	e.Str(w.OldPath)
	e.Str(w.NewPath)
	e.Uint(w.Offset)
	return e.Data()
}

func decodeWork(b []byte) (work, error) {
	d := record.NewDecoder(b)
	d.Version(fmtWork)
	ok := d.Byte()
	w := work{OldOK: ok&1 != 0, NewOK: ok&2 != 0}
	w.Folder = d.Str()
	w.OldPath = d.Str()
	w.NewPath = d.Str()
	w.Offset = d.Uint()
	if err := d.Done(); err != nil {
		return work{}, fmt.Errorf("decode work item: %w", err)
	}
	return w, nil
}

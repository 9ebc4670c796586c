package delta

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/onedrive-agent/onedrive-agent/store/record"
)

// phase is the step of a round recorded in the round state.
type phase byte

const (
	phaseFetch  phase = iota // pages are fetched and staged; Next is the link to resume from
	phaseSweep               // resync: indexed items missing from the enumeration get a synthetic delete
	phaseBefore              // each staged record gets its before-state from the untouched index
	phaseIndex               // staged records are applied to the index; deleted folders cascade
	phaseEvents              // events are computed against the new index into the pending bucket
	phaseEmit                // pending events are handed to Emit in order
)

var phaseNames = [...]string{"fetch", "sweep", "before", "index", "events", "emit"}

func (p phase) String() string {
	if int(p) < len(phaseNames) {
		return phaseNames[p]
	}
	return fmt.Sprintf("phase(%d)", p)
}

// mode is the kind of round.
type mode byte

const (
	modeIncremental mode = iota // from the stored cursor
	modeBaseline                // first enumeration, index silently
	modeBackfill                // first enumeration, every item in scope is CREATED
	modeReconcile               // resync: full enumeration compared with the index
)

var modeNames = [...]string{"incremental", "baseline", "backfill", "reconcile"}

func (m mode) String() string {
	if int(m) < len(modeNames) {
		return modeNames[m]
	}
	return fmt.Sprintf("mode(%d)", m)
}

// recentLinks is how many followed links the loop guard remembers.
const recentLinks = 16

// roundState is the persisted progress of a round.
type roundState struct {
	ID         uint64 // random; identifies the round across transactions
	Phase      phase
	Mode       mode
	Resync     bool // a resync was requested: the round enumerates from the fresh URL
	ResyncNext bool // a resync was requested while this round was being applied
	// BeforeStaged: each record got its before-state when it was staged, so
	// the before phase is skipped (incremental rounds started by a version
	// that does this; a round staged without them still runs the phase).
	BeforeStaged bool
	Next         string
	Delta        string
	Recent       []uint64 // hashes of the links followed last (loop guard)
	Pages        int64
	Items        int64
	Seen         time.Time // when the round started; the date of its DELETED events
	Pos          string    // last staged id done in the current phase; in the emit phase, the last pending key emitted
	Seq          uint64    // last work item sequence number
	Events       int64     // events recorded in the pending bucket
	Emitted      int64     // events handed to Emit
	DriveID      string    // drive id seen in the items, for minimal raw items
}

func newRoundID() uint64 {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return uint64(time.Now().UnixNano())
	}
	return binary.LittleEndian.Uint64(b[:]) | 1
}

func linkHash(link string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(link))
	return h.Sum64()
}

// seen reports whether link was followed recently in this round.
func (s *roundState) seen(link string) bool {
	h := linkHash(link)
	for _, r := range s.Recent {
		if r == h {
			return true
		}
	}
	return false
}

func (s *roundState) remember(link string) {
	s.Recent = append(s.Recent, linkHash(link))
	if len(s.Recent) > recentLinks {
		s.Recent = append(s.Recent[:0], s.Recent[len(s.Recent)-recentLinks:]...)
	}
}

func encodeRound(s *roundState) []byte {
	e := record.NewEncoder(128 + len(s.Next) + len(s.Delta) + len(s.Pos) + len(s.DriveID) + 8*len(s.Recent))
	if s.Phase == phaseEmit && s.Pos != "" {
		e.Byte(fmtRoundEmitted)
	} else {
		e.Byte(fmtRound)
	}
	e.Uint(s.ID)
	e.Byte(byte(s.Phase))
	e.Byte(byte(s.Mode))
	var f byte
	if s.Resync {
		f |= 1
	}
	if s.ResyncNext {
		f |= 2
	}
	if s.BeforeStaged {
		f |= 4
	}
	e.Byte(f)
	e.Str(s.Next)
	e.Str(s.Delta)
	e.Uint(uint64(len(s.Recent)))
	for _, r := range s.Recent {
		e.Fixed64(r)
	}
	e.Int(s.Pages)
	e.Int(s.Items)
	e.Time(s.Seen)
	e.Str(s.Pos)
	e.Uint(s.Seq)
	e.Int(s.Events)
	e.Int(s.Emitted)
	e.Str(s.DriveID)
	return e.Data()
}

func decodeRound(b []byte) (*roundState, error) {
	d := record.NewDecoder(b)
	v := d.Byte()
	if d.Err() == nil && v != fmtRound && v != fmtRoundEmitted {
		d.Fail(fmt.Errorf("unknown record format %d (want %d or %d)", v, fmtRound, fmtRoundEmitted))
	}
	s := &roundState{ID: d.Uint(), Phase: phase(d.Byte()), Mode: mode(d.Byte())}
	f := d.Byte()
	s.Resync = f&1 != 0
	s.ResyncNext = f&2 != 0
	s.BeforeStaged = f&4 != 0
	s.Next = d.Str()
	s.Delta = d.Str()
	n := d.Uint()
	if n > recentLinks {
		d.Fail(fmt.Errorf("%d recent links", n))
		n = 0
	}
	for i := uint64(0); i < n && d.Err() == nil; i++ {
		s.Recent = append(s.Recent, d.Fixed64())
	}
	s.Pages = d.Int()
	s.Items = d.Int()
	s.Seen = d.Time()
	s.Pos = d.Str()
	s.Seq = d.Uint()
	s.Events = d.Int()
	s.Emitted = d.Int()
	s.DriveID = d.Str()
	if err := d.Done(); err != nil {
		return nil, fmt.Errorf("decode round state: %w", err)
	}
	if s.Phase > phaseEmit || s.Mode > modeReconcile {
		return nil, fmt.Errorf("decode round state: phase %d mode %d: %w", s.Phase, s.Mode, errDamaged)
	}
	if (v == fmtRoundEmitted) != (s.Phase == phaseEmit && s.Pos != "") {
		return nil, fmt.Errorf("decode round state: format %d in phase %s: %w", v, s.Phase, errDamaged)
	}
	return s, nil
}

// loadRound reads the round in progress; nil when there is none.
func loadRound(tx Tx) (*roundState, error) {
	b, err := tx.RoundState()
	if err != nil {
		return nil, fmt.Errorf("read round state: %w", err)
	}
	if b == nil {
		return nil, nil
	}
	return decodeRound(b)
}

func saveRound(tx Tx, s *roundState) error {
	if err := tx.SetRoundState(encodeRound(s)); err != nil {
		return fmt.Errorf("save round state: %w", err)
	}
	return nil
}

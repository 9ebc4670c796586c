package delta

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"
)

// InitialMode says what the first enumeration of a drive (no cursor, empty
// index) reports.
type InitialMode int

const (
	// Baseline indexes the drive silently: the first round reports nothing.
	Baseline InitialMode = iota
	// Backfill reports every item in scope (except the root) as CREATED.
	Backfill
)

// Limits bound the memory and the size of the transactions of a round. Zero
// fields take the defaults.
type Limits struct {
	// BufferItems is how many delta items are held in memory before they
	// are staged in the store. A round that ends within this many items is
	// staged, applied and committed in one transaction (default 5,000:
	// about 2.5 MB of page bodies; fewer, larger staging commits).
	BufferItems int
	// ChunkUnits is the work done per apply transaction: one unit per staged
	// record per phase, per cascaded or walked descendant, per event emitted
	// (default 10,000; larger transactions cost more than they save: bbolt
	// splits the leaves a transaction fills only when it commits, so every
	// insert into a grown leaf shifts more of it).
	ChunkUnits int
	// EmitChunk is the most events handed to Emit per transaction (default
	// 5,000): the messages a transaction queues stay in memory until it
	// commits (about 1 KB per event), and each commit makes its events
	// deliverable while the round goes on.
	EmitChunk int
	// EmitBatch is the largest slice handed to Emit (default 256); slices
	// are cut only by EmitChunk and by the end of the events, so a runtime
	// that groups events into messages of k can make every message full
	// with a multiple of k here and in EmitChunk.
	EmitBatch int
	// MaxPages is the most pages a round may have; more is treated as a link
	// loop (default 5,000,000).
	MaxPages int64
	// LogEvery is how often (in pages) a long enumeration logs its progress
	// (default 100).
	LogEvery int
	// FetchAhead is how many pages a round fetches ahead of the one it is
	// staging: the next requests are on their way, and their pages decoded,
	// while a page is staged and while a staging transaction commits
	// (default 8, 2 to 5 MB of pages of 200 to 500 items: a commit of
	// BufferItems items takes as long as a fast Graph takes to send about
	// ten pages; negative: none, each page is fetched when it is needed).
	// A page fetched ahead and not used (the round stopped on an error or
	// a loop) is dropped.
	FetchAhead int
}

func (l Limits) withDefaults() Limits {
	if l.BufferItems <= 0 {
		l.BufferItems = 5000
	}
	if l.ChunkUnits <= 0 {
		l.ChunkUnits = 10000
	}
	if l.EmitChunk <= 0 {
		l.EmitChunk = 5000
	}
	if l.EmitBatch <= 0 {
		l.EmitBatch = 256
	}
	if l.MaxPages <= 0 {
		l.MaxPages = 5_000_000
	}
	if l.LogEvery <= 0 {
		l.LogEvery = 100
	}
	if l.FetchAhead == 0 {
		l.FetchAhead = 8
	}
	return l
}

// Round turns an instance's delta feed into events. A Round holds no state
// between calls: everything lives in the store, so any Round configured the
// same way may resume what another left.
type Round struct {
	Fetch FetchFunc // required
	Emit  EmitFunc  // required
	// InScope reports whether an item path ("/a/b.txt") is in the
	// instance's scope (folder prefix, include and exclude globs); nil means
	// everything. The root is never in scope.
	InScope func(path string) bool
	Initial InitialMode
	// MaxQueue pauses a round before handing more events to Emit while
	// tx.QueuedEvents() >= MaxQueue; 0 means no limit.
	MaxQueue int64
	// DriveID goes into the parentReference of minimal raw items; when ""
	// the drive id seen in the delta items is used.
	DriveID string
	Now     func() time.Time // nil = time.Now
	Logger  *slog.Logger     // nil = discard
	Limits
}

// Result describes what one Run did.
type Result struct {
	Events   int  // events handed to Emit
	Items    int  // delta items received
	Pages    int  // delta pages received
	Requests int  // Fetch calls, failed ones included
	Paused   bool // the queue is full: the round waits (cursor unchanged); run again later
	Resynced bool // a resync (410 Gone, or one requested) started in this call
	Done     bool // the round was committed: the new cursor is stored (or was already: an unchanged drive whose link came back the same writes nothing)
}

// Errors of Run.
var (
	// ErrLinkLoop: the feed sent a link already followed in this round, or
	// more pages than Limits.MaxPages. The round was discarded unapplied;
	// the cursor is unchanged.
	ErrLinkLoop = errors.New("delta feed loops")
	// ErrMalformed: a page without any link or an item without id. The
	// round was not applied; the cursor is unchanged.
	ErrMalformed = errors.New("malformed delta page")
	// ErrRoundChanged: another transaction (a Resync) changed the round
	// while this call was fetching; run again.
	ErrRoundChanged = errors.New("delta round was changed concurrently")
)

func (r *Round) now() time.Time {
	if r.Now != nil {
		return r.Now().UTC()
	}
	return time.Now().UTC()
}

func (r *Round) log() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func (r *Round) inScope(path string) bool {
	if r.InScope == nil {
		return true
	}
	return r.InScope(path)
}

// Run fetches and applies one round: it resumes the round in progress if
// there is one, or starts one from the stored cursor, or, when there is no
// cursor (or a resync was asked for), from freshURL, the link of a full
// enumeration (connector.Client.DeltaURL). A 410 Gone restarts the round as a
// reconciling resync from the Location link (or freshURL).
//
// Run returns when the round was committed (Result.Done), when the queue is
// full (Result.Paused), or on an error. Every transaction it commits leaves
// the store consistent: a crash at any moment and a later Run give each event
// exactly once. On an error the cursor is unchanged; staged progress is kept
// and the next Run resumes from it, except after ErrLinkLoop.
func (r *Round) Run(ctx context.Context, db DB, freshURL string) (Result, error) {
	var res Result
	if r.Fetch == nil || r.Emit == nil {
		return res, errors.New("delta: Round needs Fetch and Emit")
	}
	lim := r.Limits.withDefaults()
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		err = r.run(ctx, db, freshURL, lim, &res)
		if !errors.Is(err, ErrRoundChanged) {
			break
		}
	}
	return res, err
}

func (r *Round) run(ctx context.Context, db DB, freshURL string, lim Limits, res *Result) error {
	var (
		st     *roundState
		cursor string
		count  int
		queued int64
	)
	err := db.View(func(tx Tx) error {
		var err error
		if st, err = loadRound(tx); err != nil {
			return err
		}
		if cursor, err = tx.Cursor(); err != nil {
			return fmt.Errorf("read cursor: %w", err)
		}
		if st == nil || (st.Phase == phaseFetch && st.Pages == 0) {
			if count, err = tx.ItemCount(); err != nil {
				return fmt.Errorf("count index: %w", err)
			}
		}
		if queued, err = tx.QueuedEvents(); err != nil {
			return fmt.Errorf("count queued events: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	persisted := st != nil
	switch {
	case st == nil:
		if r.MaxQueue > 0 && queued >= r.MaxQueue {
			res.Paused = true
			return nil
		}
		st = r.newRound(newRoundID(), cursor, count, false)
	case st.Phase == phaseFetch && st.Pages == 0 && st.Resync && st.Next == "":
		// A requested resync that has not fetched anything yet.
		st = r.newRound(st.ID, "", count, true)
	}
	if st.Phase == phaseFetch {
		if err := r.fetch(ctx, db, st, persisted, cursor, freshURL, lim, res); err != nil {
			return err
		}
		if res.Done || res.Paused {
			return nil
		}
	}
	return r.apply(ctx, db, st.ID, lim, res)
}

// newRound starts a round: incremental from the cursor, or a full
// enumeration (initial when the index is empty, reconciling otherwise).
func (r *Round) newRound(id uint64, cursor string, count int, resync bool) *roundState {
	st := &roundState{ID: id, Phase: phaseFetch, Seen: r.now(), DriveID: r.DriveID}
	switch {
	case cursor != "" && !resync:
		st.Mode = modeIncremental
		st.Next = cursor
		st.BeforeStaged = true
	case count == 0:
		st.Mode = modeBaseline
		if r.Initial == Backfill {
			st.Mode = modeBackfill
		}
		st.Resync = resync
	default:
		st.Mode = modeReconcile
		st.Resync = true
	}
	return st
}

// firstPhase is where applying a fully staged round begins.
func (st *roundState) firstPhase() phase {
	switch st.Mode {
	case modeReconcile:
		return phaseSweep
	case modeBaseline, modeBackfill:
		return phaseIndex
	default:
		if st.BeforeStaged {
			return phaseIndex
		}
		return phaseBefore
	}
}

// nextPhase is the phase after the current one for this round's mode.
func (st *roundState) nextPhase() phase {
	switch st.Phase {
	case phaseSweep:
		return phaseBefore
	case phaseBefore:
		return phaseIndex
	case phaseIndex:
		if st.Mode == modeBaseline {
			return phaseEmit
		}
		return phaseEvents
	default:
		return phaseEmit
	}
}

// apply runs apply transactions until the round is committed or paused.
func (r *Round) apply(ctx context.Context, db DB, id uint64, lim Limits, res *Result) error {
	for n := 0; ; n++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		var done, paused bool
		var ph phase
		err := db.Update(func(tx Tx) error {
			st, err := loadRound(tx)
			if err != nil {
				return err
			}
			if st == nil || st.ID != id {
				return ErrRoundChanged
			}
			ph = st.Phase
			a := r.applier(tx, st, lim, res)
			done, paused, err = a.run()
			return err
		})
		if err != nil {
			return fmt.Errorf("apply delta round (%s phase): %w", ph, err)
		}
		if done || paused {
			res.Done = done
			res.Paused = paused
			return nil
		}
		if n > 0 && n%20 == 0 {
			r.log().Info("applying delta round", "phase", ph.String(), "transactions", n+1)
		}
	}
}

// thousands formats n with comma separators.
func thousands(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	out := make([]byte, 0, len(s)+len(s)/3)
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

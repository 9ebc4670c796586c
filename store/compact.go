package store

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/onedrive-agent/onedrive-agent/internal/safefile"
)

// Compaction policy. bbolt files never shrink: after a large backlog
// drains, the file keeps its peak size and the freed pages. MaybeCompact
// rewrites the file when it is larger than compactMinSize and more than
// compactRatio times its live data.
const (
	compactMinSize = 8 << 20
	compactRatio   = 4
	compactTxSize  = 16 << 20 // bytes copied per transaction while compacting
)

// MaybeCompact compacts the file when the policy says it is worth it and
// reports whether it did. The store calls it itself (unless
// Options.NoAutoCompact) at Open, after an Ack that leaves an instance's
// queue empty while none of its delta rounds is in progress, and after a
// Purge that deleted dead letters; the runtime may call it at any time.
func (db *DB) MaybeCompact() (bool, error) {
	size, live, err := db.sizes()
	if err != nil {
		return false, err
	}
	if size <= compactMinSize || size <= compactRatio*live {
		return false, nil
	}
	if err := db.Compact(); err != nil {
		return false, err
	}
	return true, nil
}

// sizes returns the file size and an estimate of the bytes in use (pages
// below the high-water mark that are not free).
func (db *DB) sizes() (size, live int64, err error) {
	bdb, err := db.acquire()
	if err != nil {
		return 0, 0, err
	}
	defer db.mu.RUnlock()
	fi, err := os.Stat(db.path)
	if err != nil {
		return 0, 0, fmt.Errorf("stat store %s: %w", db.path, err)
	}
	var hwm int64
	if err := bdb.View(func(tx *bolt.Tx) error { hwm = tx.Size(); return nil }); err != nil {
		return 0, 0, fmt.Errorf("stat store %s: %w", db.path, err)
	}
	return fi.Size(), liveBytes(bdb, hwm), nil
}

// liveBytes estimates the bytes in use in bdb: the pages below the
// high-water mark hwm that are not free.
func liveBytes(bdb *bolt.DB, hwm int64) int64 {
	st := bdb.Stats()
	free := int64(st.FreePageN+st.PendingPageN) * int64(bdb.Info().PageSize)
	return max(hwm-free, 0)
}

// autoCompact runs MaybeCompact unless turned off; failures are logged,
// the database stays usable.
func (db *DB) autoCompact() {
	if db.opts.NoAutoCompact || !db.compactMu.TryLock() {
		return
	}
	defer db.compactMu.Unlock()
	if _, err := db.MaybeCompact(); err != nil {
		db.log.Warn("store compaction failed", "path", db.path, "err", err)
	}
}

// Compact rewrites the database into a new file beside it, created
// exclusively under a random name ("<path>.compact-*", mode 0600; only the
// live data), syncs it, renames it over the original and reopens it. It is
// safe while the agent runs: concurrent calls wait until it is done, and
// the process lock stays held throughout, so no other process can open the
// file in between. On failure before the rename the original is untouched
// and stays open.
func (db *DB) Compact() error {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.bdb == nil {
		return fmt.Errorf("compact store %s: %w", db.path, ErrClosed)
	}
	start := time.Now()
	before, _ := os.Stat(db.path)
	f, err := os.CreateTemp(filepath.Dir(db.path), filepath.Base(db.path)+compactSuffix+"*")
	if err != nil {
		return fmt.Errorf("compact store %s: %w", db.path, err)
	}
	tmp := f.Name()
	if err := f.Close(); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("compact store %s: %w", db.path, err)
	}
	var live int64
	if err := db.bdb.View(func(tx *bolt.Tx) error { live = liveBytes(db.bdb, tx.Size()); return nil }); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("compact store %s: %w", db.path, err)
	}
	if err := db.compactInto(tmp, live); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("compact store %s: %w", db.path, err)
	}
	if err := db.bdb.Close(); err != nil {
		db.bdb = nil
		return fmt.Errorf("compact store %s: close: %w", db.path, err)
	}
	db.bdb = nil
	renameErr := os.Rename(tmp, db.path)
	if renameErr == nil {
		renameErr = syncDir(filepath.Dir(db.path))
	} else {
		_ = os.Remove(tmp)
	}
	bdb, err := db.openBolt(db.opts.Timeout)
	if err != nil {
		return fmt.Errorf("compact store %s: reopen: %w", db.path, err)
	}
	db.bdb = bdb
	if renameErr != nil {
		return fmt.Errorf("compact store %s: %w", db.path, renameErr)
	}
	if after, err := os.Stat(db.path); err == nil && before != nil {
		db.log.Info("store compacted", "path", db.path, "before", before.Size(),
			"after", after.Size(), "took", time.Since(start).Round(time.Millisecond))
	}
	return nil
}

// compactSuffix marks a compaction's copy: "<path>.compact-<random>".
const compactSuffix = ".compact-"

// removeCompactLeftovers deletes the copies of compactions killed before
// their rename (and the fixed-name copy older versions made). Only regular
// files are removed; a link is left alone.
func removeCompactLeftovers(path string) {
	dir, base := filepath.Split(path)
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Type().IsRegular() && (strings.HasPrefix(e.Name(), base+compactSuffix) || e.Name() == base+".compact") {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// compactInto copies the live data (about live bytes) into the new empty
// file tmp and syncs it; the copy is mapped for live bytes at once.
func (db *DB) compactInto(tmp string, live int64) error {
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{
		Timeout: time.Second, NoSync: true, NoFreelistSync: true, FreelistType: bolt.FreelistMapType,
		PageSize:        pageSize,
		InitialMmapSize: compactMmap(live),
		// The copy is synced before its rename: a sync per growth of the
		// file protects nothing.
		NoGrowSync: true,
		OpenFile: func(name string, flag int, mode os.FileMode) (*os.File, error) {
			return safefile.OpenFile(name, "database copy", flag&^os.O_CREATE, mode)
		},
	})
	if err != nil {
		return err
	}
	// With a first mapping past bbolt's 16 MB allocation unit, each
	// growth of the file would add 16 MB: grow by 1 MB instead.
	dst.AllocSize = compactAllocSize
	err = bolt.Compact(dst, db.bdb, compactTxSize)
	if err == nil && !db.opts.NoSync {
		err = dst.Sync()
	}
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	return err
}

// compactAllocSize is how much a compaction's copy grows at a time.
const compactAllocSize = 1 << 20

// maxCompactMmap bounds the copy's first mapping (address space only).
const maxCompactMmap = 1 << 30

// compactMmap is the copy's first mapping: large enough for the live data,
// so that bbolt does not map the growing copy again at each of its commits
// (each new mapping copies every node the transaction has touched onto the
// heap). On Windows a mapping sets the file's size, so the copy keeps
// bbolt's default there: its size stays that of its data.
func compactMmap(live int64) int {
	if runtime.GOOS == "windows" {
		return 0
	}
	return int(min(live, maxCompactMmap))
}

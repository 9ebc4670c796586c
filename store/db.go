package store

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	"github.com/onedrive-agent/onedrive-agent/internal/safefile"
	"github.com/onedrive-agent/onedrive-agent/store/record"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// SchemaVersion is the layout version this package writes and reads.
const SchemaVersion = 1

// DefaultTimeout is the lock wait used when Options.Timeout is zero.
const DefaultTimeout = 2 * time.Second

// Options configure Open.
type Options struct {
	// Timeout is how long Open waits for another process to release the
	// database; default 2s. The contract: a locked DB is reported within 5 s.
	Timeout time.Duration
	// Logger receives open and compaction notes; nil discards.
	Logger *slog.Logger
	// NoSync skips fsync on commit: tests and benchmarks only.
	NoSync bool
	// NoAutoCompact turns off the automatic compaction (see Compact);
	// MaybeCompact and Compact still work.
	NoAutoCompact bool
}

// DB is an open onedrive-agent database: one bbolt file holding, per
// instance, the OAuth token, the runtime state, the item index, the round
// staging area, the delivery queue and the dead letters. It is safe for
// concurrent use; see the package documentation.
type DB struct {
	path   string
	id     string
	opts   Options
	log    *slog.Logger
	lock   *lockFile
	closed bool

	// mu is held shared by every API call and exclusively by Compact and
	// Close, which swap or drop bdb.
	mu  sync.RWMutex
	bdb *bolt.DB

	compactMu sync.Mutex // one automatic compaction at a time
}

// Bucket and key names. Top level: meta (schema, id) and instances (one
// sub-bucket per instance name).
var (
	bktMeta       = []byte("meta")
	bktInstances  = []byte("instances")
	keySchema     = []byte("schema")
	keyID         = []byte("id")
	keyCreated    = []byte("created")
	keyNextInstID = []byte("next_instance")
)

// Open opens (creating if needed) the database at path. It creates the
// parent folder with mode 0700 (on Windows with a DACL for SYSTEM and
// Administrators only) and the file with mode 0600, takes the process lock
// "<path>.lock" (waiting up to Options.Timeout), then opens bbolt with
// NoFreelistSync and the map freelist.
//
// The folder, the lock file and the database must belong to the user the
// process runs as and must not be writable by group or others, and neither
// file may be a symbolic link: otherwise the error matches
// safefile.ErrUnsafe and says what to run (chmod, chown, or which user to
// run as).
//
// Errors: another process holds it: errors.Is(err, ErrLocked), text
// "database <path> is in use by another onedrive-agent (pid N)"; the
// LockedError carries the note the holder set (SetLockNote). A damaged
// file: errors.Is(err, ErrCorrupt), text naming the file and how to recover;
// the file is left exactly as it was. A newer schema: ErrNewerSchema.
func Open(path string, opts Options) (*DB, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	if err := safefile.MkdirPrivate(filepath.Dir(path), "data_dir"); err != nil {
		if errors.Is(err, safefile.ErrUnsafe) {
			return nil, err
		}
		return nil, fmt.Errorf("open store %s: create folder: %w", path, err)
	}
	start := time.Now()
	lock, err := acquireLock(path+".lock", path, opts.Timeout)
	if err != nil {
		if errors.Is(err, ErrLocked) || errors.Is(err, safefile.ErrUnsafe) {
			return nil, err
		}
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	db := &DB{path: path, opts: opts, log: log, lock: lock}
	removeCompactLeftovers(path)
	if err := precheck(path); err != nil {
		_ = lock.release()
		if errors.Is(err, safefile.ErrUnsafe) {
			return nil, err
		}
		var d damage
		if errors.As(err, &d) {
			return nil, &CorruptError{Path: path, Cause: d.error}
		}
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	warnMode(log, path)
	remaining := max(opts.Timeout-time.Since(start), 200*time.Millisecond)
	if db.bdb, err = db.openBolt(remaining); err != nil {
		_ = lock.release()
		return nil, err
	}
	if err := db.initSchema(); err != nil {
		_ = db.bdb.Close()
		_ = lock.release()
		return nil, err
	}
	log.Debug("store opened", "path", path, "id", db.id)
	if !opts.NoAutoCompact {
		if _, err := db.MaybeCompact(); err != nil {
			log.Warn("store compaction at open failed", "path", path, "err", err)
		}
	}
	return db, nil
}

// warnMode logs when the file is readable by others: it holds OAuth
// tokens. The store does not change modes it did not create.
func warnMode(log *slog.Logger, path string) {
	fi, err := os.Stat(path)
	if err == nil && runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		log.Warn("store: the database file is accessible to other users; it holds OAuth tokens: chmod 600 it",
			"path", path, "mode", fi.Mode().Perm().String())
	}
}

// openBolt opens the bbolt file, turning panics and memory faults that a
// damaged file can cause into a CorruptError.
func (db *DB) openBolt(timeout time.Duration) (bdb *bolt.DB, err error) {
	var file *os.File
	bopts := &bolt.Options{
		Timeout:        timeout,
		NoFreelistSync: true,
		FreelistType:   bolt.FreelistMapType,
		NoSync:         db.opts.NoSync,
		PageSize:       pageSize,
		// Mapped once for the file's growth: see mapSize.
		InitialMmapSize: mapSize,
		OpenFile: func(name string, flag int, mode os.FileMode) (*os.File, error) {
			f, err := safefile.OpenFile(name, "database", flag, mode)
			file = f
			return f, err
		},
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			if file != nil {
				_ = file.Close() // releases bbolt's lock; its mapping stays
			}
			bdb, err = nil, &CorruptError{Path: db.path, Cause: fmt.Errorf("bbolt: %v", p)}
		}
	}()
	bdb, err = bolt.Open(db.path, 0o600, bopts)
	switch {
	case err == nil:
		_ = bdb.View(func(tx *bolt.Tx) error { setGrowth(bdb, tx.Size()); return nil })
		return bdb, nil
	case errors.Is(err, berrors.ErrTimeout):
		// Our lock is held, so this is some other program (a bbolt tool?).
		return nil, &LockedError{Path: db.path}
	case errors.Is(err, safefile.ErrUnsafe):
		return nil, err
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum),
		errors.Is(err, berrors.ErrVersionMismatch), errors.Is(err, berrors.ErrInvalidMapping):
		return nil, &CorruptError{Path: db.path, Cause: err}
	default:
		return nil, fmt.Errorf("open store %s: %w", db.path, err)
	}
}

// initSchema creates the meta records of a new file, or checks them.
func (db *DB) initSchema() (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			err = &CorruptError{Path: db.path, Cause: fmt.Errorf("bbolt: %v", p)}
		}
	}()
	var fresh bool
	err = db.bdb.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bktMeta)
		if meta == nil {
			empty := true
			_ = tx.ForEach(func([]byte, *bolt.Bucket) error { empty = false; return Stop })
			if !empty {
				return &CorruptError{Path: db.path, Cause: errors.New("not an onedrive-agent database (no meta bucket)")}
			}
			fresh = true
			return nil
		}
		v := meta.Get(keySchema)
		if len(v) != 8 {
			return &CorruptError{Path: db.path, Cause: errors.New("schema version record is missing")}
		}
		if s := binary.BigEndian.Uint64(v); s > SchemaVersion {
			return fmt.Errorf("database %s has schema version %d, this onedrive-agent reads up to %d: "+
				"upgrade onedrive-agent (or move the file aside to start over): %w", db.path, s, SchemaVersion, ErrNewerSchema)
		}
		id := meta.Get(keyID)
		if len(id) != 16 {
			return &CorruptError{Path: db.path, Cause: errors.New("database id record is missing")}
		}
		db.id = string(id)
		if tx.Bucket(bktInstances) == nil {
			return &CorruptError{Path: db.path, Cause: errors.New("instances bucket is missing")}
		}
		return nil
	})
	if err != nil || !fresh {
		return err
	}
	var raw [8]byte
	if _, err := io.ReadFull(rand.Reader, raw[:]); err != nil {
		return fmt.Errorf("open store %s: new database id: %w", db.path, err)
	}
	id := hex.EncodeToString(raw[:])
	err = db.bdb.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucket(bktMeta)
		if err != nil {
			return err
		}
		if _, err := tx.CreateBucket(bktInstances); err != nil {
			return err
		}
		e := record.NewEncoder(0)
		e.Time(time.Now())
		for k, v := range map[string][]byte{
			string(keySchema): u64key(SchemaVersion), string(keyID): []byte(id),
			string(keyCreated): e.Data(), string(keyNextInstID): u64key(1),
		} {
			if err := meta.Put([]byte(k), v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("open store %s: initialize: %w", db.path, err)
	}
	db.id = id
	return nil
}

// Close releases the database and its lock. Further calls return ErrClosed;
// closing twice is not an error.
func (db *DB) Close() error {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed {
		return nil
	}
	db.closed = true
	var err error
	if db.bdb != nil {
		err = db.bdb.Close()
		db.bdb = nil
	}
	if lerr := db.lock.release(); err == nil && lerr != nil {
		err = lerr
	}
	if err != nil {
		return fmt.Errorf("close store %s: %w", db.path, err)
	}
	return nil
}

// Path returns the absolute path of the database file.
func (db *DB) Path() string { return db.path }

// ID returns the random 16-hex-character id created with the file. It is
// part of every event and message id.
func (db *DB) ID() string { return db.id }

// acquire takes the shared lock and returns the bbolt handle; release with
// db.mu.RUnlock.
func (db *DB) acquire() (*bolt.DB, error) {
	db.mu.RLock()
	if db.bdb == nil {
		db.mu.RUnlock()
		return nil, fmt.Errorf("store %s: %w", db.path, ErrClosed)
	}
	return db.bdb, nil
}

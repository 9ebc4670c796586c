package store

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/onedrive-agent/onedrive-agent/internal/safefile"
)

// lockFile is the process-level lock kept in "<db path>.lock". It is taken
// before bbolt's own lock on the database file and held until Close, also
// while Compact swaps the file, so no other onedrive-agent can slip in.
// While held, the file holds the owner's pid on its first line and the
// owner's note (SetLockNote), if any, on the second; a second process puts
// both in its LockedError.
type lockFile struct {
	mu sync.Mutex
	f  *os.File
}

// lockPollInterval is how often a waiting Open retries the lock.
const lockPollInterval = 25 * time.Millisecond

// maxLockNote caps a lock note.
const maxLockNote = 1024

// acquireLock takes the lock at path, waiting up to timeout. dbPath is only
// used in the LockedError. The file is opened without following a link and
// must belong to this user (see safefile).
func acquireLock(path, dbPath string, timeout time.Duration) (*lockFile, error) {
	f, err := safefile.OpenFile(path, "lock file", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	deadline := time.Now().Add(timeout)
	for {
		ok, err := tryLock(f)
		if err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if ok {
			break
		}
		if !time.Now().Before(deadline) {
			pid, note := readHolder(f)
			_ = f.Close()
			return nil, &LockedError{Path: dbPath, PID: pid, Note: note}
		}
		time.Sleep(lockPollInterval)
	}
	l := &lockFile{f: f}
	if err := l.write(""); err != nil {
		_ = l.release()
		return nil, err
	}
	return l, nil
}

// write puts the pid and note in the file. It writes over the old content
// before cutting it to length, so a reader never sees an empty file once
// the pid is there.
func (l *lockFile) write(note string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := strconv.Itoa(os.Getpid()) + "\n"
	if note != "" {
		s += note + "\n"
	}
	if _, err := l.f.WriteAt([]byte(s), 0); err != nil {
		return fmt.Errorf("write lock file: %w", err)
	}
	if err := l.f.Truncate(int64(len(s))); err != nil {
		return fmt.Errorf("write lock file: %w", err)
	}
	return nil
}

// release empties the file (so a stale pid never misleads), then unlocks
// it by closing. The file itself stays: deleting a lock file races with a
// process that already opened it.
func (l *lockFile) release() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	_ = l.f.Truncate(0)
	return l.f.Close()
}

// readHolder reads the owner's pid (0 when unknown) and note from the open
// lock file. The owner writes them right after locking, so an empty file
// is retried briefly.
func readHolder(f *os.File) (pid int, note string) {
	buf := make([]byte, 32+maxLockNote)
	for range 4 {
		n, _ := f.ReadAt(buf, 0)
		first, rest, complete := strings.Cut(string(buf[:n]), "\n")
		if !complete {
			time.Sleep(lockPollInterval)
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(first))
		if err != nil || pid <= 0 {
			return 0, ""
		}
		if line, _, ok := strings.Cut(rest, "\n"); ok {
			note = line
		}
		return pid, note
	}
	return 0, ""
}

// SetLockNote puts note (one line, at most 1 KiB; newlines become spaces)
// in the lock file beside this process's pid, for a process that finds the
// database locked to read (LockedError.Note): the agent names its admin
// API's address there. "" removes the note. The lock file is readable only
// by the database's owner.
func (db *DB) SetLockNote(note string) error {
	note = strings.NewReplacer("\n", " ", "\r", " ").Replace(note)
	if len(note) > maxLockNote {
		return fmt.Errorf("lock note is longer than %d bytes", maxLockNote)
	}
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.closed {
		return fmt.Errorf("store %s: %w", db.path, ErrClosed)
	}
	return db.lock.write(note)
}

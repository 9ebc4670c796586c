package store

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// lockFile is the process-level lock kept in "<db path>.lock". It is taken
// before bbolt's own lock on the database file and held until Close, also
// while Compact swaps the file, so no other onedrive-agent can slip in.
// While held, the file holds the owner's pid, which a second process puts
// in its LockedError.
type lockFile struct {
	f *os.File
}

// lockPollInterval is how often a waiting Open retries the lock.
const lockPollInterval = 25 * time.Millisecond

// acquireLock takes the lock at path, waiting up to timeout. dbPath is only
// used in the LockedError.
func acquireLock(path, dbPath string, timeout time.Duration) (*lockFile, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
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
			_ = f.Close()
			return nil, &LockedError{Path: dbPath, PID: readPID(path)}
		}
		time.Sleep(lockPollInterval)
	}
	l := &lockFile{f: f}
	if err := l.writePID(); err != nil {
		_ = l.release()
		return nil, err
	}
	return l, nil
}

func (l *lockFile) writePID() error {
	if err := l.f.Truncate(0); err != nil {
		return fmt.Errorf("write lock file: %w", err)
	}
	if _, err := l.f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0); err != nil {
		return fmt.Errorf("write lock file: %w", err)
	}
	return nil
}

// release empties the file (so a stale pid never misleads), then unlocks
// it by closing. The file itself stays: deleting a lock file races with a
// process that already opened it.
func (l *lockFile) release() error {
	_ = l.f.Truncate(0)
	return l.f.Close()
}

// readPID reads the owner's pid; 0 when unknown. The owner writes it right
// after locking, so an empty file is retried briefly.
func readPID(path string) int {
	for range 4 {
		b, err := os.ReadFile(path)
		if err != nil {
			return 0
		}
		if s := strings.TrimSpace(string(b)); s != "" {
			pid, err := strconv.Atoi(s)
			if err != nil || pid <= 0 {
				return 0
			}
			return pid
		}
		time.Sleep(lockPollInterval)
	}
	return 0
}

package store

import (
	"errors"
	"fmt"
	"strings"
)

var (
	// ErrLocked is matched (errors.Is) by the error Open returns when another
	// process holds the database. The error is a *LockedError.
	ErrLocked = errors.New("database is in use by another process")

	// ErrCorrupt is matched by the error Open returns for a file it cannot
	// read (a *CorruptError), and by errors about a stored record that does
	// not decode. The store never rewrites, moves or deletes such a file.
	ErrCorrupt = errors.New("database is damaged")

	// ErrNewerSchema is matched by the error Open returns for a database
	// written by a newer onedrive-agent than this one.
	ErrNewerSchema = errors.New("database was written by a newer onedrive-agent")

	// ErrNotFound is matched by errors about a queue key, dead letter or
	// instance that does not exist (write operations on an instance need
	// EnsureInstance first).
	ErrNotFound = errors.New("not found")

	// ErrClosed is returned by every method called after Close, or after a
	// failed Compact left the database closed.
	ErrClosed = errors.New("database is closed")

	// Stop may be returned by a ForEach/Children callback to end the
	// iteration early; the iterating method then returns nil.
	Stop = errors.New("stop iteration")
)

// Causes used inside record decoding errors.
var (
	errBadFlags = errors.New("unknown flag bits")
	errNegative = errors.New("negative counter")
	errBadKeys  = errors.New("inconsistent queue key bounds")
)

// LockedError says which process holds the database. PID is 0 when it could
// not be read from the lock file. Note is what the holder set with
// SetLockNote ("" for none); it is not part of the message.
type LockedError struct {
	Path string
	PID  int
	Note string
}

// Error returns "database <path> is in use by another onedrive-agent (pid N)".
func (e *LockedError) Error() string {
	if e.PID <= 0 {
		return fmt.Sprintf("database %s is in use by another onedrive-agent (pid unknown)", e.Path)
	}
	return fmt.Sprintf("database %s is in use by another onedrive-agent (pid %d)", e.Path, e.PID)
}

// Is makes errors.Is(err, ErrLocked) true.
func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// CorruptError names a database file that cannot be read and says how to
// recover. Cause is what was found wrong.
type CorruptError struct {
	Path  string
	Cause error
}

// Error names the file, what is wrong and how to recover.
func (e *CorruptError) Error() string {
	return fmt.Sprintf("database %s is damaged (%v); the agent does not modify it: "+
		"move it aside (for example rename it to %s.damaged) and start again, "+
		"then the agent creates a new database and re-baselines every drive, "+
		"and you may need to run `onedrive-agent login` again", e.Path, e.Cause, e.Path)
}

// Is makes errors.Is(err, ErrCorrupt) true.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }

// Unwrap returns the cause.
func (e *CorruptError) Unwrap() error { return e.Cause }

// recordError reports a stored record that does not decode; it matches
// ErrCorrupt and names the bucket and key.
func recordError(bucket string, key any, cause error) error {
	return fmt.Errorf("decode %s record %v: %w: %w", bucket, key, ErrCorrupt, cause)
}

// IsDiskFull reports whether err (from any store method that writes) was
// caused by a full disk or an exhausted quota. After such an error the
// transaction was rolled back: nothing of it is stored, reads keep working,
// and writes succeed again once space is freed.
func IsDiskFull(err error) bool {
	if err == nil {
		return false
	}
	for _, errno := range diskFullErrnos {
		if errors.Is(err, errno) {
			return true
		}
	}
	// bbolt formats some file errors with %s, which loses the errno.
	msg := strings.ToLower(err.Error())
	return strings.Contains(msg, "no space left on device") ||
		strings.Contains(msg, "disk quota exceeded") ||
		strings.Contains(msg, "not enough space on the disk")
}

// Package safefile opens and checks the files of data_dir (the database, its
// lock, admin.token) so that another local user can neither plant them nor
// redirect them.
//
// The rules: data_dir and every file in it belong to the user the process
// runs as and are not writable by group or others; files are opened without
// following a symbolic link in their last component (O_NOFOLLOW where the
// platform has it); temporary files are created exclusively under random
// names. On Windows, data_dir is created with a protected DACL that grants
// SYSTEM and Administrators (and the running user) full control and nobody
// else anything; a folder someone else owns is refused, one that grants
// others access is repaired. An unsafe file or folder is reported with an
// error that matches ErrUnsafe and says what to run.
package safefile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrUnsafe is matched (errors.Is) by every error about an owner, a mode or
// an ACL that lets another user replace or read what the agent keeps.
var ErrUnsafe = errors.New("unsafe ownership or permissions")

// UnsafeError says which path is unsafe, why, and what to run.
type UnsafeError struct {
	Path string
	What string // "data_dir", "database", "lock file", "admin token"
	Why  string // "is writable by group or others (mode -rw-rw-r--)"
	Fix  string // "chmod go-w /var/lib/onedrive-agent"
}

// Error returns "<what> <path> <why>: <fix>".
func (e *UnsafeError) Error() string {
	s := fmt.Sprintf("%s %s %s", e.What, e.Path, e.Why)
	if e.Fix != "" {
		s += ": " + e.Fix
	}
	return s
}

// Is makes errors.Is(err, ErrUnsafe) true.
func (e *UnsafeError) Is(target error) bool { return target == ErrUnsafe }

// OpenFile opens name like os.OpenFile without following a symbolic link
// in its last component where the platform allows, then checks the opened
// file with Check (what names it in errors). A file that fails the check
// is closed.
func OpenFile(name, what string, flag int, perm os.FileMode) (*os.File, error) {
	f, err := os.OpenFile(name, flag|noFollow, perm)
	if err != nil {
		if isSymlinkErr(name, err) {
			return nil, &UnsafeError{Path: name, What: what, Why: "is a symbolic link (the agent does not follow links in data_dir)",
				Fix: "replace it with the file itself"}
		}
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil {
		err = Check(name, what, fi)
	}
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	return f, nil
}

// ReadFile reads a small file through OpenFile (at most limit bytes).
func ReadFile(name, what string, limit int64) ([]byte, error) {
	f, err := OpenFile(name, what, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, limit))
}

// WriteFile replaces name with data atomically: it writes a new file
// created exclusively under a random name in the same folder (mode 0600),
// syncs it and renames it over name.
func WriteFile(name string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, name)
	}
	if err != nil {
		_ = os.Remove(tmp)
	}
	return err
}

// Check refuses a file or folder (fi, as stat'ed) that another user could
// replace or change: not owned by the user this process runs as, or
// writable by group or others. On Windows it accepts every file: the
// folder's protected DACL (see MkdirPrivate) covers what is inside.
func Check(path, what string, fi fs.FileInfo) error {
	return checkOwnerMode(path, what, fi)
}

// MkdirPrivate creates dir (and missing parents) for the agent's files and
// checks it: on Unix mode 0700 and Check; on Windows a protected DACL (see
// ProtectedDirSDDL), refusing a folder another user owns and repairing one
// whose DACL grants others access.
func MkdirPrivate(dir, what string) error {
	return mkdirPrivate(dir, what)
}

func isSymlinkErr(name string, err error) bool {
	if !errors.Is(err, errLoop) && !errors.Is(err, errNotDirLoop) {
		return false
	}
	fi, lerr := os.Lstat(name)
	return lerr == nil && fi.Mode()&fs.ModeSymlink != 0
}

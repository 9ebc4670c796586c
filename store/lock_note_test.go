package store

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSetLockNote: a process that finds the database locked learns the
// holder's pid and note; the note follows SetLockNote and is gone once the
// holder closes.
func TestSetLockNote(t *testing.T) {
	path := newPath(t)
	db := mustOpen(t, path, Options{NoSync: true})
	locked := func() *LockedError {
		t.Helper()
		_, err := Open(path, Options{Timeout: 50 * time.Millisecond})
		var le *LockedError
		if !errors.As(err, &le) {
			t.Fatalf("second Open: %v, want a LockedError", err)
		}
		return le
	}
	if le := locked(); le.PID != os.Getpid() || le.Note != "" {
		t.Errorf("before a note: %+v", le)
	}
	if err := db.SetLockNote("admin=127.0.0.1:8720"); err != nil {
		t.Fatal(err)
	}
	le := locked()
	if le.PID != os.Getpid() || le.Note != "admin=127.0.0.1:8720" {
		t.Errorf("after SetLockNote: %+v", le)
	}
	if strings.Contains(le.Error(), "admin=") {
		t.Errorf("the note is in the message: %q", le.Error())
	}
	if err := db.SetLockNote("a\nb"); err != nil {
		t.Fatal(err)
	}
	if le := locked(); le.Note != "a b" {
		t.Errorf("a note with a newline reads back %q", le.Note)
	}
	if err := db.SetLockNote(strings.Repeat("x", 2000)); err == nil {
		t.Error("a 2000-byte note was accepted")
	}
	db.Close()
	if b, _ := os.ReadFile(path + ".lock"); len(b) != 0 {
		t.Errorf("lock file after Close = %q, want empty", b)
	}
	if err := db.SetLockNote("x"); !errors.Is(err, ErrClosed) {
		t.Errorf("SetLockNote after Close: %v", err)
	}
}

// TestCompact_NoFixedTempName: compaction does not use a fixed name beside
// the database (anything found there is not its business), and leftovers of
// killed compactions are removed at Open.
func TestCompact_NoFixedTempName(t *testing.T) {
	path := newPath(t)
	db := mustOpen(t, path, Options{NoSync: true, NoAutoCompact: true})
	if _, err := db.EnsureInstance("a"); err != nil {
		t.Fatal(err)
	}
	// Something in the way of a fixed name: a non-empty folder.
	if err := os.MkdirAll(filepath.Join(path+".compact", "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := db.Compact(); err != nil {
		t.Fatalf("Compact with %s.compact in the way: %v", path, err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), filepath.Base(path)+compactSuffix) {
			t.Errorf("compaction left %s", e.Name())
		}
	}
	db.Close()
	leftover := path + compactSuffix + "123"
	if err := os.WriteFile(leftover, []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	db2, err := Open(path, Options{NoSync: true, NoAutoCompact: true})
	if err != nil {
		t.Fatal(err)
	}
	db2.Close()
	if _, err := os.Stat(leftover); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a killed compaction's copy survived Open: %v", err)
	}
}

package store

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func TestDB_Open(t *testing.T) {
	path := newPath(t)
	db := mustOpen(t, path, Options{})
	if db.Path() != path {
		t.Errorf("Path() = %q, want %q", db.Path(), path)
	}
	if !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(db.ID()) {
		t.Errorf("ID() = %q, want 16 hex characters", db.ID())
	}
	if runtime.GOOS != "windows" {
		for p, want := range map[string]os.FileMode{filepath.Dir(path): 0o700, path: 0o600, path + ".lock": 0o600} {
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Perm(); got != want {
				t.Errorf("mode of %s = %o, want %o", p, got, want)
			}
		}
	}
	pid, err := os.ReadFile(path + ".lock")
	if err != nil || strings.TrimSpace(string(pid)) != fmt.Sprint(os.Getpid()) {
		t.Errorf("lock file holds %q (%v), want our pid %d", pid, err, os.Getpid())
	}
	id := db.ID()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := db.Stats("a"); !errors.Is(err, ErrClosed) {
		t.Errorf("Stats after Close: %v, want ErrClosed", err)
	}
	db2 := mustOpen(t, path, Options{})
	if db2.ID() != id {
		t.Errorf("ID after reopen = %q, want %q", db2.ID(), id)
	}
}

func TestDB_Open_Reopen(t *testing.T) {
	path := newPath(t)
	db := mustOpen(t, path, Options{})
	a, _ := db.EnsureInstance("a")
	b, _ := db.EnsureInstance("b")
	tok := Token{AccessToken: "at", RefreshToken: "rt", TokenType: "Bearer", Expiry: time.Unix(1800000000, 5).UTC()}
	if err := db.SaveToken("a", tok); err != nil {
		t.Fatal(err)
	}
	if err := db.UpdateState("b", func(s *State) error { s.DriveID, s.Baselined = "d1", true; return nil }); err != nil {
		t.Fatal(err)
	}
	enqueue(t, db, "m1", "m2", "m3")
	err := db.Update("a", func(tx *Tx) error {
		if err := tx.SetCursor("https://delta?token=1"); err != nil {
			return err
		}
		if _, err := tx.NextSeq(); err != nil {
			return err
		}
		return tx.PutItem(Item{ID: "root", Root: true, Folder: true, Name: "root"})
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = mustOpen(t, path, Options{})
	ins, err := db.Instances()
	if err != nil || len(ins) != 2 || ins[0] != a || ins[1] != b {
		t.Errorf("Instances after reopen = %+v, %v; want %+v, %+v", ins, err, a, b)
	}
	if got, ok, err := db.Token("a"); !ok || err != nil || got != tok {
		t.Errorf("Token after reopen = %+v %v %v", got, ok, err)
	}
	if s, err := db.State("b"); err != nil || s.DriveID != "d1" || !s.Baselined {
		t.Errorf("State after reopen = %+v %v", s, err)
	}
	if ids := queueIDs(t, db); !equal(ids, []string{"m1", "m2", "m3"}) {
		t.Errorf("queue after reopen = %v", ids)
	}
	err = db.Update("a", func(tx *Tx) error {
		if c, _ := tx.Cursor(); c != "https://delta?token=1" {
			t.Errorf("Cursor after reopen = %q", c)
		}
		if s, _ := tx.NextSeq(); s != 2 {
			t.Errorf("NextSeq after reopen = %d, want 2", s)
		}
		if it, ok, _ := tx.Item("root"); !ok || !it.Root {
			t.Errorf("Item after reopen = %+v %v", it, ok)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestDB_Open_Locked opens a database held by another process: the error
// must come within 5 s and name that process's pid.
func TestDB_Open_Locked(t *testing.T) {
	path := newPath(t)
	db := mustOpen(t, path, Options{})
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	cmd := helperCmd(t, "hold", path)
	stdin := startHelper(t, cmd)

	start := time.Now()
	_, err := Open(path, Options{})
	took := time.Since(start)
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("Open of a held database: %v, want ErrLocked", err)
	}
	want := fmt.Sprintf("database %s is in use by another onedrive-agent (pid %d)", path, cmd.Process.Pid)
	if err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
	if took > 5*time.Second || took < DefaultTimeout/2 {
		t.Errorf("Open gave up after %v, want about %v and at most 5s", took, DefaultTimeout)
	}
	var le *LockedError
	if !errors.As(err, &le) || le.PID != cmd.Process.Pid {
		t.Errorf("LockedError = %+v", le)
	}

	// A killed holder leaves no stale lock.
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	_ = stdin.Close()
	db = mustOpen(t, path, Options{Timeout: 500 * time.Millisecond})
	_ = db
}

// TestDB_Open_LockedInProcess: a second Open in the same process is refused too.
func TestDB_Open_LockedInProcess(t *testing.T) {
	path := newPath(t)
	mustOpen(t, path, Options{})
	_, err := Open(path, Options{Timeout: 100 * time.Millisecond})
	if want := fmt.Sprintf("(pid %d)", os.Getpid()); !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), want) {
		t.Fatalf("second Open: %v, want ErrLocked with %s", err, want)
	}
}

// corruptFixture writes a populated database to a new path and closes it.
func corruptFixture(t *testing.T) string {
	t.Helper()
	path := newPath(t)
	db, err := Open(path, Options{NoSync: true, NoAutoCompact: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.EnsureInstance("a"); err != nil {
		t.Fatal(err)
	}
	for p := range 5 {
		msgs := make([]Message, 100)
		for i := range msgs {
			msgs[i] = Message{ID: fmt.Sprintf("m%d-%d", p, i), Events: 1, Body: make([]byte, 900)}
		}
		if err := db.Update("a", func(tx *Tx) error { return tx.Enqueue(msgs...) }); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestDB_Open_Corrupt(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t *testing.T, path string)
	}{
		{"truncated to half", func(t *testing.T, path string) {
			fi, _ := os.Stat(path)
			if err := os.Truncate(path, fi.Size()/2); err != nil {
				t.Fatal(err)
			}
		}},
		{"random bytes", func(t *testing.T, path string) {
			b := make([]byte, 256<<10)
			r := rand.New(rand.NewPCG(1, 2))
			for i := range b {
				b[i] = byte(r.Uint32())
			}
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"zeroed meta pages", func(t *testing.T, path string) {
			f, err := os.OpenFile(path, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.WriteAt(make([]byte, 2*pageSize), 0); err != nil {
				t.Fatal(err)
			}
		}},
		{"tiny file", func(t *testing.T, path string) {
			if err := os.WriteFile(path, []byte("hello"), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"damaged root page", func(t *testing.T, path string) {
			// Overwrite every page but the two meta pages with garbage.
			fi, _ := os.Stat(path)
			f, err := os.OpenFile(path, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			junk := make([]byte, fi.Size()-2*pageSize)
			for i := range junk {
				junk[i] = 0xA5
			}
			if _, err := f.WriteAt(junk, 2*pageSize); err != nil {
				t.Fatal(err)
			}
		}},
		{"not an onedrive-agent database", func(t *testing.T, path string) {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
			bdb, err := bolt.Open(path, 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer bdb.Close()
			err = bdb.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("other")); return err })
			if err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := corruptFixture(t)
			tt.damage(t, path)
			before := fileDigest(t, path)
			db, err := Open(path, Options{Timeout: time.Second})
			if err == nil {
				db.Close()
				t.Fatal("Open of a damaged file succeeded")
			}
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Open: %v, want ErrCorrupt", err)
			}
			for _, want := range []string{path, "move it aside", "login"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
			if after := fileDigest(t, path); after != before {
				t.Error("Open changed the damaged file")
			}
			// The lock is released: trying again fails the same way, fast.
			if _, err := Open(path, Options{Timeout: 100 * time.Millisecond}); !errors.Is(err, ErrCorrupt) {
				t.Errorf("second Open: %v, want ErrCorrupt", err)
			}
		})
	}
}

func fileDigest(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

func TestDB_Open_NewerSchema(t *testing.T) {
	path := newPath(t)
	db := mustOpen(t, path, Options{})
	err := db.bdb.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bktMeta).Put(keySchema, u64key(SchemaVersion+1))
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err = Open(path, Options{})
	if !errors.Is(err, ErrNewerSchema) || !strings.Contains(err.Error(), "upgrade") {
		t.Fatalf("Open of a newer schema: %v", err)
	}
}

func TestIsDiskFull(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{nil, false},
		{errors.New("boom"), false},
		{fmt.Errorf("commit: %w", &os.PathError{Op: "write", Path: "x", Err: diskFullErrnos[0]}), true},
		{errors.New("file resize error: write x: no space left on device"), true},
		{fmt.Errorf("wrapped: %w", ErrCorrupt), false},
	}
	for _, tt := range tests {
		if got := IsDiskFull(tt.err); got != tt.want {
			t.Errorf("IsDiskFull(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

// TestDB_Open_RandomDamage flips random bytes of a populated file, many
// times: Open must return a database or ErrCorrupt, never crash (bbolt's
// freelist rebuild would, on its own goroutine, if the pre-open checks
// missed a damaged page), and must leave a file it rejects unchanged.
func TestDB_Open_RandomDamage(t *testing.T) {
	good, err := os.ReadFile(corruptFixture(t))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	rejected := 0
	for i := range 300 {
		b := append([]byte{}, good...)
		for range 1 + rng.IntN(8) {
			b[4096*2+rng.IntN(len(b)-4096*2)] = byte(rng.Uint32())
		}
		path := filepath.Join(t.TempDir(), "agent.db")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		db, err := Open(path, Options{Timeout: time.Second, NoAutoCompact: true})
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("damage %d: %v, want ErrCorrupt", i, err)
			}
			if after, _ := os.ReadFile(path); string(after) != string(b) {
				t.Fatalf("damage %d: Open changed a file it rejected", i)
			}
			rejected++
			continue
		}
		_, _ = db.Peek("a", 1000) // records may not decode: errors, not panics
		_, _ = db.Stats("a")
		_ = db.Close()
	}
	t.Logf("%d of 300 damaged files rejected at open", rejected)
}

// TestDB_FileGrowsWithData: the file is mapped once for a large size, but
// on disk it stays near the size of its data: small when the data is small,
// and at most half again the data's pages as it grows.
func TestDB_FileGrowsWithData(t *testing.T) {
	db := mustInstance(t, Options{})
	body := bytes.Repeat([]byte("x"), 900)
	for round := range 4 {
		err := db.Update("a", func(tx *Tx) error {
			msgs := make([]Message, 2000)
			for i := range msgs {
				msgs[i] = Message{ID: fmt.Sprintf("m-%d-%d", round, i), Events: 1, Body: body}
			}
			return tx.Enqueue(msgs...)
		})
		if err != nil {
			t.Fatal(err)
		}
		var used int64
		if err := db.bdb.View(func(tx *bolt.Tx) error { used = tx.Size(); return nil }); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(db.path)
		if err != nil {
			t.Fatal(err)
		}
		if limit := used + used/2 + 64<<10; fi.Size() > limit {
			t.Errorf("after %d messages: file %d bytes for %d bytes of pages (want at most %d)", (round+1)*2000, fi.Size(), used, limit)
		}
	}
}

//go:build unix

package main

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/onedrive-agent/onedrive-agent/store"
)

// TestE2E_DamagedDatabase: run refuses a database it cannot read, names the
// file and says how to recover, and leaves it byte for byte as it was.
func TestE2E_DamagedDatabase(t *testing.T) {
	t.Parallel()
	damage := []struct {
		name string
		fn   func(t *testing.T, path string)
	}{
		{"truncated", func(t *testing.T, path string) {
			if err := os.Truncate(path, 5000); err != nil {
				t.Fatal(err)
			}
		}},
		{"random bytes", func(t *testing.T, path string) {
			b := make([]byte, 64<<10)
			r := rand.New(rand.NewPCG(1, 2))
			for i := range b {
				b[i] = byte(r.Uint32())
			}
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"meta pages overwritten", func(t *testing.T, path string) {
			fh, err := os.OpenFile(path, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer fh.Close()
			// The second meta page is one page in: the page size the
			// file was created with, recorded in the first meta page.
			hdr := make([]byte, 28)
			if _, err := fh.ReadAt(hdr, 0); err != nil {
				t.Fatal(err)
			}
			page := int(binary.NativeEndian.Uint32(hdr[24:]))
			junk := bytes.Repeat([]byte{0xA5}, 512)
			for _, off := range []int64{0, int64(page)} {
				if _, err := fh.WriteAt(junk, off+16); err != nil {
					t.Fatal(err)
				}
			}
		}},
		{"not a database", func(t *testing.T, path string) {
			if err := os.WriteFile(path, []byte("this is a text file\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, d := range damage {
		t.Run(d.name, func(t *testing.T) {
			f := newFixture(t)
			path := filepath.Join(f.dataDir, dbFile)
			db, err := store.Open(path, store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.EnsureInstance("finance"); err != nil {
				t.Fatal(err)
			}
			db.Close()
			d.fn(t, path)
			before, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			infoBefore, _ := os.Stat(path)

			p := f.start("run", "-c", f.cfg)
			code, ok := p.wait(10 * time.Second)
			if !ok {
				t.Fatalf("run did not exit on a damaged database; stderr:\n%s", p.stderr.String())
			}
			errOut := p.stderr.String()
			if code != 1 || !strings.Contains(errOut, path) || !strings.Contains(errOut, "damaged") || !strings.Contains(errOut, "move it aside") {
				t.Errorf("run: exit %d, stderr:\n%s\nwant exit 1 naming %s as damaged and how to recover", code, errOut, path)
			}
			after, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(before, after) {
				t.Errorf("the damaged file changed: %d bytes before, %d after", len(before), len(after))
			}
			if infoAfter, _ := os.Stat(path); !infoAfter.ModTime().Equal(infoBefore.ModTime()) {
				t.Errorf("the damaged file's mtime changed")
			}
			// The other commands refuse it too, without touching it.
			if code, _, errOut := f.cli("status", "-c", f.cfg); code != 1 || !strings.Contains(errOut, path) {
				t.Errorf("status: exit %d, stderr:\n%s", code, errOut)
			}
			if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
				t.Error("status changed the damaged file")
			}
		})
	}
}

// TestE2E_UnwritableDataDir: a data_dir the agent cannot create or write is
// a clear error (exit 1) naming it.
func TestE2E_UnwritableDataDir(t *testing.T) {
	t.Parallel()
	t.Run("file in place of the directory", func(t *testing.T) {
		f := newFixture(t)
		if err := os.WriteFile(f.dataDir, []byte("not a directory"), 0o600); err != nil {
			t.Fatal(err)
		}
		code, _, errOut := f.cli("run", "-c", f.cfg)
		if code != 1 || !strings.Contains(errOut, f.dataDir) || !strings.Contains(errOut, "fix data_dir in "+f.cfg) {
			t.Errorf("run: exit %d, stderr:\n%s\nwant exit 1 naming %s and where to fix it", code, errOut, f.dataDir)
		}
		t.Logf("message: %s", strings.TrimSpace(errOut))
	})
	t.Run("read-only directory", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("root writes into a read-only directory anyway")
		}
		f := newFixture(t)
		if err := os.Mkdir(f.dataDir, 0o500); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(f.dataDir, 0o700) })
		code, _, errOut := f.cli("run", "-c", f.cfg)
		if code != 1 || !strings.Contains(errOut, f.dataDir) || !strings.Contains(errOut, "permission denied") || !strings.Contains(errOut, "fix data_dir in "+f.cfg) {
			t.Errorf("run: exit %d, stderr:\n%s\nwant exit 1 naming %s", code, errOut, f.dataDir)
		}
		t.Logf("message: %s", strings.TrimSpace(errOut))
	})
}

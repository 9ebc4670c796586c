//go:build unix

package store

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/onedrive-agent/onedrive-agent/internal/safefile"
)

// TestOpen_RefusesUnsafeFiles: a data_dir, database or lock file another
// user could replace, or a link planted in their place, stops Open with an
// error that names the path and what to run; nothing is opened through a
// link.
func TestOpen_RefusesUnsafeFiles(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(t *testing.T, path string)
		want    string
	}{
		{"group-writable data_dir", func(t *testing.T, path string) {
			chmod(t, filepath.Dir(path), 0o770)
		}, "chmod go-w " + "<dir>"},
		{"world-writable database", func(t *testing.T, path string) {
			chmod(t, path, 0o666)
		}, "chmod go-w " + "<path>"},
		{"group-writable lock file", func(t *testing.T, path string) {
			chmod(t, path+".lock", 0o620)
		}, "chmod go-w " + "<path>.lock"},
		{"data_dir owned by another user", func(t *testing.T, path string) {
			if os.Geteuid() != 0 {
				t.Skip("chown needs root")
			}
			if err := os.Chown(filepath.Dir(path), 12345, 12345); err != nil {
				t.Fatal(err)
			}
		}, "<dir> is owned by uid 12345, not by the user this command runs as"},
		{"database owned by another user", func(t *testing.T, path string) {
			if os.Geteuid() != 0 {
				t.Skip("chown needs root")
			}
			if err := os.Chown(path, 12345, 12345); err != nil {
				t.Fatal(err)
			}
		}, "sudo -u '#12345' onedrive-agent"},
		{"database is a link", func(t *testing.T, path string) {
			relink(t, path)
		}, "<path> is a symbolic link"},
		{"lock file is a link", func(t *testing.T, path string) {
			relink(t, path+".lock")
		}, "<path>.lock is a symbolic link"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := newPath(t)
			db, err := Open(path, Options{NoSync: true})
			if err != nil {
				t.Fatal(err)
			}
			db.Close()
			tt.prepare(t, path)
			_, err = Open(path, Options{NoSync: true, Timeout: 100 * time.Millisecond})
			want := strings.NewReplacer("<dir>", filepath.Dir(path), "<path>", path).Replace(tt.want)
			if !errors.Is(err, safefile.ErrUnsafe) || !strings.Contains(err.Error(), want) {
				t.Fatalf("Open: %v\nwant ErrUnsafe containing %q", err, want)
			}
		})
	}
}

// relink moves the file at name aside and puts a link to it in its place.
func relink(t *testing.T, name string) {
	t.Helper()
	aside := name + ".real"
	if err := os.Rename(name, aside); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(aside, name); err != nil {
		t.Fatal(err)
	}
}

func chmod(t *testing.T, name string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(name, mode); err != nil {
		t.Fatal(err)
	}
}

// TestOpen_ReadableDatabaseWarns: a database others may read (not write) is
// opened with a warning, as before.
func TestOpen_ReadableDatabaseWarns(t *testing.T) {
	path := newPath(t)
	db, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	chmod(t, path, 0o644)
	var logs bytes.Buffer
	db, err = Open(path, Options{NoSync: true, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatalf("Open of a 0644 database: %v", err)
	}
	db.Close()
	if !strings.Contains(logs.String(), "chmod 600") {
		t.Errorf("no warning about a readable database:\n%s", logs.String())
	}
}

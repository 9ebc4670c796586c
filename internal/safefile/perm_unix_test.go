//go:build unix

package safefile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestJudgeUnix(t *testing.T) {
	names := func(uid int) string { return map[int]string{0: "root", 998: "onedrive-agent", 1000: "alice"}[uid] }
	tests := []struct {
		name        string
		mode        fs.FileMode
		owner, euid int
		wantFix     string // "" = accepted
	}{
		{"own 0700 dir", fs.ModeDir | 0o700, 998, 998, ""},
		{"own 0600 file", 0o600, 998, 998, ""},
		{"own 0644 file (readable, not writable)", 0o644, 1000, 1000, ""},
		{"group-writable", 0o660, 998, 998, "chmod go-w"},
		{"world-writable dir", fs.ModeDir | 0o777, 998, 998, "chmod go-w"},
		{"root using the service's folder", fs.ModeDir | 0o700, 998, 0, "sudo -u onedrive-agent"},
		{"planted by another user", 0o600, 1000, 998, "chown -R onedrive-agent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := judgeUnix("/var/lib/x", "data_dir", tt.mode, tt.owner, tt.euid, names)
			if tt.wantFix == "" {
				if err != nil {
					t.Errorf("refused: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrUnsafe) || !strings.Contains(err.Error(), tt.wantFix) || !strings.Contains(err.Error(), "/var/lib/x") {
				t.Errorf("err = %v, want ErrUnsafe naming the path and %q", err, tt.wantFix)
			}
		})
	}
}

func TestOpenFile_RefusesLinksAndWritableFiles(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte("s"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "admin.token")
	if err := os.Symlink(secret, link); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenFile(link, "admin token", os.O_RDONLY, 0); !errors.Is(err, ErrUnsafe) || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("OpenFile through a link: %v, want ErrUnsafe naming the link", err)
	}
	if _, err := OpenFile(link, "lock file", os.O_RDWR|os.O_CREATE, 0o600); !errors.Is(err, ErrUnsafe) {
		t.Errorf("OpenFile(O_CREATE) through a link: %v, want ErrUnsafe", err)
	}
	open := filepath.Join(dir, "open")
	if err := os.WriteFile(open, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o666); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenFile(open, "database", os.O_RDWR, 0); !errors.Is(err, ErrUnsafe) || !strings.Contains(err.Error(), "chmod go-w "+open) {
		t.Errorf("OpenFile of a 0666 file: %v, want ErrUnsafe with chmod go-w", err)
	}
	f, err := OpenFile(secret, "database", os.O_RDWR, 0)
	if err != nil {
		t.Fatalf("OpenFile of a 0600 file: %v", err)
	}
	f.Close()
}

func TestMkdirPrivate(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "a", "data")
	if err := MkdirPrivate(dir, "data_dir"); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("created %v, %v; want mode 0700", fi.Mode(), err)
	}
	if err := os.Chmod(dir, 0o770); err != nil {
		t.Fatal(err)
	}
	if err := MkdirPrivate(dir, "data_dir"); !errors.Is(err, ErrUnsafe) || !strings.Contains(err.Error(), "data_dir "+dir) {
		t.Errorf("group-writable data_dir: %v, want ErrUnsafe naming it", err)
	}
}

func TestWriteFile_ExclusiveRandomNames(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "admin.token")
	// A link planted where a fixed temporary name would be is never written through.
	victim := filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, name+".tmp"); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(name, []byte("tok\n")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep" {
		t.Errorf("victim = %q, written through a planted link", b)
	}
	fi, err := os.Lstat(name)
	if err != nil || fi.Mode().Perm() != 0o600 || !fi.Mode().IsRegular() {
		t.Errorf("admin.token: %v %v, want a regular 0600 file", fi.Mode(), err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 3 {
		t.Errorf("left behind: %v", entries)
	}
}

func TestJudgeTrust(t *testing.T) {
	names := func(uid int) string { return map[int]string{0: "root", 1000: "alice", 1001: "mallory"}[uid] }
	tests := []struct {
		mode        fs.FileMode
		owner, euid int
		want        string
	}{
		{0o600, 0, 0, ""},
		{0o644, 0, 1000, ""}, // root's file read by a user
		{0o644, 1000, 0, "is owned by alice, another user"},
		{0o600, 1001, 1000, "is owned by mallory, another user"},
		{0o664, 0, 0, "is writable by group or others (mode -rw-rw-r--)"},
		{0o646, 1000, 1000, "is writable by group or others"},
	}
	for _, tt := range tests {
		got := judgeTrust(tt.mode, tt.owner, tt.euid, names)
		if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
			t.Errorf("judgeTrust(%v, owner %d, euid %d) = %q, want %q", tt.mode, tt.owner, tt.euid, got, tt.want)
		}
	}
}

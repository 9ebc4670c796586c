//go:build unix

package agent

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onedrive-agent/onedrive-agent/internal/safefile"
)

// TestAdminToken_RefusesUnsafeFile: the token is never read through a
// link (which could point at another file) nor from a file others may
// write, and never written through a planted temporary name.
func TestAdminToken_RefusesUnsafeFile(t *testing.T) {
	dir := t.TempDir()
	other := filepath.Join(t.TempDir(), "elsewhere")
	if err := os.WriteFile(other, []byte("planted-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tokPath := filepath.Join(dir, AdminTokenFile)
	if err := os.Symlink(other, tokPath); err != nil {
		t.Fatal(err)
	}
	for name, f := range map[string]func(string) (string, error){"Read": ReadAdminToken, "Ensure": EnsureAdminToken} {
		if tok, err := f(dir); !errors.Is(err, safefile.ErrUnsafe) || tok != "" {
			t.Errorf("%sAdminToken through a link = %q, %v; want ErrUnsafe", name, tok, err)
		}
	}
	if err := os.Remove(tokPath); err != nil {
		t.Fatal(err)
	}
	// The old fixed temporary name, planted as a link: not written through.
	if err := os.Symlink(other, tokPath+".tmp"); err != nil {
		t.Fatal(err)
	}
	tok, err := EnsureAdminToken(dir)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(other); string(b) != "planted-token\n" || strings.Contains(string(b), tok) {
		t.Errorf("written through the planted link: %q", b)
	}
	if err := os.Chmod(tokPath, 0o662); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadAdminToken(dir); !errors.Is(err, safefile.ErrUnsafe) || !strings.Contains(err.Error(), "chmod go-w "+tokPath) {
		t.Errorf("group-writable token: %v, want ErrUnsafe with chmod go-w", err)
	}
}
